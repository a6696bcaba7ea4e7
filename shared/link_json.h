// The JSON form of links, link requests and errors, shared by the daemon's
// API and the CLI. Parsing treats every body as hostile: malformed JSON,
// wrong types, unknown or duplicate fields and deep nesting are refused with
// a message naming the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "shared/link.h"
#include "shared/link_service.h"
#include "shared/redirect.h"
#include "shared/status.h"

namespace shorty {

// Bodies above this are refused before parsing.
constexpr size_t kMaxJsonBodyBytes = 64 * 1024;

// Parses a JSON object body: BadRequest when it is not one (syntax, depth
// over 16, duplicate keys, too large).
Result<nlohmann::json> ParseJsonObject(std::string_view body);

// {"slug": ..., "target": ..., "short_url": ..., "state": "active",
//  "password_protected": false, ...}. Never the password hash.
nlohmann::json LinkToJson(const Link& link, const std::string& short_url,
                          Verdict state);

// "active", "expired", "used up", "disabled".
const char* StateName(Verdict state);

// A create body. Times ("expires_at") may be RFC 3339, a date, or a
// duration from `now` ("7d"). "password" is the plain text, or null.
Result<LinkInput> ParseLinkInput(std::string_view body, UnixTime now);

// A PATCH body: only the fields present change; null clears expires_at,
// max_visits and password (a new password is given in plain text, never
// ""). "expires_at": "now" expires the link at once.
Result<LinkEdit> ParseLinkEdit(std::string_view body, UnixTime now);

// A link as the API returned it (for the CLI). BadRequest when malformed.
// The API never sends a password hash, so password_hash stays "".
Result<Link> LinkFromJson(const nlohmann::json& j);

// A link's stats: {"slug", "since", "until", "by": "day"|"hour",
//  "bots_included", "total", "bots", "series": [{"start", "visits"}...],
//  "referrers"/"browsers"/"oses"/"devices": [{"value", "visits"}...]}.
nlohmann::json StatsToJson(const std::string& slug, const LinkStats& stats);

// {"error": {"code": "not_found", "message": "..."}}
std::string ErrorBody(const Status& status);

// The Status carried by an error body, or one made from the HTTP status
// when the body is not ours.
Status StatusFromErrorBody(int http_status, std::string_view body);

}  // namespace shorty
