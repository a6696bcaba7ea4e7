#include "shared/timeparse.h"

#include <doctest/doctest.h>

#include <limits>

namespace shorty {
namespace {

// A fixed "now" (2026-01-01T00:00:00Z) so that relative times are exact.
constexpr UnixTime kNow = 1767225600;

TEST_CASE("ParseDuration accepts sums of whole numbers with units") {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  const Case cases[] = {
      {"45s", 45},
      {"1s", 1},
      {"90m", 5400},
      {"36h", 129600},
      {"7d", 604800},
      {"2w", 1209600},
      {"1h30m", 5400},
      {"1d12h", 129600},
      {"1w1d1h1m1s", 694861},
      {"0h30m", 1800},  // a zero part is fine when the total is not
      {"007m", 420},    // leading zeros are just digits
      {"30m1h", 5400},  // order does not matter
      {"5200w", int64_t{5200} * 604800},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    Result<int64_t> result = ParseDuration(c.text);
    REQUIRE(result.ok());
    CHECK(*result == c.seconds);
  }
}

TEST_CASE("ParseDuration refuses what it does not understand") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "duration: empty; use a number and a unit: 90m, 36h, 7d, 2w"},
      {"7x",
       "duration: '7x' is not understood; use a number and a unit: 90m, 36h, "
       "7d, 2w"},
      {"7",
       "duration: '7' is not understood; use a number and a unit: 90m, "
       "36h, 7d, 2w"},
      {"d",
       "duration: 'd' is not understood; use a number and a unit: 90m, "
       "36h, 7d, 2w"},
      {"-5m",
       "duration: '-5m' is negative; use a number and a unit: 90m, "
       "36h, 7d, 2w"},
      {"0s", "duration: '0s' must be more than zero"},
      {"0h0m", "duration: '0h0m' must be more than zero"},
      {"5300w", "duration: '5300w' is too long; the most is 100 years"},
      {"99999999999999999999999s",
       "duration: '99999999999999999999999s' is too long; the most is 100 "
       "years"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    Result<int64_t> result = ParseDuration(c.text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalidArgument);
    CHECK(result.status().message() == c.message);
  }
}

TEST_CASE("ParseDuration refuses white space, capitals and stray characters") {
  const char* cases[] = {" 7d", "7d ", "7 d",  "1h 30m", "7D", "1.5h",
                         "+7d", "7dd", "7d\n", "1h30",   "h1"};
  for (const char* text : cases) {
    INFO(std::string(text));
    Result<int64_t> result = ParseDuration(text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().message().find("is not understood") !=
          std::string::npos);
  }
}

TEST_CASE("ParseTimePoint reads durations, dates and RFC 3339") {
  struct Case {
    const char* text;
    UnixTime expected;
  };
  const Case cases[] = {
      {"7d", kNow + 7 * 86400},
      {"1h30m", kNow + 5400},
      {"1970-01-01", 0},
      {"2026-12-31", 1798675200},
      {"2000-02-29", 951782400},  // leap day of a year divisible by 400
      {"2024-02-29", 1709164800},
      {"1900-03-01", -2203891200},  // 1900 was not a leap year
      {"2100-02-28", 4107456000},
      {"0000-01-01", -62167219200},
      {"2026-12-31T00:00:00Z", 1798675200},
      {"2026-12-31t00:00:00z", 1798675200},
      {"2026-12-31 00:00:00Z", 1798675200},
      {"2026-12-31T01:00:00+01:00", 1798675200},
      {"2026-12-30T19:00:00-05:00", 1798675200},
      {"2026-12-31T05:30:00+05:30", 1798675200},
      {"2026-12-31T00:00:00.999Z", 1798675200},  // fraction dropped
      {"2026-12-31T00:00:00.5+00:00", 1798675200},
      {"1969-12-31T23:59:59Z", -1},
      {"2038-01-19T03:14:07Z", 2147483647},
      {"9999-12-31T23:59:59Z", 253402300799},
      // A leap second counts as the last second of its minute.
      {"2016-12-31T23:59:60Z", 1483228799},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    Result<UnixTime> result = ParseTimePoint(c.text, kNow);
    REQUIRE(result.ok());
    CHECK(*result == c.expected);
  }
}

TEST_CASE("ParseTimePoint refuses invalid dates and times") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"2026-02-30",
       "time: '2026-02-30' is not a date: February 2026 has 28 "
       "days"},
      {"2026-02-29",
       "time: '2026-02-29' is not a date: February 2026 has 28 "
       "days"},
      {"1900-02-29",
       "time: '1900-02-29' is not a date: February 1900 has 28 "
       "days"},
      {"2026-04-31",
       "time: '2026-04-31' is not a date: April 2026 has 30 "
       "days"},
      {"2026-01-00",
       "time: '2026-01-00' is not a date: January 2026 has 31 "
       "days"},
      {"2026-13-01", "time: '2026-13-01' has no month 13; months are 01..12"},
      {"2026-00-10", "time: '2026-00-10' has no month 0; months are 01..12"},
      {"2026-12-31T24:00:00Z",
       "time: '2026-12-31T24:00:00Z' has hour 24; hours are 00..23"},
      {"2026-12-31T23:60:00Z",
       "time: '2026-12-31T23:60:00Z' has minute 60; minutes are 00..59"},
      {"2026-12-31T23:59:61Z",
       "time: '2026-12-31T23:59:61Z' has second 61; seconds are 00..59"},
      {"2026-12-31T00:00:00",
       "time: '2026-12-31T00:00:00' has no time zone; add Z for UTC or an "
       "offset such as +01:00"},
      {"2026-12-31T00:00:00+24:00",
       "time: '2026-12-31T00:00:00+24:00' has an offset out of range; offsets "
       "are -23:59..+23:59"},
      {"0s", "duration: '0s' must be more than zero"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    Result<UnixTime> result = ParseTimePoint(c.text, kNow);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalidArgument);
    CHECK(result.status().message() == c.message);
  }
}

TEST_CASE("ParseTimePoint lists the accepted forms for anything else") {
  const char* cases[] = {"",
                         "tomorrow",
                         "7x",
                         "2026-1-5",
                         "2026/12/31",
                         "26-12-31",
                         "2026-12-31T",
                         "2026-12-31X00:00:00Z",
                         "2026-12-31T00:00Z",
                         "2026-12-31T00:00:00.Z",
                         "2026-12-31T00:00:00+0100",
                         "2026-12-31T00:00:00+01",
                         "2026-12-31T00:00:00ZZ",
                         "2026-12-31T00:00:00 Z",
                         " 2026-12-31",
                         "2026-12-31 "};
  for (const char* text : cases) {
    INFO(std::string(text));
    Result<UnixTime> result = ParseTimePoint(text, kNow);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().message() ==
          "time: '" + std::string(text) +
              "' is not understood; use a duration (7d, 36h), a date "
              "(2026-12-31) or RFC 3339 (2026-12-31T00:00:00Z, "
              "2026-12-31T01:00:00+01:00)");
  }
}

TEST_CASE("ParseTimePoint refuses a duration that overflows from now") {
  Result<UnixTime> result =
      ParseTimePoint("1d", std::numeric_limits<UnixTime>::max() - 10);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message() ==
        "time: '1d' from now is too far in the future");
}

TEST_CASE("FormatTime prints RFC 3339 in UTC") {
  struct Case {
    UnixTime time;
    const char* text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {-1, "1969-12-31T23:59:59Z"},
      {-86400, "1969-12-31T00:00:00Z"},
      {951782400, "2000-02-29T00:00:00Z"},
      {1709164800 + 86399, "2024-02-29T23:59:59Z"},
      {1798675200, "2026-12-31T00:00:00Z"},
      {2147483647, "2038-01-19T03:14:07Z"},
      {253402300799, "9999-12-31T23:59:59Z"},
      {-62167219200, "0000-01-01T00:00:00Z"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.time);
    CHECK(FormatTime(c.time) == c.text);
  }
}

TEST_CASE("FormatTime does not overflow at the ends of int64") {
  // Not RFC 3339 any more (years beyond 9999), but defined and printable.
  CHECK_FALSE(FormatTime(std::numeric_limits<UnixTime>::max()).empty());
  CHECK_FALSE(FormatTime(std::numeric_limits<UnixTime>::min()).empty());
}

TEST_CASE("FormatTime and ParseTimePoint are inverses") {
  // Every ~116 days plus an odd offset, across 0000..9999, so that every
  // month, leap days and many times of day come up.
  for (UnixTime t = -62167219200; t <= 253402300799; t += 10000019) {
    const std::string text = FormatTime(t);
    Result<UnixTime> back = ParseTimePoint(text, kNow);
    REQUIRE_MESSAGE(back.ok(), text);
    REQUIRE_MESSAGE(*back == t, text);
  }
}

}  // namespace
}  // namespace shorty
