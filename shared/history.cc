#include "shared/history.h"

#include <nlohmann/json.hpp>

#include "shared/timeparse.h"

namespace shorty {
namespace {

using nlohmann::json;

// Each recorded field of a link as JSON, in one place so create, edit and
// delete describe links alike.
json Fields(const Link& link) {
  json j = {
      {"target", link.target},
      {"title", link.title},
      {"note", link.note},
      {"tags", link.tags},
      {"status", link.status},
      {"expires_at", nullptr},
      {"max_visits", nullptr},
      {"disabled", link.disabled},
      {"password", link.password_hash.empty() ? "none" : "set"},
  };
  if (link.expires_at) j["expires_at"] = FormatTime(*link.expires_at);
  if (link.max_visits) j["max_visits"] = *link.max_visits;
  return j;
}

}  // namespace

std::string ActionOf(const LinkPatch& patch, UnixTime now) {
  LinkPatch rest = patch;
  rest.expires_at.reset();
  if (patch.expires_at && rest.empty() && *patch.expires_at &&
      **patch.expires_at <= now) {
    return "expire";
  }
  rest = patch;
  rest.disabled.reset();
  if (patch.disabled && rest.empty()) {
    return *patch.disabled ? "disable" : "enable";
  }
  return "edit";
}

std::string LinkChanges(const std::optional<Link>& before,
                        const std::optional<Link>& after) {
  json old_fields = before ? Fields(*before) : json::object();
  json new_fields = after ? Fields(*after) : json::object();
  const json& keys = before ? old_fields : new_fields;
  json changes = json::object();
  for (auto it = keys.begin(); it != keys.end(); ++it) {
    json was = before ? old_fields[it.key()] : json(nullptr);
    json now = after ? new_fields[it.key()] : json(nullptr);
    // A create or delete names every field, set or not.
    if (was != now || !before || !after) {
      changes[it.key()] = json::array({was, now});
    }
  }
  // Both "set", yet a new hash: a new password (or the same one again,
  // which a fresh salt cannot tell apart).
  if (before && after && !before->password_hash.empty() &&
      !after->password_hash.empty() &&
      before->password_hash != after->password_hash) {
    changes["password"] = json::array({"set", "changed"});
  }
  return changes.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace shorty
