#include "shared/text.h"

#include <doctest/doctest.h>

#include <string>

namespace shorty {
namespace {

TEST_CASE("IsValidUtf8 takes text and refuses every malformed sequence") {
  struct Case {
    std::string text;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"caf\xc3\xa9", true},        // é
      {"\xe2\x82\xac", true},       // €
      {"\xf0\x9f\x98\x80", true},   // U+1F600
      {"\xf4\x8f\xbf\xbf", true},   // U+10FFFF, the last
      {"\xc3", false},              // cut short
      {"\xe2\x82", false},          // cut short
      {"\x80", false},              // a stray continuation
      {"\xc0\xaf", false},          // overlong '/'
      {"\xe0\x80\xaf", false},      // overlong '/'
      {"\xed\xa0\x80", false},      // a surrogate
      {"\xf4\x90\x80\x80", false},  // past U+10FFFF
      {"\xff", false},              // never in UTF-8
      {"ok\xc3\x28", false},        // a bad continuation
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(IsValidUtf8(c.text) == c.valid);
  }
}

TEST_CASE("DecodeUtf8 gives the code point and moves past it") {
  const std::string text = "a\xc3\xa9\xf0\x9f\x98\x80";
  size_t i = 0;
  uint32_t cp = 0;
  REQUIRE(DecodeUtf8(text, &i, &cp));
  CHECK(cp == 'a');
  CHECK(i == 1);
  REQUIRE(DecodeUtf8(text, &i, &cp));
  CHECK(cp == 0xE9);
  CHECK(i == 3);
  REQUIRE(DecodeUtf8(text, &i, &cp));
  CHECK(cp == 0x1F600);
  CHECK(i == 7);
  const std::string bad = "\xe2\x82";
  i = 0;
  CHECK_FALSE(DecodeUtf8(bad, &i, &cp));
  CHECK(i == 0);
}

TEST_CASE("JsonDepthWithin counts brackets outside strings only") {
  CHECK(JsonDepthWithin("{}", 1));
  CHECK_FALSE(JsonDepthWithin("{\"a\":[1]}", 1));
  CHECK(JsonDepthWithin("{\"a\":[1]}", 2));
  CHECK(JsonDepthWithin("{\"a\":\"[[[[[[\"}", 1));    // in a string
  CHECK(JsonDepthWithin("{\"a\":\"\\\"[[[[\"}", 1));  // escaped quote
  CHECK(JsonDepthWithin("[][][][]", 1));              // siblings
  CHECK_FALSE(JsonDepthWithin(std::string(100000, '['), 64));
}

}  // namespace
}  // namespace shorty
