#include "shared/blocklist.h"

#include <doctest/doctest.h>

#include "shared/target.h"

namespace shorty {
namespace {

TEST_CASE("ParseBlocklist: names, comments, IDN, and errors with the line") {
  Result<std::unordered_set<std::string>> list = ParseBlocklist(
      "# phishing\nEvil.Example\n\n  bad.test  # trailing comment\r\n"
      "b\xc3\xbc"
      "cher.example\n",
      "block.txt");
  REQUIRE(list.ok());
  CHECK(list->size() == 3);
  CHECK(list->count("evil.example") == 1);
  CHECK(list->count("bad.test") == 1);
  CHECK(list->count("xn--bcher-kva.example") == 1);

  struct Bad {
    const char* text;
    const char* where;
  };
  const Bad bad[] = {{"ok.example\nhttp://x.example/\n", "block.txt:2:"},
                     {"a b\n", "block.txt:1:"},
                     {"x.example/path\n", "block.txt:1:"},
                     {"\nuser@x.example\n", "block.txt:2:"}};
  for (const Bad& b : bad) {
    CAPTURE(b.text);
    Result<std::unordered_set<std::string>> r =
        ParseBlocklist(b.text, "block.txt");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind(b.where, 0) == 0);
  }
  CHECK(ParseBlocklist("", "empty").ok());
}

TEST_CASE("NormalizeTarget refuses blocked hosts and every name under them") {
  TargetRules rules;
  rules.blocked_domains =
      std::make_shared<const std::unordered_set<std::string>>(
          std::unordered_set<std::string>{"evil.example",
                                          "xn--bcher-kva.example"});
  struct Case {
    const char* url;
    bool blocked;
  };
  const Case cases[] = {
      {"https://evil.example/", true},
      {"https://EVIL.example./login", true},
      {"https://www.evil.example/x", true},
      {"https://a.b.evil.example:8443/", true},
      {"https://b\xc3\xbc"
       "cher.example/",
       true},
      {"https://notevil.example/", false},
      {"https://evil.example.org/", false},
      {"https://example/", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.url);
    Result<std::string> r = NormalizeTarget(c.url, rules);
    CHECK(r.ok() == !c.blocked);
    if (c.blocked)
      CHECK(r.status().message().find("blocklist") != std::string::npos);
  }
}

}  // namespace
}  // namespace shorty
