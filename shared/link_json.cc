#include "shared/link_json.h"

#include <set>
#include <utility>
#include <vector>

#include "shared/text.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 16;

Status WrongType(const std::string& field, const char* expected) {
  return Status::BadRequest(field + ": expected " + expected);
}

Status CheckKnownFields(const json& j, const std::set<std::string>& known) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (known.count(it.key()) == 0) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return Status::BadRequest("unknown field '" + it.key() +
                                "'; known fields: " + list);
    }
  }
  return Status::Ok();
}

Status GetString(const json& j, const char* field, std::string* out) {
  const json& v = j.at(field);
  if (!v.is_string()) return WrongType(field, "a string");
  *out = v.get<std::string>();
  return Status::Ok();
}

Status GetInt(const json& j, const char* field, int64_t* out) {
  const json& v = j.at(field);
  if (v.is_number_integer() &&
      !(v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
    *out = v.get<int64_t>();
    return Status::Ok();
  }
  return WrongType(field, "a whole number");
}

Status GetTags(const json& j, std::vector<std::string>* out) {
  const json& v = j.at("tags");
  if (!v.is_array()) return WrongType("tags", "an array of strings");
  out->clear();
  for (const json& t : v) {
    if (!t.is_string()) return WrongType("tags", "an array of strings");
    out->push_back(t.get<std::string>());
  }
  return Status::Ok();
}

Status GetTime(const json& j, const char* field, UnixTime now, UnixTime* out) {
  std::string text;
  Status s = GetString(j, field, &text);
  if (!s.ok()) {
    return WrongType(field,
                     "a time such as \"7d\", \"2026-12-31\" or "
                     "\"2026-12-31T00:00:00Z\", or null");
  }
  if (text == "now") {
    *out = now;
    return Status::Ok();
  }
  Result<UnixTime> t = ParseTimePoint(text, now);
  if (!t.ok()) {
    return Status::InvalidArgument(std::string(field) + ": " +
                                   t.status().message());
  }
  *out = *t;
  return Status::Ok();
}

}  // namespace

Result<json> ParseJsonObject(std::string_view body) {
  if (body.size() > kMaxJsonBodyBytes) {
    return Status::TooLarge("body: larger than 64 KiB");
  }
  if (!JsonDepthWithin(body, kMaxJsonDepth)) {
    return Status::BadRequest("body: JSON nested deeper than 16 levels");
  }
  // Duplicate keys are refused: which of two values wins differs between
  // parsers, and a proxy and shorty must not read one body two ways.
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  std::string duplicate_key;
  json::parser_callback_t cb = [&](int /*depth*/, json::parse_event_t event,
                                   json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
          duplicate_key = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json j = json::parse(body.begin(), body.end(), cb,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::BadRequest(
        "body: not valid JSON (check quotes, commas and that text is UTF-8)");
  }
  if (duplicate) {
    return Status::BadRequest("body: field '" + duplicate_key +
                              "' appears twice");
  }
  if (!j.is_object()) return Status::BadRequest("body: expected a JSON object");
  return j;
}

const char* StateName(Verdict state) {
  return state == Verdict::kRedirect ? "active" : VerdictReason(state);
}

json LinkToJson(const Link& link, const std::string& short_url, Verdict state) {
  json j = {
      {"slug", link.slug},
      {"target", link.target},
      {"short_url", short_url},
      {"status", link.status},
      {"title", link.title},
      {"note", link.note},
      {"tags", link.tags},
      {"created_at", FormatTime(link.created_at)},
      {"updated_at", FormatTime(link.updated_at)},
      {"created_by", link.created_by},
      {"expires_at", nullptr},
      {"max_visits", nullptr},
      {"visits", link.visits},
      {"disabled", link.disabled},
      {"password_protected", !link.password_hash.empty()},
      {"state", StateName(state)},
  };
  if (link.expires_at) j["expires_at"] = FormatTime(*link.expires_at);
  if (link.max_visits) j["max_visits"] = *link.max_visits;
  return j;
}

Result<LinkInput> ParseLinkInput(std::string_view body, UnixTime now) {
  Result<json> parsed = ParseJsonObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  Status s =
      CheckKnownFields(j, {"target", "slug", "title", "note", "tags", "status",
                           "expires_at", "max_visits", "password"});
  if (!s.ok()) return s;

  LinkInput in;
  if (!j.contains("target")) {
    return Status::InvalidArgument("target: required; give the URL to shorten");
  }
  if (!(s = GetString(j, "target", &in.target)).ok()) return s;
  if (j.contains("slug") && !j.at("slug").is_null()) {
    std::string slug;
    if (!(s = GetString(j, "slug", &slug)).ok()) return s;
    in.slug = std::move(slug);
  }
  if (j.contains("title") && !(s = GetString(j, "title", &in.title)).ok()) {
    return s;
  }
  if (j.contains("note") && !(s = GetString(j, "note", &in.note)).ok()) {
    return s;
  }
  if (j.contains("tags") && !(s = GetTags(j, &in.tags)).ok()) return s;
  if (j.contains("status") && !j.at("status").is_null()) {
    int64_t status;
    if (!(s = GetInt(j, "status", &status)).ok()) return s;
    if (status < 0 || status > 999) {
      return Status::InvalidArgument("status: use 301, 302, 307 or 308");
    }
    in.status = static_cast<int>(status);
  }
  if (j.contains("expires_at") && !j.at("expires_at").is_null()) {
    UnixTime t;
    if (!(s = GetTime(j, "expires_at", now, &t)).ok()) return s;
    in.expires_at = t;
  }
  if (j.contains("max_visits") && !j.at("max_visits").is_null()) {
    int64_t n;
    if (!(s = GetInt(j, "max_visits", &n)).ok()) return s;
    in.max_visits = n;
  }
  if (j.contains("password") && !j.at("password").is_null()) {
    std::string password;
    if (!(s = GetString(j, "password", &password)).ok()) return s;
    in.password = std::move(password);
  }
  return in;
}

Result<LinkEdit> ParseLinkEdit(std::string_view body, UnixTime now) {
  Result<json> parsed = ParseJsonObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  Status s =
      CheckKnownFields(j, {"target", "title", "note", "tags", "status",
                           "expires_at", "max_visits", "disabled", "password"});
  if (!s.ok()) return s;

  LinkEdit edit;
  LinkPatch& p = edit.patch;
  std::string text;
  if (j.contains("target")) {
    if (!(s = GetString(j, "target", &text)).ok()) return s;
    p.target = text;
  }
  if (j.contains("title")) {
    if (!(s = GetString(j, "title", &text)).ok()) return s;
    p.title = text;
  }
  if (j.contains("note")) {
    if (!(s = GetString(j, "note", &text)).ok()) return s;
    p.note = text;
  }
  if (j.contains("tags")) {
    std::vector<std::string> tags;
    if (!(s = GetTags(j, &tags)).ok()) return s;
    p.tags = std::move(tags);
  }
  if (j.contains("status")) {
    int64_t status;
    if (!(s = GetInt(j, "status", &status)).ok()) return s;
    if (status < 0 || status > 999) {
      return Status::InvalidArgument("status: use 301, 302, 307 or 308");
    }
    p.status = static_cast<int>(status);
  }
  if (j.contains("expires_at")) {
    if (j.at("expires_at").is_null()) {
      p.expires_at = std::optional<UnixTime>();
    } else {
      UnixTime t;
      if (!(s = GetTime(j, "expires_at", now, &t)).ok()) return s;
      p.expires_at = std::optional<UnixTime>(t);
    }
  }
  if (j.contains("max_visits")) {
    if (j.at("max_visits").is_null()) {
      p.max_visits = std::optional<int64_t>();
    } else {
      int64_t n;
      if (!(s = GetInt(j, "max_visits", &n)).ok()) return s;
      p.max_visits = std::optional<int64_t>(n);
    }
  }
  if (j.contains("disabled")) {
    if (!j.at("disabled").is_boolean())
      return WrongType("disabled", "true or false");
    p.disabled = j.at("disabled").get<bool>();
  }
  if (j.contains("password")) {
    if (j.at("password").is_null()) {
      edit.password = "";  // removes the password
    } else {
      if (!j.at("password").is_string()) {
        return WrongType("password", "a string, or null to remove it");
      }
      std::string password = j.at("password").get<std::string>();
      if (password.empty()) {
        return Status::InvalidArgument(
            "password: must not be empty; send null to remove the password");
      }
      edit.password = std::move(password);
    }
  }
  return edit;
}

Result<Link> LinkFromJson(const json& j) {
  if (!j.is_object()) return Status::BadRequest("link: expected an object");
  Link link;
  try {
    link.slug = j.at("slug").get<std::string>();
    link.target = j.at("target").get<std::string>();
    link.title = j.value("title", "");
    link.note = j.value("note", "");
    if (j.contains("tags"))
      link.tags = j.at("tags").get<std::vector<std::string>>();
    link.status = j.value("status", 302);
    link.created_by = j.value("created_by", "");
    link.visits = j.value("visits", int64_t{0});
    link.disabled = j.value("disabled", false);
    auto time_of = [&](const char* field) -> std::optional<UnixTime> {
      if (!j.contains(field) || j.at(field).is_null()) return std::nullopt;
      Result<UnixTime> t = ParseTimePoint(j.at(field).get<std::string>(), 0);
      if (!t.ok()) return std::nullopt;
      return *t;
    };
    link.created_at = time_of("created_at").value_or(0);
    link.updated_at = time_of("updated_at").value_or(0);
    link.expires_at = time_of("expires_at");
    if (j.contains("max_visits") && !j.at("max_visits").is_null()) {
      link.max_visits = j.at("max_visits").get<int64_t>();
    }
  } catch (const json::exception& e) {
    return Status::BadRequest(std::string("link: malformed: ") + e.what());
  }
  return link;
}

std::string ErrorBody(const Status& status) {
  json j = {
      {"error",
       {{"code", CodeName(status.code())}, {"message", status.message()}}}};
  // A message may quote bytes that are not UTF-8 (a file path); replace them
  // rather than fail to answer.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status StatusFromErrorBody(int http_status, std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    // A body that is not quite ours (wrong types) falls back on the HTTP
    // status below rather than throwing.
    auto text = [&e](const char* key) {
      return e.contains(key) && e[key].is_string() ? e[key].get<std::string>()
                                                   : std::string();
    };
    std::string code = text("code");
    std::string message = text("message");
    if (message.empty())
      message = "the server refused the request (" + code + ")";
    static const Code kCodes[] = {
        Code::kInvalidArgument, Code::kBadRequest, Code::kNotFound,
        Code::kAlreadyExists,   Code::kGone,       Code::kUnauthorized,
        Code::kForbidden,       Code::kTooLarge,   Code::kUnavailable,
        Code::kIOError,         Code::kCorruption, Code::kInternal};
    for (Code c : kCodes) {
      if (code == CodeName(c)) return Status(c, message);
    }
  }
  switch (http_status) {
    case 400:
      return Status::BadRequest("the server refused the request");
    case 401:
      return Status::Unauthorized("not authorised");
    case 403:
      return Status::Forbidden("forbidden");
    case 404:
      return Status::NotFound("not found");
    case 409:
      return Status::AlreadyExists("conflict");
    case 410:
      return Status::Gone("gone");
    case 413:
      return Status::TooLarge("request too large");
    case 422:
      return Status::InvalidArgument("invalid request");
    case 503:
      return Status::Unavailable("the server is unavailable");
    default:
      return Status::Internal("unexpected HTTP status " +
                              std::to_string(http_status));
  }
}

nlohmann::json StatsToJson(const std::string& slug, const LinkStats& stats) {
  auto counts = [](const std::vector<StatsCount>& list, const char* key) {
    nlohmann::json out = nlohmann::json::array();
    for (const StatsCount& c : list) {
      out.push_back({{key, c.value}, {"visits", c.visits}});
    }
    return out;
  };
  return {{"slug", slug},
          {"since", FormatTime(stats.since)},
          {"until", FormatTime(stats.until)},
          {"by", stats.by_hour ? "hour" : "day"},
          {"bots_included", stats.bots_included},
          {"total", stats.total},
          {"bots", stats.bots},
          {"series", counts(stats.series, "start")},
          {"referrers", counts(stats.referrers, "value")},
          {"browsers", counts(stats.browsers, "value")},
          {"oses", counts(stats.oses, "value")},
          {"devices", counts(stats.devices, "value")}};
}

}  // namespace shorty
