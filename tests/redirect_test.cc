#include "shared/redirect.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>

namespace shorty {
namespace {

TEST_CASE("Decide: disabled, then expired, then used up, then redirect") {
  struct Case {
    const char* name;
    bool disabled;
    std::optional<UnixTime> expires_at;
    std::optional<int64_t> max_visits;
    UnixTime now;
    int64_t visits;
    Verdict verdict;
  };
  const Case cases[] = {
      {"plain link", false, std::nullopt, std::nullopt, 1000, 0,
       Verdict::kRedirect},
      {"plain link, many visits", false, std::nullopt, std::nullopt, 1000,
       1000000, Verdict::kRedirect},
      {"expires later", false, 1001, std::nullopt, 1000, 0, Verdict::kRedirect},
      {"expires now", false, 1000, std::nullopt, 1000, 0, Verdict::kExpired},
      {"expired earlier", false, 999, std::nullopt, 1000, 0, Verdict::kExpired},
      {"one visit left", false, std::nullopt, 5, 1000, 4, Verdict::kRedirect},
      {"visits reached limit", false, std::nullopt, 5, 1000, 5,
       Verdict::kUsedUp},
      {"visits beyond limit", false, std::nullopt, 5, 1000, 9,
       Verdict::kUsedUp},
      {"limit of zero", false, std::nullopt, 0, 1000, 0, Verdict::kUsedUp},
      {"disabled", true, std::nullopt, std::nullopt, 1000, 0,
       Verdict::kDisabled},
      {"disabled beats expired", true, 999, std::nullopt, 1000, 0,
       Verdict::kDisabled},
      {"disabled beats used up", true, std::nullopt, 1, 1000, 1,
       Verdict::kDisabled},
      {"disabled beats both", true, 999, 1, 1000, 1, Verdict::kDisabled},
      {"expired beats used up", false, 999, 1, 1000, 1, Verdict::kExpired},
      {"used up while not yet expired", false, 2000, 1, 1000, 1,
       Verdict::kUsedUp},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Link link;
    link.slug = "x";
    link.target = "https://example.com/";
    link.disabled = c.disabled;
    link.expires_at = c.expires_at;
    link.max_visits = c.max_visits;
    CHECK(Decide(link, c.now, c.visits) == c.verdict);
  }
}

TEST_CASE("Decide counts the visits it is given, not the stored ones") {
  Link link;
  link.max_visits = 3;
  link.visits = 1;  // as stored; two more are waiting to be flushed
  CHECK(Decide(link, 0, 3) == Verdict::kUsedUp);
  link.visits = 10;
  CHECK(Decide(link, 0, 2) == Verdict::kRedirect);
}

TEST_CASE("VerdictReason") {
  CHECK(std::string(VerdictReason(Verdict::kExpired)) == "expired");
  CHECK(std::string(VerdictReason(Verdict::kUsedUp)) == "used up");
  CHECK(std::string(VerdictReason(Verdict::kDisabled)) == "disabled");
  CHECK(std::string(VerdictReason(Verdict::kRedirect)) == "redirect");
}

TEST_CASE("BuildLocation builds") {
  struct Case {
    const char* target;
    const char* extra_path;
    const char* query;
    const char* location;
  };
  const Case cases[] = {
      // Nothing extra: the target as it is.
      {"https://example.com/", "", "", "https://example.com/"},
      {"https://example.com/wiki?a=1#top", "", "",
       "https://example.com/wiki?a=1#top"},
      // Extra path appended with exactly one '/'.
      {"https://example.com/", "a", "", "https://example.com/a"},
      {"https://example.com/wiki", "a/b", "", "https://example.com/wiki/a/b"},
      {"https://example.com/wiki/", "a", "", "https://example.com/wiki/a"},
      {"https://example.com/wiki//", "/a", "", "https://example.com/wiki/a"},
      {"https://example.com/wiki", "a/", "", "https://example.com/wiki/a/"},
      {"https://example.com/wiki", "/", "", "https://example.com/wiki"},
      {"https://github.com/org/repo/pull", "1234", "",
       "https://github.com/org/repo/pull/1234"},
      // Appended before the target's query and fragment.
      {"https://example.com/wiki?lang=en#toc", "Main_Page", "",
       "https://example.com/wiki/Main_Page?lang=en#toc"},
      // Encoded characters in the extra path pass as they are.
      {"https://example.com/s", "two%20words", "",
       "https://example.com/s/two%20words"},
      {"https://example.com/s", "a%2Fb", "", "https://example.com/s/a%2Fb"},
      {"https://example.com/s", "..a/b..", "", "https://example.com/s/..a/b.."},
      {"https://example.com/s", "%C3%BC", "", "https://example.com/s/%C3%BC"},
      // Raw characters the target rules encode are encoded here too.
      {"https://example.com/s", "a\"b", "", "https://example.com/s/a%22b"},
      {"https://example.com/s", "\xC3\xBC", "", "https://example.com/s/%C3%BC"},
      // {path} substituted, wherever it stands; every occurrence.
      {"https://example.com/{path}/edit", "a/b", "",
       "https://example.com/a/b/edit"},
      {"https://example.com/search?q={path}", "cats", "",
       "https://example.com/search?q=cats"},
      {"https://example.com/{path}?src={path}", "x", "",
       "https://example.com/x?src=x"},
      {"https://example.com/docs#{path}", "install", "",
       "https://example.com/docs#install"},
      {"https://example.com/{path}/edit", "", "", "https://example.com//edit"},
      {"https://example.com/search?q={path}", "", "",
       "https://example.com/search?q="},
      // Visitors' braces are encoded, so no placeholder survives.
      {"https://example.com/{path}", "{path}", "",
       "https://example.com/%7Bpath%7D"},
      {"https://example.com/a", "{path}", "{path}",
       "https://example.com/a/%7Bpath%7D?%7Bpath%7D"},
      // The request's query merged after the target's, before its fragment.
      {"https://x.example/?a=1", "", "b=2", "https://x.example/?a=1&b=2"},
      {"https://x.example/", "", "b=2", "https://x.example/?b=2"},
      {"https://x.example", "", "b=2", "https://x.example/?b=2"},
      {"https://x.example/?", "", "b=2", "https://x.example/?b=2"},
      {"https://x.example/p?a=1#frag", "", "b=2&c=3",
       "https://x.example/p?a=1&b=2&c=3#frag"},
      {"https://x.example/p#frag", "", "b=2", "https://x.example/p?b=2#frag"},
      {"https://x.example/p#frag", "more", "b=2",
       "https://x.example/p/more?b=2#frag"},
      {"https://x.example/search?q={path}&lang=en", "dogs", "page=2",
       "https://x.example/search?q=dogs&lang=en&page=2"},
      // A '#' in the request's query cannot start a fragment; characters
      // the target rules encode are encoded.
      {"https://x.example/#frag", "", "a=#b", "https://x.example/?a=%23b#frag"},
      {"https://x.example/", "", "q=<b>", "https://x.example/?q=%3Cb%3E"},
      // A stored target that is not quite normal comes out normal.
      {"HTTPS://X.EXAMPLE:443", "a", "", "https://x.example/a"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    CAPTURE(c.extra_path);
    CAPTURE(c.query);
    Result<std::string> got =
        BuildLocation(c.target, c.extra_path, c.query, TargetRules());
    REQUIRE_MESSAGE(got.ok(), got.status().message());
    CHECK(*got == c.location);
  }
}

TEST_CASE("BuildLocation refuses") {
  struct Case {
    const char* target;
    const char* extra_path;
    const char* query;
    const char* message;
  };
  const char* dots = "path: '.' and '..' segments are not allowed";
  const Case cases[] = {
      // Dot segments, however they are hidden.
      {"https://example.com/wiki", "..", "", dots},
      {"https://example.com/wiki", "../admin", "", dots},
      {"https://example.com/wiki", "a/../../admin", "", dots},
      {"https://example.com/wiki", "a/..", "", dots},
      {"https://example.com/wiki", "./a", "", dots},
      {"https://example.com/wiki", "a/./b", "", dots},
      {"https://example.com/wiki", "%2e%2e/admin", "", dots},
      {"https://example.com/wiki", ".%2E/admin", "", dots},
      {"https://example.com/wiki", "%2E", "", dots},
      {"https://example.com/wiki", "a%2F..%2Fadmin", "", dots},
      {"https://example.com/wiki", "..%2fadmin", "", dots},
      {"https://example.com/{path}", "..", "", dots},
      // Whitespace and control characters, raw or encoded.
      {"https://example.com/wiki", "a b", "",
       "path: must not contain whitespace or control characters"},
      {"https://example.com/wiki", "a\r\nLocation: x", "",
       "path: must not contain whitespace or control characters"},
      {"https://example.com/wiki", "a%0d%0aSet-Cookie:x", "",
       "path: must not contain encoded control characters"},
      {"https://example.com/wiki", "a%00", "",
       "path: must not contain encoded control characters"},
      {"https://example.com/wiki", "%7f", "",
       "path: must not contain encoded control characters"},
      // Backslashes, raw or encoded.
      {"https://example.com/wiki", "a\\b", "", "path: '\\' is not allowed"},
      {"https://example.com/wiki", "\\\\evil.example", "",
       "path: '\\' is not allowed"},
      {"https://example.com/wiki", "a%5cb", "",
       "path: '\\' is not allowed, even encoded"},
      // Raw '?' and '#' would cut the path short.
      {"https://example.com/wiki", "a?b", "",
       "path: '?' must be percent-encoded"},
      {"https://example.com/wiki", "a#b", "",
       "path: '#' must be percent-encoded"},
      // Malformed escapes.
      {"https://example.com/wiki", "a%", "",
       "path: '%' must start an escape of two hex digits"},
      {"https://example.com/wiki", "a%zz", "",
       "path: '%' must start an escape of two hex digits"},
      // The request's query is held to the target rules.
      {"https://example.com/", "", "a=%0d%0a",
       "target: must not contain encoded control characters; found %0d"},
      {"https://example.com/", "", "a=%",
       "target: '%' must start an escape of two hex digits; write %25 for a "
       "literal '%'"},
      {"https://example.com/", "", "a=\r\n",
       "target: must not contain whitespace or control characters; found a "
       "carriage return"},
      // A bad stored row is never served.
      {"javascript:alert(1)", "", "",
       "target: scheme 'javascript' is not allowed; use http or https"},
      {"javascript:alert(1)", "x", "q=1",
       "target: scheme 'javascript' is not allowed; use http or https"},
      {"https://user@example.com/", "", "",
       "target: credentials in URLs (user@host) are not allowed; they are a "
       "common phishing trick"},
      {"https://example.com/\r\n", "", "",
       "target: must not contain whitespace or control characters; found a "
       "carriage return"},
      {"relative/path", "a", "",
       "target: must be an absolute URL such as https://example.com/page"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    CAPTURE(c.extra_path);
    CAPTURE(c.query);
    Result<std::string> got =
        BuildLocation(c.target, c.extra_path, c.query, TargetRules());
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalidArgument);
    CHECK(got.status().message() == c.message);
  }
}

TEST_CASE("BuildLocation applies the rules to the result") {
  TargetRules rules;
  rules.own_hosts = {"go.example.com"};
  Result<std::string> loop =
      BuildLocation("https://go.example.com/{path}", "x", "", rules);
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.status().message() ==
        "target: points at this shortener itself (go.example.com); that "
        "would loop");

  // A long extra path or query can push the location over the limit.
  const std::string target = "https://example.com/";
  const std::string fits(4096 - target.size() - 3, 'a');
  Result<std::string> ok = BuildLocation(target, "", "q=" + fits, rules);
  REQUIRE(ok.ok());
  CHECK(ok->size() == 4096);
  Result<std::string> over = BuildLocation(target, "", "q=a" + fits, rules);
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().message() == "target: longer than 4096 bytes");
  Result<std::string> long_path =
      BuildLocation(target, std::string(4096, 'a'), "", rules);
  REQUIRE_FALSE(long_path.ok());
  CHECK(long_path.status().message() == "target: longer than 4096 bytes");
}

}  // namespace
}  // namespace shorty
