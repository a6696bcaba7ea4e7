// What shorty keeps of a visit, and how a link's visits add up into stats.
// A visit is classified from its User-Agent and Referer headers into a few
// coarse, fixed classes (browser, operating system, device, bot) and the
// referring host; the headers themselves, and anything else that could
// identify a person, are never kept. Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"

namespace shorty {

// The classes. Each has a fixed name (BrowserName and the rest) used in the
// store, the API and metrics; kOther is "other".
enum class Browser : uint8_t {
  kOther,
  kChrome,
  kFirefox,
  kSafari,
  kEdge,
  kOpera,
  kSamsung,
};
enum class Os : uint8_t {
  kOther,
  kWindows,
  kMacos,
  kIos,
  kAndroid,
  kLinux,
  kChromeos,
};
enum class Device : uint8_t { kOther, kDesktop, kMobile, kTablet, kBot };

const char* BrowserName(Browser browser);
const char* OsName(Os os);
const char* DeviceName(Device device);

// A visit as kept: never the IP address, never the full user agent.
struct VisitTraits {
  // The referring page's host, lower-cased ("news.ycombinator.com"); "" for
  // none (typed, bookmarked, or the Referer was withheld or malformed).
  std::string referrer;
  Browser browser = Browser::kOther;
  Os os = Os::kOther;
  Device device = Device::kOther;
  // Crawlers, link previewers (Slack, Twitter, Discord… unfurling a link)
  // and HTTP libraries and tools (curl, wget, python-requests…).
  bool bot = false;
};

// Classifies a visit from its User-Agent and Referer header values (either
// may be empty). Any bytes are accepted; the result holds only the fixed
// classes and a host of at most kMaxReferrerHost bytes of [a-z0-9.-].
// Thread-safe.
VisitTraits ClassifyVisit(std::string_view user_agent, std::string_view referer);

constexpr size_t kMaxReferrerHost = 253;

// The start of the hour (or day) that holds `t`, UTC.
constexpr UnixTime kHour = 3600;
constexpr UnixTime kDay = 86400;
inline UnixTime HourOf(UnixTime t) { return t - ((t % kHour) + kHour) % kHour; }
inline UnixTime DayOf(UnixTime t) { return t - ((t % kDay) + kDay) % kDay; }

// Counted visits of one link in one hour with the same traits, as the
// visit writer hands them to the store.
struct VisitGroup {
  UnixTime hour = 0;  // HourOf the visits
  VisitTraits traits;
  int64_t count = 0;
};

// One stored bucket: `visits` visits of a link in the hour (or, once rolled
// up, the day) starting at `start`, counted by one dimension's value.
// dimension is "total" (value ""), "referrer" (value a host or ""),
// "browser", "os" or "device" (value a class name).
struct VisitBucket {
  UnixTime start = 0;
  std::string dimension;
  std::string value;
  bool bot = false;
  int64_t visits = 0;
};

// The buckets a group adds to: one per dimension, all with its count.
std::vector<VisitBucket> BucketsOf(const VisitGroup& group);

// What `shorty stats` and the API show.
struct StatsQuery {
  UnixTime since = 0;  // first second counted
  UnixTime now = 0;    // last second counted
  bool by_hour = false;  // otherwise by day (UTC)
  bool bots = false;     // count bots in the totals, series and tops
};

struct StatsCount {
  std::string value;
  int64_t visits = 0;
};

struct LinkStats {
  UnixTime since = 0;
  UnixTime until = 0;
  bool by_hour = false;
  bool bots_included = false;
  int64_t total = 0;  // visits in the range (bots only if bots_included)
  int64_t bots = 0;   // bot visits in the range, counted apart always
  // One entry per hour or day from since to until, oldest first, zeros
  // included, so a chart needs no gaps filled.
  std::vector<StatsCount> series;  // value: FormatTime of the bucket start
  // The ten most frequent values of each dimension, most first, ties by
  // name; the referrer "" is shown as "(direct)".
  std::vector<StatsCount> referrers, browsers, oses, devices;
};

// A query as the API and `shorty stats` take it: `since` a duration back
// from `now` ("7d", "36h") or a point in time (2026-12-01, RFC 3339), "" for
// 7 days; `by` "day" (or "") or "hour"; `bots` "1"/"true" to count bots in,
// "0"/"false"/"" to keep them apart. InvalidArgument naming the field, then
// whatever CheckStatsQuery refuses.
Result<StatsQuery> ParseStatsQuery(std::string_view since, std::string_view by,
                                   std::string_view bots, UnixTime now);

// Validates a query: InvalidArgument naming the field when `since` is not
// before `now`, or the series would be longer than kMaxStatsPoints.
Status CheckStatsQuery(const StatsQuery& query);
constexpr size_t kMaxStatsPoints = 5000;

// Adds up stored buckets (any order; those outside the range are ignored).
// Buckets rolled up into days count toward the day they start, also in an
// hourly series. Requires CheckStatsQuery(query).ok().
LinkStats SumStats(const std::vector<VisitBucket>& buckets,
                   const StatsQuery& query);

}  // namespace shorty
