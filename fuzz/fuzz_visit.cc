// Fuzzes what a visit leaves behind: ClassifyVisit on the input split at its
// first newline into a User-Agent and a Referer, and ParseStatsQuery on it
// split at its first two newlines into since, by and bots. A classified
// visit holds only fixed classes and a clean host; an accepted stats query
// sums any buckets into a series of the promised length. Any broken
// invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/visit.h"

namespace {

using shorty::ClassifyVisit;
using shorty::VisitTraits;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr shorty::UnixTime kNow = 1796385600;  // 2026-12-04T12:00:00Z

bool CleanHost(const std::string& host) {
  if (host.size() > shorty::kMaxReferrerHost) return false;
  for (char c : host) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

// The text before the first '\n' and what follows it.
std::string_view Take(std::string_view* rest) {
  size_t nl = rest->find('\n');
  std::string_view head = rest->substr(0, nl);
  *rest = nl == std::string_view::npos ? std::string_view() : rest->substr(nl + 1);
  return head;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string_view rest = text;
  const std::string_view user_agent = Take(&rest);
  const VisitTraits traits = ClassifyVisit(user_agent, rest);
  Check(CleanHost(traits.referrer));
  Check(static_cast<int>(traits.browser) <= 6 && static_cast<int>(traits.os) <= 6 &&
        static_cast<int>(traits.device) <= 4);
  Check(!traits.bot || traits.device == shorty::Device::kBot);
  for (const shorty::VisitBucket& b : shorty::BucketsOf({kNow, traits, 1})) {
    Check(b.visits == 1 && b.start == kNow);
  }

  rest = text;
  const std::string_view since = Take(&rest);
  const std::string_view by = Take(&rest);
  const std::string_view bots = rest;
  shorty::Result<shorty::StatsQuery> query =
      shorty::ParseStatsQuery(since, by, bots, kNow);
  if (!query.ok()) {
    Check(query.status().code() == shorty::Code::kInvalidArgument);
    const std::string& m = query.status().message();
    Check(m.rfind("since: ", 0) == 0 || m.rfind("by: ", 0) == 0 ||
          m.rfind("bots: ", 0) == 0);
    return 0;
  }
  Check(query->since <= kNow && query->now == kNow);
  std::vector<shorty::VisitBucket> buckets =
      shorty::BucketsOf({shorty::HourOf(kNow), traits, 3});
  shorty::LinkStats stats = shorty::SumStats(buckets, *query);
  Check(!stats.series.empty() && stats.series.size() <= shorty::kMaxStatsPoints);
  Check(stats.total == (traits.bot && !query->bots ? 0 : 3));
  Check(stats.bots == (traits.bot ? 3 : 0));
  return 0;
}
