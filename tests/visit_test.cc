#include "shared/visit.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "shared/timeparse.h"

namespace shorty {
namespace {

constexpr UnixTime kNoon = 1796385600;  // 2026-12-04T12:00:00Z

TEST_CASE("ClassifyVisit reads browser, system and device off real agents") {
  struct Case {
    const char* ua;
    Browser browser;
    Os os;
    Device device;
  };
  const Case cases[] = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
       "like Gecko) Chrome/131.0.0.0 Safari/537.36",
       Browser::kChrome, Os::kWindows, Device::kDesktop},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
       "like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
       Browser::kEdge, Os::kWindows, Device::kDesktop},
      {"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 "
       "Firefox/133.0",
       Browser::kFirefox, Os::kLinux, Device::kDesktop},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
       "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
       Browser::kSafari, Os::kMacos, Device::kDesktop},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
       "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 "
       "Safari/604.1",
       Browser::kSafari, Os::kIos, Device::kMobile},
      {"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
       "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
       Browser::kChrome, Os::kIos, Device::kTablet},
      {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
       "like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
       Browser::kChrome, Os::kAndroid, Device::kMobile},
      {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, "
       "like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
       Browser::kSamsung, Os::kAndroid, Device::kTablet},
      {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, "
       "like Gecko) Chrome/131.0.0.0 Safari/537.36",
       Browser::kChrome, Os::kChromeos, Device::kDesktop},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
       "like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
       Browser::kOpera, Os::kWindows, Device::kDesktop},
      {"SomethingNew/1.0", Browser::kOther, Os::kOther, Device::kOther},
  };
  for (const Case& c : cases) {
    const std::string ua = c.ua;
    CAPTURE(ua);
    VisitTraits t = ClassifyVisit(c.ua, "");
    CHECK_FALSE(t.bot);
    CHECK(BrowserName(t.browser) == std::string(BrowserName(c.browser)));
    CHECK(OsName(t.os) == std::string(OsName(c.os)));
    CHECK(DeviceName(t.device) == std::string(DeviceName(c.device)));
  }
}

TEST_CASE("ClassifyVisit counts crawlers, previewers and tools as bots") {
  const char* bots[] = {
      "",  // browsers always send a user agent
      "Mozilla/5.0 (compatible; Googlebot/2.1; "
      "+http://www.google.com/bot.html)",
      "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
      "Twitterbot/1.0",
      "facebookexternalhit/1.1 "
      "(+http://www.facebook.com/externalhit_uatext.php)",
      "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
      "TelegramBot (like TwitterBot)",
      "WhatsApp/2.23.20.0",
      "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
      "curl/7.88.1",
      "Wget/1.21.3",
      "python-requests/2.31.0",
      "Go-http-client/1.1",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
  };
  for (const char* bot : bots) {
    const std::string ua = bot;
    CAPTURE(ua);
    VisitTraits t = ClassifyVisit(ua, "");
    CHECK(t.bot);
    CHECK(t.device == Device::kBot);
    CHECK(t.browser == Browser::kOther);
  }
}

TEST_CASE("ClassifyVisit keeps only the referring host, and only a clean one") {
  struct Case {
    const char* referer;
    const char* host;
  };
  const Case cases[] = {
      {"https://News.YCombinator.com/item?id=1", "news.ycombinator.com"},
      {"http://example.org", "example.org"},
      {"https://user:pw@example.org:8443/path#frag", "example.org"},
      {"https://example.org./", "example.org"},
      {"android-app://com.slack/", "com.slack"},
      {"https://192.0.2.1/x", "192.0.2.1"},
      {"", ""},
      {"example.org", ""},                    // no scheme
      {"ftp://example.org/", ""},             // not the web
      {"javascript://alert(1)", ""},          // '(' is no host byte
      {"https://exa mple.org/", ""},          // space
      {"https://ex\xc3\xa4mple.org/", ""},    // raw UTF-8: not as sent
      {"https://<script>/", ""},
      {"https:///path", ""},
      {"https://[2001:db8::1]/", ""},         // not kept as a host
  };
  for (const Case& c : cases) {
    const std::string referer = c.referer;
    CAPTURE(referer);
    CHECK(ClassifyVisit("Firefox/133.0", c.referer).referrer == c.host);
  }
  CHECK(ClassifyVisit("", "https://" + std::string(300, 'a') + ".org/")
            .referrer.empty());
}

TEST_CASE("ClassifyVisit takes any bytes and looks at a bounded prefix") {
  std::string hostile(100000, 'A');
  hostile += " Googlebot";
  VisitTraits t = ClassifyVisit(hostile, std::string(100000, '/'));
  CHECK_FALSE(t.bot);  // past the scanned prefix
  CHECK(t.referrer.empty());
  std::string binary("\0\xff\x80\x01", 4);
  CHECK(ClassifyVisit(binary, binary).browser == Browser::kOther);
}

TEST_CASE("HourOf and DayOf round down, before 1970 too") {
  CHECK(HourOf(kNoon + 3599) == kNoon);
  CHECK(HourOf(kNoon) == kNoon);
  CHECK(DayOf(kNoon) == kNoon - 12 * kHour);
  CHECK(HourOf(-1) == -kHour);
  CHECK(DayOf(-1) == -kDay);
  CHECK(DayOf(0) == 0);
}

TEST_CASE("BucketsOf makes one bucket a dimension with the group's count") {
  VisitGroup g;
  g.hour = kNoon;
  g.count = 3;
  g.traits = ClassifyVisit(
      "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
      "https://lobste.rs/");
  std::vector<VisitBucket> b = BucketsOf(g);
  REQUIRE(b.size() == 5);
  CHECK(b[0].dimension == "total");
  CHECK(b[0].value == "");
  CHECK(b[1].dimension == "referrer");
  CHECK(b[1].value == "lobste.rs");
  CHECK(b[2].value == "firefox");
  CHECK(b[3].value == "linux");
  CHECK(b[4].value == "desktop");
  for (const VisitBucket& x : b) {
    CHECK(x.start == kNoon);
    CHECK(x.visits == 3);
    CHECK_FALSE(x.bot);
  }
}

std::vector<VisitBucket> Buckets(UnixTime hour, const char* ua,
                                 const char* referer, int64_t count) {
  VisitGroup g;
  g.hour = hour;
  g.traits = ClassifyVisit(ua, referer);
  g.count = count;
  return BucketsOf(g);
}

void Append(std::vector<VisitBucket>* to, std::vector<VisitBucket> more) {
  to->insert(to->end(), more.begin(), more.end());
}

constexpr char kFirefox[] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";
constexpr char kIphone[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Version/18.1 "
    "Mobile/15E148 Safari/604.1";

TEST_CASE("SumStats: a series with zeros, tops, and bots apart") {
  std::vector<VisitBucket> buckets;
  Append(&buckets, Buckets(kNoon, kFirefox, "https://lobste.rs/", 4));
  Append(&buckets, Buckets(kNoon - kDay, kIphone, "", 2));
  Append(&buckets, Buckets(kNoon - 3 * kDay, kIphone, "https://lobste.rs/", 1));
  Append(&buckets, Buckets(kNoon, "curl/8.0", "", 7));
  Append(&buckets, Buckets(kNoon - 30 * kDay, kFirefox, "", 100));  // too old

  StatsQuery q;
  q.now = kNoon + 60;
  q.since = kNoon - 6 * kDay;
  LinkStats s = SumStats(buckets, q);
  CHECK(s.total == 7);
  CHECK(s.bots == 7);
  CHECK_FALSE(s.bots_included);
  CHECK(s.since == DayOf(kNoon - 6 * kDay));
  REQUIRE(s.series.size() == 7);
  CHECK(s.series[0].value == FormatTime(DayOf(kNoon - 6 * kDay)));
  CHECK(s.series[6].value == FormatTime(DayOf(kNoon)));
  const int64_t want[] = {0, 0, 0, 1, 0, 2, 4};
  for (size_t i = 0; i < 7; ++i) CHECK(s.series[i].visits == want[i]);
  REQUIRE(s.referrers.size() == 2);
  CHECK(s.referrers[0].value == "lobste.rs");
  CHECK(s.referrers[0].visits == 5);
  CHECK(s.referrers[1].value == "(direct)");
  CHECK(s.referrers[1].visits == 2);
  REQUIRE(s.browsers.size() == 2);
  CHECK(s.browsers[0].value == "firefox");
  CHECK(s.browsers[1].value == "safari");
  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].value == "desktop");
  CHECK(s.devices[1].value == "mobile");

  q.bots = true;
  LinkStats with = SumStats(buckets, q);
  CHECK(with.total == 14);
  CHECK(with.bots == 7);
  CHECK(with.series[6].visits == 11);
  CHECK(with.referrers[0].value == "(direct)");
  CHECK(with.referrers[0].visits == 9);
  CHECK(with.devices[0].value == "bot");

  q.bots = false;
  q.by_hour = true;
  q.since = kNoon - 2 * kHour;
  LinkStats hourly = SumStats(buckets, q);
  REQUIRE(hourly.series.size() == 3);
  CHECK(hourly.series[2].visits == 4);
  CHECK(hourly.total == 4);
}

TEST_CASE("SumStats keeps the ten most frequent, ties by name") {
  std::vector<VisitBucket> buckets;
  for (int i = 0; i < 15; ++i) {
    std::string ref = "https://site" + std::string(1, static_cast<char>('a' + i)) + ".example/";
    Append(&buckets, Buckets(kNoon, kFirefox, ref.c_str(), i < 12 ? 5 : 1));
  }
  StatsQuery q;
  q.now = kNoon;
  q.since = kNoon - kDay;
  LinkStats s = SumStats(buckets, q);
  REQUIRE(s.referrers.size() == 10);
  CHECK(s.referrers[0].value == "sitea.example");
  CHECK(s.referrers[9].value == "sitej.example");
  CHECK(s.total == 63);
}

TEST_CASE("ParseStatsQuery takes durations, dates and refuses the rest") {
  Result<StatsQuery> q = ParseStatsQuery("", "", "", kNoon);
  REQUIRE(q.ok());
  CHECK(q->since == kNoon - 7 * kDay);
  CHECK_FALSE(q->by_hour);
  CHECK_FALSE(q->bots);

  q = ParseStatsQuery("36h", "hour", "1", kNoon);
  REQUIRE(q.ok());
  CHECK(q->since == kNoon - 36 * kHour);
  CHECK(q->by_hour);
  CHECK(q->bots);

  q = ParseStatsQuery("2026-12-01", "day", "0", kNoon);
  REQUIRE(q.ok());
  CHECK(FormatTime(q->since) == "2026-12-01T00:00:00Z");

  struct Bad {
    const char* since;
    const char* by;
    const char* bots;
    const char* message;
  };
  const Bad bad[] = {
      {"yesterday", "", "", "since: use a duration"},
      {"2027-01-01", "", "", "since: must be in the past"},
      {"", "week", "", "by: use day or hour"},
      {"", "", "yes", "bots: use 1 or 0"},
      {"3650d", "hour", "", "since: at most 5000 hours"},
      {"9999d", "day", "", "since: at most 5000 days"},
      {"99999d", "day", "", "since: duration: '99999d' is too long"},
  };
  for (const Bad& b : bad) {
    const std::string since = b.since;
    CAPTURE(since);
    Result<StatsQuery> r = ParseStatsQuery(b.since, b.by, b.bots, kNoon);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CAPTURE(r.status().message());
    CHECK(r.status().message().find(b.message) == 0);
  }
}

}  // namespace
}  // namespace shorty
