// Durations and points in time as users write them (--expires 7d,
// --expires 2026-12-31, RFC 3339), and time as shorty prints it. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/link.h"
#include "shared/status.h"

namespace shorty {

// "45s", "90m", "36h", "7d", "2w" and sums such as "1h30m": whole seconds,
// > 0. InvalidArgument naming the accepted units otherwise, or on overflow.
Result<int64_t> ParseDuration(std::string_view text);

// A point in time: a duration from `now`, a date (midnight UTC), or RFC 3339
// ("2026-12-31T00:00:00Z", "2026-12-31T01:00:00+01:00", fractional seconds
// dropped). InvalidArgument with the accepted forms otherwise.
Result<UnixTime> ParseTimePoint(std::string_view text, UnixTime now);

// RFC 3339 in UTC: "2026-12-31T00:00:00Z".
std::string FormatTime(UnixTime t);

}  // namespace shorty
