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
  // A visit must give the password first: its hash (shared/password.h),
  // "" for none. Never shown to anyone, not even the link's owner.
  std::string password_hash;
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
  std::optional<std::string> password_hash;  // "" removes the password

  bool empty() const {
    return !target && !title && !note && !tags && !status && !expires_at &&
           !max_visits && !disabled && !password_hash;
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

// What an API token may do: read links; also create, edit and delete them;
// also manage tokens and read deleted links' history.
enum class Scope { kRead = 1, kWrite = 2, kAdmin = 3 };

// An API token as stored: never the secret, only its SHA-256 digest.
struct Token {
  std::string name;           // unique; names the actor in history
  std::string id;             // public lookup part of the token text, unique
  std::string secret_digest;  // 32 bytes, binary
  Scope scope = Scope::kRead;
  UnixTime created_at = 0;
  std::string created_by;
  std::optional<UnixTime> last_used_at;
  std::optional<UnixTime> expires_at;
  std::optional<UnixTime> revoked_at;
};

// One change to a link, as history keeps it.
struct HistoryEntry {
  int64_t seq = 0;  // the order of changes, increasing across all links
  std::string slug;
  UnixTime at = 0;
  std::string actor;  // token name or local user
  std::string
      action;  // "create", "edit", "expire", "disable", "enable", "delete"
  // A JSON object {"field": [before, after], ...} of the fields that changed
  // (for "create" every field, before null; for "delete" every field, after
  // null). Built by LinkChanges (shared/history.h).
  std::string changes;
};

}  // namespace shorty
