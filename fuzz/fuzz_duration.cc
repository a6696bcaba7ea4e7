// Fuzzes durations and points in time: ParseDuration and ParseTimePoint on
// the input as text, and FormatTime round trips, on times the input parsed
// to and on a time made of its first eight bytes. Any broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "shared/timeparse.h"

namespace {

using shorty::FormatTime;
using shorty::ParseDuration;
using shorty::ParseTimePoint;
using shorty::Result;
using shorty::UnixTime;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr int64_t kMaxDuration = int64_t{100} * 366 * 86400;  // 100 years
constexpr UnixTime kNow = 1767225600;  // 2026-01-01T00:00:00Z
// FormatTime writes four-digit years, so round trips hold for 0000..9999.
constexpr UnixTime kYear0 = -62167219200;      // 0000-01-01T00:00:00Z
constexpr UnixTime kYear10000 = 253402300800;  // 10000-01-01T00:00:00Z

void CheckRoundTrip(UnixTime t) {
  const std::string text = FormatTime(t);
  Check(text.size() == 20 && text[10] == 'T' && text.back() == 'Z');
  Result<UnixTime> again = ParseTimePoint(text, kNow);
  Check(again.ok() && *again == t);
  Check(FormatTime(*again) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  Result<int64_t> duration = ParseDuration(text);
  if (duration.ok()) {
    Check(*duration > 0 && *duration <= kMaxDuration);
    // A duration is also a point in time, that far from now.
    Result<UnixTime> at = ParseTimePoint(text, kNow);
    Check(at.ok() && *at == kNow + *duration);
    // Near the end of time it must refuse, not overflow.
    const UnixTime late = std::numeric_limits<UnixTime>::max() - 60;
    Result<UnixTime> too_late = ParseTimePoint(text, late);
    Check(too_late.ok() == (*duration <= 60));
  } else {
    Check(duration.status().code() == shorty::Code::kInvalidArgument);
  }

  for (UnixTime now : {kNow, std::numeric_limits<UnixTime>::min(),
                       std::numeric_limits<UnixTime>::max()}) {
    Result<UnixTime> at = ParseTimePoint(text, now);
    if (at.ok()) {
      FormatTime(*at);
      if (*at >= kYear0 && *at < kYear10000) CheckRoundTrip(*at);
    }
  }

  // Any time at all formats without trouble; those with four-digit years
  // read back as themselves.
  if (size >= sizeof(int64_t)) {
    int64_t t;
    std::memcpy(&t, data, sizeof(t));
    FormatTime(t);
    const UnixTime in_range =
        kYear0 +
        static_cast<UnixTime>(static_cast<uint64_t>(t) %
                              static_cast<uint64_t>(kYear10000 - kYear0));
    CheckRoundTrip(in_range);
  }
  return 0;
}
