// The link: what a short URL points at and the rules that govern its
// redirects. Plain values shared by the core, the store, the daemon and the
// CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shorty {

// Times are whole seconds since the Unix epoch, UTC.
using UnixTime = int64_t;

struct Link {
  std::string slug;    // as the creator spelled it
  std::string target;  // a validated, normalised absolute URL
  std::string title;
  std::string note;
  std::vector<std::string> tags;  // sorted, unique
  int status = 302;               // 301, 302, 307 or 308
  UnixTime created_at = 0;
  UnixTime updated_at = 0;
  std::string created_by;  // token name or local user
  std::optional<UnixTime> expires_at;
  std::optional<int64_t> max_visits;
  int64_t visits = 0;  // as stored; the daemon adds counts not yet flushed
  bool disabled = false;
};

// A change to a link: each field that is set replaces the stored one.
// For the optional fields, an engaged outer optional holding an empty inner
// one clears the value (no expiry, no visit limit).
struct LinkPatch {
  std::optional<std::string> target;
  std::optional<std::string> title;
  std::optional<std::string> note;
  std::optional<std::vector<std::string>> tags;
  std::optional<int> status;
  std::optional<std::optional<UnixTime>> expires_at;
  std::optional<std::optional<int64_t>> max_visits;
  std::optional<bool> disabled;

  bool empty() const {
    return !target && !title && !note && !tags && !status && !expires_at &&
           !max_visits && !disabled;
  }
};

struct ListQuery {
  std::string search;  // substring of slug, target, title or note; "" = all
  std::string tag;     // "" = any
  bool include_inactive = false;  // expired, used up and disabled links too
  UnixTime now = 0;               // what "expired" is measured against
  int limit = 50;                 // 1..1000
  std::string cursor;             // from a previous page's next_cursor
};

struct LinkPage {
  std::vector<Link> links;  // newest first
  std::string next_cursor;  // "" when this is the last page
};

}  // namespace shorty
