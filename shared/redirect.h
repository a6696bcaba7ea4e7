// The redirect decision for a link at a moment, and building the Location
// header from a validated target plus the request's extra path and query.
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/link.h"
#include "shared/status.h"
#include "shared/target.h"

namespace shorty {

enum class Verdict { kRedirect, kExpired, kUsedUp, kDisabled };

// What a visit to `link` at `now` gets, given `visits` already counted
// (stored plus not yet flushed). Disabled wins over expired over used up.
Verdict Decide(const Link& link, UnixTime now, int64_t visits);

// Words for a verdict that is not kRedirect, for the 410 page and errors:
// "expired", "used up", "disabled" ("redirect" for kRedirect, for logs).
const char* VerdictReason(Verdict v);

// The Location for a redirect: `target` with `extra_path` (what followed
// "/{slug}/" in the request, still percent-encoded) substituted for every
// "{path}" placeholder (in path, query or fragment; "" if empty) or else
// appended to the target's path with exactly one "/", and the request's
// `query` (without "?") merged after the target's own query with "&",
// before any fragment. Braces and '#' from the visitor are percent-encoded.
// The result is validated again with `rules`, so a bad stored row or a
// hostile extra path is never sent: InvalidArgument ("path: ...") for "."
// or ".." segments (also as %2E, or split by %2F), whitespace or control
// characters raw or encoded (%20 is allowed), '\' raw or as %5C, a raw '?'
// or '#', or a malformed escape in the extra path; ("target: ...") for a
// result that breaks the target rules. Thread-safe.
Result<std::string> BuildLocation(std::string_view target,
                                  std::string_view extra_path,
                                  std::string_view query,
                                  const TargetRules& rules);

}  // namespace shorty
