#include "shared/visit.h"

#include <algorithm>
#include <map>

#include "shared/timeparse.h"

namespace shorty {
namespace {

// Headers past this are not looked into: every class shows early in a real
// user agent, and a hostile one costs no more than this.
constexpr size_t kMaxUserAgentScan = 512;

char LowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether the lower-cased user agent `ua` holds `needle` (lower case).
bool Has(std::string_view ua, std::string_view needle) {
  return ua.find(needle) != std::string_view::npos;
}

bool HasAny(std::string_view haystack,
            std::initializer_list<std::string_view> needles) {
  for (std::string_view needle : needles) {
    if (Has(haystack, needle)) return true;
  }
  return false;
}

bool IsBot(std::string_view ua) {
  if (ua.empty()) return true;  // browsers always send one; scripts may not
  return HasAny(
      ua, {"bot", "crawl", "spider", "slurp", "facebookexternalhit",
           "facebookcatalog", "embedly", "link preview", "skypeuripreview",
           "whatsapp", "slack", "discord", "telegram", "linkedin",
           "pinterest", "vkshare", "redditbot", "mastodon", "curl/", "wget/",
           "python-", "python/", "go-http-client", "java/", "okhttp",
           "libwww", "httpie", "axios", "node-fetch", "undici", "headless",
           "lighthouse", "pingdom", "uptime", "monitor", "scrapy",
           "apache-httpclient", "httplib", "postman", "http_request", "feedfetcher",
           "preview"});
}

Browser BrowserOf(std::string_view ua) {
  // Order matters: Edge, Opera and Samsung say "Chrome" too, and Chrome
  // says "Safari".
  if (HasAny(ua, {"edg/", "edge/", "edga/", "edgios/"})) return Browser::kEdge;
  if (HasAny(ua, {"opr/", "opera"})) return Browser::kOpera;
  if (Has(ua, "samsungbrowser")) return Browser::kSamsung;
  if (HasAny(ua, {"firefox/", "fxios/"})) return Browser::kFirefox;
  if (HasAny(ua, {"chrome/", "crios/", "chromium/"})) return Browser::kChrome;
  if (Has(ua, "safari/") && Has(ua, "version/")) return Browser::kSafari;
  return Browser::kOther;
}

Os OsOf(std::string_view ua) {
  if (Has(ua, "windows")) return Os::kWindows;
  if (HasAny(ua, {"iphone", "ipad", "ipod"})) return Os::kIos;
  if (Has(ua, "cros ")) return Os::kChromeos;
  if (Has(ua, "android")) return Os::kAndroid;
  if (HasAny(ua, {"mac os x", "macintosh"})) return Os::kMacos;
  if (Has(ua, "linux")) return Os::kLinux;
  return Os::kOther;
}

Device DeviceOf(std::string_view ua, Os os) {
  if (HasAny(ua, {"ipad", "tablet"})) return Device::kTablet;
  // Android phones say "Mobile"; Android tablets do not.
  if (os == Os::kAndroid) {
    return Has(ua, "mobile") ? Device::kMobile : Device::kTablet;
  }
  if (HasAny(ua, {"mobi", "iphone", "ipod"})) return Device::kMobile;
  if (os == Os::kWindows || os == Os::kMacos || os == Os::kLinux ||
      os == Os::kChromeos) {
    return Device::kDesktop;
  }
  return Device::kOther;
}

// The host of an http, https or android-app Referer, lower-cased; "" when
// there is none or it is not a plain DNS name or IPv4 address.
std::string ReferrerHost(std::string_view referer) {
  size_t colon = referer.find("://");
  if (colon == std::string_view::npos) return "";
  std::string scheme;
  for (char c : referer.substr(0, colon)) scheme += LowerAscii(c);
  if (scheme != "http" && scheme != "https" && scheme != "android-app") {
    return "";
  }
  std::string_view rest = referer.substr(colon + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) rest = rest.substr(at + 1);
  rest = rest.substr(0, rest.find(':'));
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty() || rest.size() > kMaxReferrerHost) return "";
  std::string host;
  host.reserve(rest.size());
  for (char c : rest) {
    c = LowerAscii(c);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-')) {
      return "";
    }
    host += c;
  }
  return host;
}

}  // namespace

const char* BrowserName(Browser browser) {
  switch (browser) {
    case Browser::kChrome: return "chrome";
    case Browser::kFirefox: return "firefox";
    case Browser::kSafari: return "safari";
    case Browser::kEdge: return "edge";
    case Browser::kOpera: return "opera";
    case Browser::kSamsung: return "samsung";
    case Browser::kOther: break;
  }
  return "other";
}

const char* OsName(Os os) {
  switch (os) {
    case Os::kWindows: return "windows";
    case Os::kMacos: return "macos";
    case Os::kIos: return "ios";
    case Os::kAndroid: return "android";
    case Os::kLinux: return "linux";
    case Os::kChromeos: return "chromeos";
    case Os::kOther: break;
  }
  return "other";
}

const char* DeviceName(Device device) {
  switch (device) {
    case Device::kDesktop: return "desktop";
    case Device::kMobile: return "mobile";
    case Device::kTablet: return "tablet";
    case Device::kBot: return "bot";
    case Device::kOther: break;
  }
  return "other";
}

VisitTraits ClassifyVisit(std::string_view user_agent,
                          std::string_view referer) {
  VisitTraits traits;
  // Lower-cased once, on the stack, so each class is a plain search.
  char lowered[kMaxUserAgentScan];
  const size_t n = std::min(user_agent.size(), kMaxUserAgentScan);
  for (size_t i = 0; i < n; ++i) lowered[i] = LowerAscii(user_agent[i]);
  const std::string_view ua(lowered, n);
  traits.referrer = ReferrerHost(referer.substr(0, 2048));
  traits.bot = IsBot(ua);
  traits.browser = traits.bot ? Browser::kOther : BrowserOf(ua);
  traits.os = OsOf(ua);
  traits.device = traits.bot ? Device::kBot : DeviceOf(ua, traits.os);
  return traits;
}

std::vector<VisitBucket> BucketsOf(const VisitGroup& group) {
  const VisitTraits& t = group.traits;
  auto bucket = [&](const char* dimension, std::string value) {
    return VisitBucket{group.hour, dimension, std::move(value), t.bot,
                       group.count};
  };
  return {bucket("total", ""), bucket("referrer", t.referrer),
          bucket("browser", BrowserName(t.browser)),
          bucket("os", OsName(t.os)), bucket("device", DeviceName(t.device))};
}

Result<StatsQuery> ParseStatsQuery(std::string_view since, std::string_view by,
                                   std::string_view bots, UnixTime now) {
  StatsQuery query;
  query.now = now;
  if (since.empty()) {
    query.since = now - 7 * kDay;
  } else if (Result<int64_t> back = ParseDuration(since); back.ok()) {
    query.since = now - *back;
  } else {
    Result<UnixTime> at = ParseTimePoint(since, now);
    if (!at.ok() && back.status().message().find("too long") !=
                        std::string::npos) {
      return Status::InvalidArgument("since: " + back.status().message());
    }
    if (!at.ok()) {
      return Status::InvalidArgument(
          "since: use a duration back from now (7d, 36h) or a date "
          "(2026-12-01 or RFC 3339)");
    }
    query.since = *at;
  }
  if (by == "hour") {
    query.by_hour = true;
  } else if (!by.empty() && by != "day") {
    return Status::InvalidArgument("by: use day or hour");
  }
  if (bots == "1" || bots == "true") {
    query.bots = true;
  } else if (!bots.empty() && bots != "0" && bots != "false") {
    return Status::InvalidArgument("bots: use 1 or 0");
  }
  Status checked = CheckStatsQuery(query);
  if (!checked.ok()) return checked;
  return query;
}

Status CheckStatsQuery(const StatsQuery& query) {
  if (query.since > query.now) {
    return Status::InvalidArgument("since: must be in the past");
  }
  const UnixTime step = query.by_hour ? kHour : kDay;
  const UnixTime first = query.by_hour ? HourOf(query.since) : DayOf(query.since);
  const UnixTime last = query.by_hour ? HourOf(query.now) : DayOf(query.now);
  if ((last - first) / step + 1 > static_cast<UnixTime>(kMaxStatsPoints)) {
    return Status::InvalidArgument(
        "since: at most " + std::to_string(kMaxStatsPoints) + " " +
        (query.by_hour ? "hours" : "days") +
        " at once; choose a later start" +
        (query.by_hour ? " or --by day" : ""));
  }
  return Status::Ok();
}

LinkStats SumStats(const std::vector<VisitBucket>& buckets,
                   const StatsQuery& query) {
  const UnixTime step = query.by_hour ? kHour : kDay;
  auto align = [&](UnixTime t) { return query.by_hour ? HourOf(t) : DayOf(t); };
  LinkStats stats;
  stats.by_hour = query.by_hour;
  stats.bots_included = query.bots;
  stats.since = align(query.since);
  stats.until = query.now;
  const UnixTime last = align(query.now);
  std::vector<int64_t> series(static_cast<size_t>((last - stats.since) / step + 1));
  std::map<std::string, std::map<std::string, int64_t>> tops;
  for (const VisitBucket& b : buckets) {
    const UnixTime at = align(b.start);
    if (at < stats.since || at > last || b.visits <= 0) continue;
    const bool counted = !b.bot || query.bots;
    if (b.dimension == "total") {
      if (b.bot) stats.bots += b.visits;
      if (!counted) continue;
      stats.total += b.visits;
      series[static_cast<size_t>((at - stats.since) / step)] += b.visits;
    } else if (counted) {
      tops[b.dimension][b.value] += b.visits;
    }
  }
  for (size_t i = 0; i < series.size(); ++i) {
    stats.series.push_back(
        {FormatTime(stats.since + static_cast<UnixTime>(i) * step), series[i]});
  }
  auto top = [&](const char* dimension) {
    std::vector<StatsCount> out;
    for (const auto& [value, visits] : tops[dimension]) {
      out.push_back({value, visits});
    }
    std::sort(out.begin(), out.end(), [](const StatsCount& a, const StatsCount& b) {
      return a.visits != b.visits ? a.visits > b.visits : a.value < b.value;
    });
    if (out.size() > 10) out.resize(10);
    return out;
  };
  stats.referrers = top("referrer");
  for (StatsCount& r : stats.referrers) {
    if (r.value.empty()) r.value = "(direct)";
  }
  stats.browsers = top("browser");
  stats.oses = top("os");
  stats.devices = top("device");
  return stats;
}

}  // namespace shorty
