// The JSON form of links and requests: every body is hostile. Malformed,
// mistyped, duplicated, unknown and deeply nested input must come back as a
// Status naming what is wrong, never as an exception or a crash.
#include "shared/link_json.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "shared/timeparse.h"

namespace shorty {
namespace {

using nlohmann::json;

constexpr UnixTime kNow = 1'700'000'000;      // 2023-11-14T22:13:20Z
constexpr UnixTime kJan2030 = 1'893'456'000;  // 2030-01-01T00:00:00Z
constexpr int64_t kSecondsPerDay = 24 * 60 * 60;

// A std::string, so doctest shows it and == compares text.
std::string CodeOf(const Status& s) { return CodeName(s.code()); }

// The patch of a PATCH body, for the tests of the stored fields.
Result<LinkPatch> ParseLinkPatch(std::string_view body, UnixTime now) {
  Result<LinkEdit> edit = ParseLinkEdit(body, now);
  if (!edit.ok()) return edit.status();
  return edit->patch;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// A create body that nests `levels` arrays inside the object (so the
// object's own level makes levels + 1).
std::string NestedTags(size_t levels) {
  return R"({"target":"https://example.com/","tags":)" + Repeat("[", levels) +
         Repeat("]", levels) + "}";
}

// A well-formed body of exactly `size` bytes: kBodyHead, a note of 'a's,
// kBodyTail.
const std::string kBodyHead = R"({"target":"https://example.com/","note":")";
const std::string kBodyTail = R"("})";
std::string BodyOfSize(size_t size) {
  REQUIRE(size >= kBodyHead.size() + kBodyTail.size());
  return kBodyHead +
         std::string(size - kBodyHead.size() - kBodyTail.size(), 'a') +
         kBodyTail;
}

struct BadBody {
  const char* name;
  std::string body;
  Code code;
  std::string message_part;  // must occur in the message
};

void CheckRefused(const Status& status, const BadBody& c) {
  CHECK_FALSE(status.ok());
  CHECK(CodeOf(status) == std::string(CodeName(c.code)));
  CHECK(status.message().find(c.message_part) != std::string::npos);
}

// Bodies both parsers refuse the same way, before looking at any field.
std::vector<BadBody> CommonHostileBodies() {
  const std::string not_json = "body: not valid JSON";
  const std::string not_object = "body: expected a JSON object";
  const std::string too_deep = "body: JSON nested deeper than 16 levels";
  return {
      {"empty body", "", Code::kBadRequest, not_json},
      {"whitespace only", "  \n ", Code::kBadRequest, not_json},
      {"truncated after a value", R"({"target":"https://example.com/")",
       Code::kBadRequest, not_json},
      {"truncated inside a string", R"({"target":"https://exa)",
       Code::kBadRequest, not_json},
      {"truncated after a colon", R"({"target":)", Code::kBadRequest, not_json},
      {"truncated escape", R"({"title":"\u00)", Code::kBadRequest, not_json},
      {"only an opening brace", "{", Code::kBadRequest, not_json},
      {"trailing comma", R"({"title":"x",})", Code::kBadRequest, not_json},
      {"single quotes", "{'title':'x'}", Code::kBadRequest, not_json},
      {"unquoted key", "{title:\"x\"}", Code::kBadRequest, not_json},
      {"trailing garbage", R"({"title":"x"} x)", Code::kBadRequest, not_json},
      {"two objects", "{}{}", Code::kBadRequest, not_json},
      {"raw line break in a string", "{\"title\":\"a\nb\"}", Code::kBadRequest,
       not_json},
      {"NaN", R"({"max_visits":NaN})", Code::kBadRequest, not_json},
      {"comment", "{/* c */}", Code::kBadRequest, not_json},
      {"array", "[]", Code::kBadRequest, not_object},
      {"array of an object", R"([{"target":"https://example.com/"}])",
       Code::kBadRequest, not_object},
      {"string", R"("https://example.com/")", Code::kBadRequest, not_object},
      {"number", "42", Code::kBadRequest, not_object},
      {"null", "null", Code::kBadRequest, not_object},
      {"boolean", "true", Code::kBadRequest, not_object},
      {"depth 17 (arrays)", NestedTags(16), Code::kBadRequest, too_deep},
      {"depth 17 (objects)", Repeat(R"({"a":)", 17) + "1" + Repeat("}", 17),
       Code::kBadRequest, too_deep},
      // These fit in 64 KiB, so only the depth check stands between
      // them and the parser.
      {"32000 nested arrays", Repeat("[", 32000) + Repeat("]", 32000),
       Code::kBadRequest, too_deep},
      {"60000 unclosed arrays", Repeat("[", 60000), Code::kBadRequest,
       too_deep},
      {"12000 nested objects", Repeat(R"({"a":)", 12000), Code::kBadRequest,
       too_deep},
      // 100000 brackets are over 64 KiB: refused for size, before the scan.
      {"100000 nested arrays", Repeat("[", 100000) + Repeat("]", 100000),
       Code::kTooLarge, "larger than 64 KiB"},
      {"duplicate top-level key",
       R"({"title":"a","title":"b","target":"https://example.com/"})",
       Code::kBadRequest, "field 'title' appears twice"},
      {"duplicate key, same value",
       R"({"target":"https://example.com/","target":"https://example.com/"})",
       Code::kBadRequest, "field 'target' appears twice"},
      {"duplicate key nested in an array",
       R"({"target":"https://example.com/","tags":[{"x":1,"x":2}]})",
       Code::kBadRequest, "field 'x' appears twice"},
      {"duplicate key nested in an object",
       R"({"target":"https://example.com/","meta":{"k":1,"k":2}})",
       Code::kBadRequest, "field 'k' appears twice"},
      {"invalid UTF-8 byte in a value", "{\"title\":\"caf\xff\"}",
       Code::kBadRequest, not_json},
      {"invalid UTF-8 in a key", "{\"t\xfe\":\"x\"}", Code::kBadRequest,
       not_json},
      {"overlong UTF-8 '/'", "{\"title\":\"\xc0\xaf\"}", Code::kBadRequest,
       not_json},
      {"truncated UTF-8 sequence", "{\"title\":\"\xe2\x82\"}",
       Code::kBadRequest, not_json},
      {"UTF-8 encoded surrogate", "{\"title\":\"\xed\xa0\x80\"}",
       Code::kBadRequest, not_json},
      {"lone high surrogate escape", R"({"title":"\ud800"})", Code::kBadRequest,
       not_json},
      {"lone low surrogate escape", R"({"title":"\udc00"})", Code::kBadRequest,
       not_json},
      {"one byte over 64 KiB", BodyOfSize(kMaxJsonBodyBytes + 1),
       Code::kTooLarge, "body: larger than 64 KiB"},
      {"garbage over 64 KiB", std::string(kMaxJsonBodyBytes + 1, '{'),
       Code::kTooLarge, "body: larger than 64 KiB"},
  };
}

TEST_CASE("ParseLinkInput and ParseLinkPatch refuse hostile bodies") {
  for (const BadBody& c : CommonHostileBodies()) {
    INFO("case: ", std::string(c.name));
    {
      Result<LinkInput> r = ParseLinkInput(c.body, kNow);
      INFO("ParseLinkInput: ", r.status().message());
      CheckRefused(r.status(), c);
    }
    {
      Result<LinkPatch> r = ParseLinkPatch(c.body, kNow);
      INFO("ParseLinkPatch: ", r.status().message());
      CheckRefused(r.status(), c);
    }
  }
}

TEST_CASE("ParseJsonObject: the limits are inclusive") {
  SUBCASE("a body of exactly 64 KiB is parsed") {
    const std::string body = BodyOfSize(kMaxJsonBodyBytes);
    REQUIRE(body.size() == kMaxJsonBodyBytes);
    Result<LinkInput> r = ParseLinkInput(body, kNow);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->note ==
          std::string(kMaxJsonBodyBytes - kBodyHead.size() - kBodyTail.size(),
                      'a'));
  }
  SUBCASE("depth 16 passes the depth check") {
    // The unknown field is reported, so the depth check let it through.
    const std::string body =
        R"({"x":)" + Repeat("[", 15) + Repeat("]", 15) + "}";
    Result<json> j = ParseJsonObject(body);
    INFO(j.status().message());
    REQUIRE(j.ok());
    Result<LinkInput> r = ParseLinkInput(body, kNow);
    CHECK(CodeOf(r.status()) == "bad_request");
    CHECK(r.status().message().find("unknown field 'x'") != std::string::npos);
  }
  SUBCASE("brackets and escaped quotes inside strings are not nesting") {
    const std::string title = Repeat("[{", 40) + "\\\"" + Repeat("[", 40);
    const std::string body =
        R"({"target":"https://example.com/","title":")" + title + R"("})";
    Result<LinkInput> r = ParseLinkInput(body, kNow);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->title == Repeat("[{", 40) + "\"" + Repeat("[", 40));
  }
  SUBCASE("an escaped backslash ends before the closing quote") {
    // "a\\" is a complete string; the brackets after it are real nesting.
    const std::string body =
        R"({"title":"a\\","x":)" + Repeat("[", 16) + Repeat("]", 16) + "}";
    Result<json> j = ParseJsonObject(body);
    CHECK(CodeOf(j.status()) == "bad_request");
    CHECK(j.status().message().find("nested deeper than 16") !=
          std::string::npos);
  }
  SUBCASE("equal keys in sibling objects are not duplicates") {
    Result<json> j = ParseJsonObject(R"({"a":{"k":1},"b":{"k":2},"k":3})");
    INFO(j.status().message());
    REQUIRE(j.ok());
    CHECK((*j)["a"]["k"] == 1);
    CHECK((*j)["b"]["k"] == 2);
    CHECK((*j)["k"] == 3);
  }
}

TEST_CASE("ParseLinkInput refuses unknown fields and wrong types by name") {
  const std::string t = R"("target":"https://example.com/")";
  const std::string whole = "expected a whole number";
  const std::vector<BadBody> cases = {
      {"unknown field", "{" + t + R"(,"colour":"red"})", Code::kBadRequest,
       "unknown field 'colour'"},
      {"patch-only field", "{" + t + R"(,"disabled":true})", Code::kBadRequest,
       "unknown field 'disabled'"},
      {"read-only field", "{" + t + R"(,"visits":0})", Code::kBadRequest,
       "unknown field 'visits'"},
      {"field names are case-sensitive", R"({"Target":"https://e.com/"})",
       Code::kBadRequest, "unknown field 'Target'"},
      {"missing target", R"({"title":"x"})", Code::kInvalidArgument,
       "target: required"},
      {"empty object", "{}", Code::kInvalidArgument, "target: required"},
      {"target number", R"({"target":42})", Code::kBadRequest,
       "target: expected a string"},
      {"target null", R"({"target":null})", Code::kBadRequest,
       "target: expected a string"},
      {"target array", R"({"target":["https://example.com/"]})",
       Code::kBadRequest, "target: expected a string"},
      {"slug number", "{" + t + R"(,"slug":7})", Code::kBadRequest,
       "slug: expected a string"},
      {"title number", "{" + t + R"(,"title":1})", Code::kBadRequest,
       "title: expected a string"},
      {"title null", "{" + t + R"(,"title":null})", Code::kBadRequest,
       "title: expected a string"},
      {"note boolean", "{" + t + R"(,"note":true})", Code::kBadRequest,
       "note: expected a string"},
      {"tags string", "{" + t + R"(,"tags":"a,b"})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags object", "{" + t + R"(,"tags":{"a":1}})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags null", "{" + t + R"(,"tags":null})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags with a number", "{" + t + R"(,"tags":["a",1]})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags with null", "{" + t + R"(,"tags":[null]})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags nested", "{" + t + R"(,"tags":[["a"]]})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"status string", "{" + t + R"(,"status":"301"})", Code::kBadRequest,
       "status: " + whole},
      {"status float", "{" + t + R"(,"status":301.0})", Code::kBadRequest,
       "status: " + whole},
      {"status exponent", "{" + t + R"(,"status":3.01e2})", Code::kBadRequest,
       "status: " + whole},
      {"status negative", "{" + t + R"(,"status":-1})", Code::kInvalidArgument,
       "status: use 301, 302, 307 or 308"},
      {"status 1000", "{" + t + R"(,"status":1000})", Code::kInvalidArgument,
       "status: use 301, 302, 307 or 308"},
      {"status 2^63", "{" + t + R"(,"status":9223372036854775808})",
       Code::kBadRequest, "status: " + whole},
      {"max_visits float", "{" + t + R"(,"max_visits":1.5})", Code::kBadRequest,
       "max_visits: " + whole},
      {"max_visits whole float", "{" + t + R"(,"max_visits":3.0})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits string", "{" + t + R"(,"max_visits":"3"})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits 1e30", "{" + t + R"(,"max_visits":1e30})", Code::kBadRequest,
       "max_visits: " + whole},
      {"max_visits 2^64", "{" + t + R"(,"max_visits":18446744073709551616})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits 2^64-1", "{" + t + R"(,"max_visits":18446744073709551615})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits 2^63", "{" + t + R"(,"max_visits":9223372036854775808})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits boolean", "{" + t + R"(,"max_visits":true})",
       Code::kBadRequest, "max_visits: " + whole},
      {"max_visits array", "{" + t + R"(,"max_visits":[3]})", Code::kBadRequest,
       "max_visits: " + whole},
      {"expires_at number", "{" + t + R"(,"expires_at":1893456000})",
       Code::kBadRequest, "expires_at: expected a time"},
      {"expires_at boolean", "{" + t + R"(,"expires_at":false})",
       Code::kBadRequest, "expires_at: expected a time"},
      {"expires_at words", "{" + t + R"(,"expires_at":"soon"})",
       Code::kInvalidArgument, "expires_at: time: 'soon' is not understood"},
      {"expires_at impossible date", "{" + t + R"(,"expires_at":"2030-02-30"})",
       Code::kInvalidArgument, "expires_at: time: '2030-02-30' is not a date"},
      {"expires_at without zone",
       "{" + t + R"(,"expires_at":"2030-01-01T00:00:00"})",
       Code::kInvalidArgument, "has no time zone"},
      {"expires_at zero duration", "{" + t + R"(,"expires_at":"0d"})",
       Code::kInvalidArgument, "must be more than zero"},
      {"expires_at empty", "{" + t + R"(,"expires_at":""})",
       Code::kInvalidArgument, "expires_at: time: '' is not understood"},
  };
  for (const BadBody& c : cases) {
    INFO("case: ", std::string(c.name));
    Result<LinkInput> r = ParseLinkInput(c.body, kNow);
    INFO("message: ", r.status().message());
    CheckRefused(r.status(), c);
  }
}

TEST_CASE("ParseLinkInput: the unknown-field message lists the known ones") {
  Result<LinkInput> r =
      ParseLinkInput(R"({"target":"https://e.com/","url":"x"})", kNow);
  REQUIRE_FALSE(r.ok());
  const std::string& m = r.status().message();
  CHECK(m.find("unknown field 'url'") != std::string::npos);
  for (const char* field : {"target", "slug", "title", "note", "tags", "status",
                            "expires_at", "max_visits"}) {
    CHECK(m.find(field) != std::string::npos);
  }
}

TEST_CASE("ParseLinkPatch refuses unknown fields and wrong types by name") {
  const std::string whole = "expected a whole number";
  const std::vector<BadBody> cases = {
      {"unknown field", R"({"colour":"red"})", Code::kBadRequest,
       "unknown field 'colour'"},
      {"slug cannot be patched", R"({"slug":"new"})", Code::kBadRequest,
       "unknown field 'slug'"},
      {"target number", R"({"target":1})", Code::kBadRequest,
       "target: expected a string"},
      {"target null", R"({"target":null})", Code::kBadRequest,
       "target: expected a string"},
      {"title null", R"({"title":null})", Code::kBadRequest,
       "title: expected a string"},
      {"note array", R"({"note":["x"]})", Code::kBadRequest,
       "note: expected a string"},
      {"tags string", R"({"tags":"a"})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"tags with a number", R"({"tags":["a",2]})", Code::kBadRequest,
       "tags: expected an array of strings"},
      {"status string", R"({"status":"302"})", Code::kBadRequest,
       "status: " + whole},
      {"status null", R"({"status":null})", Code::kBadRequest,
       "status: " + whole},
      {"status 1000", R"({"status":1000})", Code::kInvalidArgument,
       "status: use 301"},
      {"max_visits float", R"({"max_visits":2.5})", Code::kBadRequest,
       "max_visits: " + whole},
      {"max_visits string", R"({"max_visits":"2"})", Code::kBadRequest,
       "max_visits: " + whole},
      {"max_visits 1e30", R"({"max_visits":1e30})", Code::kBadRequest,
       "max_visits: " + whole},
      {"max_visits 2^64", R"({"max_visits":18446744073709551616})",
       Code::kBadRequest, "max_visits: " + whole},
      {"disabled string", R"({"disabled":"true"})", Code::kBadRequest,
       "disabled: expected true or false"},
      {"disabled number", R"({"disabled":1})", Code::kBadRequest,
       "disabled: expected true or false"},
      {"disabled null", R"({"disabled":null})", Code::kBadRequest,
       "disabled: expected true or false"},
      {"expires_at number", R"({"expires_at":0})", Code::kBadRequest,
       "expires_at: expected a time"},
      {"expires_at words", R"({"expires_at":"tomorrow"})",
       Code::kInvalidArgument, "expires_at: time: 'tomorrow'"},
      {"expires_at 'NOW' is not 'now'", R"({"expires_at":"NOW"})",
       Code::kInvalidArgument, "expires_at: time: 'NOW'"},
  };
  for (const BadBody& c : cases) {
    INFO("case: ", std::string(c.name));
    Result<LinkPatch> r = ParseLinkPatch(c.body, kNow);
    INFO("message: ", r.status().message());
    CheckRefused(r.status(), c);
  }
}

TEST_CASE("ParseLinkInput reads every field of a good body") {
  Result<LinkInput> r = ParseLinkInput(R"({
      "target": "https://example.com/a?b=c",
      "slug": "my-link",
      "title": "Caf\u00e9 \u2615",
      "note": "line one\nline two",
      "tags": ["b", "a", "b"],
      "status": 301,
      "expires_at": "7d",
      "max_visits": 10
    })",
                                       kNow);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->target == "https://example.com/a?b=c");
  REQUIRE(r->slug.has_value());
  CHECK(*r->slug == "my-link");
  CHECK(r->title == "Caf\xc3\xa9 \xe2\x98\x95");
  CHECK(r->note == "line one\nline two");
  // Sorting and de-duplication are the service's job, not the parser's.
  CHECK(r->tags == std::vector<std::string>{"b", "a", "b"});
  CHECK(r->status == std::optional<int>(301));
  CHECK(r->expires_at == std::optional<UnixTime>(kNow + 7 * kSecondsPerDay));
  CHECK(r->max_visits == std::optional<int64_t>(10));
}

TEST_CASE("ParseLinkInput: absent and null optional fields take defaults") {
  for (const char* body :
       {R"({"target":"https://example.com/"})",
        R"({"target":"https://example.com/","slug":null,"status":null,)"
        R"("expires_at":null,"max_visits":null})"}) {
    INFO(std::string(body));
    Result<LinkInput> r = ParseLinkInput(body, kNow);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->target == "https://example.com/");
    CHECK_FALSE(r->slug.has_value());
    CHECK(r->title.empty());
    CHECK(r->note.empty());
    CHECK(r->tags.empty());
    CHECK_FALSE(r->status.has_value());
    CHECK_FALSE(r->expires_at.has_value());
    CHECK_FALSE(r->max_visits.has_value());
  }
}

TEST_CASE("ParseLinkInput: values the parser passes on for the rules") {
  // Range checks beyond the JSON types belong to LinkService and
  // NormalizeTarget; the parser hands these values on unchanged.
  SUBCASE("an escaped NUL inside the target") {
    Result<LinkInput> r =
        ParseLinkInput(R"({"target":"https://example.com/\u0000x"})", kNow);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->target == std::string("https://example.com/\0x", 22));
    CHECK(r->target.size() == 22);
  }
  SUBCASE("an escaped line break inside the title") {
    Result<LinkInput> r = ParseLinkInput(
        R"({"target":"https://example.com/","title":"a\r\nb"})", kNow);
    REQUIRE(r.ok());
    CHECK(r->title == "a\r\nb");
  }
  SUBCASE("largest int64 max_visits") {
    Result<LinkInput> r = ParseLinkInput(
        R"({"target":"x","max_visits":9223372036854775807})", kNow);
    REQUIRE(r.ok());
    CHECK(r->max_visits == std::optional<int64_t>(INT64_MAX));
  }
  SUBCASE("negative and zero max_visits") {
    Result<LinkInput> r =
        ParseLinkInput(R"({"target":"x","max_visits":-5})", kNow);
    REQUIRE(r.ok());
    CHECK(r->max_visits == std::optional<int64_t>(-5));
    r = ParseLinkInput(R"({"target":"x","max_visits":0})", kNow);
    REQUIRE(r.ok());
    CHECK(r->max_visits == std::optional<int64_t>(0));
  }
  SUBCASE("a status that is no redirect") {
    Result<LinkInput> r =
        ParseLinkInput(R"({"target":"x","status":200})", kNow);
    REQUIRE(r.ok());
    CHECK(r->status == std::optional<int>(200));
  }
  SUBCASE("an expiry in the past") {
    Result<LinkInput> r =
        ParseLinkInput(R"({"target":"x","expires_at":"2000-01-01"})", kNow);
    REQUIRE(r.ok());
    CHECK(r->expires_at == std::optional<UnixTime>(946'684'800));
  }
  SUBCASE("an invalid slug and an empty target") {
    Result<LinkInput> r =
        ParseLinkInput(R"({"target":"","slug":"-../x"})", kNow);
    REQUIRE(r.ok());
    CHECK(r->target.empty());
    CHECK(r->slug == std::optional<std::string>("-../x"));
  }
}

TEST_CASE("ParseLinkInput and ParseLinkPatch: expires_at forms") {
  struct Case {
    const char* text;
    UnixTime want;
  };
  const Case cases[] = {
      {"7d", kNow + 7 * kSecondsPerDay},
      {"36h", kNow + 36 * 3600},
      {"1h30m", kNow + 5400},
      {"2w", kNow + 14 * kSecondsPerDay},
      {"now", kNow},
      {"2030-01-01", kJan2030},
      {"2030-01-01T00:00:00Z", kJan2030},
      {"2030-01-01T01:00:00+01:00", kJan2030},
      {"2029-12-31T19:00:00-05:00", kJan2030},
      {"2030-01-01T00:00:00.999Z", kJan2030},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    const std::string field = std::string(R"("expires_at":")") + c.text + "\"";
    Result<LinkInput> in =
        ParseLinkInput(R"({"target":"x",)" + field + "}", kNow);
    INFO(in.status().message());
    REQUIRE(in.ok());
    CHECK(in->expires_at == std::optional<UnixTime>(c.want));

    Result<LinkPatch> patch = ParseLinkPatch("{" + field + "}", kNow);
    INFO(patch.status().message());
    REQUIRE(patch.ok());
    REQUIRE(patch->expires_at.has_value());
    CHECK(*patch->expires_at == std::optional<UnixTime>(c.want));
  }
  // Relative forms are measured from the `now` given, not the wall clock.
  Result<LinkInput> later =
      ParseLinkInput(R"({"target":"x","expires_at":"1d"})", 1000);
  REQUIRE(later.ok());
  CHECK(later->expires_at == std::optional<UnixTime>(1000 + kSecondsPerDay));
}

TEST_CASE("ParseLinkPatch: only the fields present are set") {
  SUBCASE("empty object is an empty patch") {
    Result<LinkPatch> p = ParseLinkPatch("{}", kNow);
    REQUIRE(p.ok());
    CHECK(p->empty());
  }
  SUBCASE("every field") {
    Result<LinkPatch> p = ParseLinkPatch(R"({
        "target": "https://example.org/",
        "title": "",
        "note": "n",
        "tags": [],
        "status": 308,
        "expires_at": "2030-01-01",
        "max_visits": 5,
        "disabled": true
      })",
                                         kNow);
    INFO(p.status().message());
    REQUIRE(p.ok());
    CHECK(p->target == std::optional<std::string>("https://example.org/"));
    CHECK(p->title == std::optional<std::string>(""));
    CHECK(p->note == std::optional<std::string>("n"));
    REQUIRE(p->tags.has_value());
    CHECK(p->tags->empty());
    CHECK(p->status == std::optional<int>(308));
    REQUIRE(p->expires_at.has_value());
    CHECK(*p->expires_at == std::optional<UnixTime>(kJan2030));
    REQUIRE(p->max_visits.has_value());
    CHECK(*p->max_visits == std::optional<int64_t>(5));
    CHECK(p->disabled == std::optional<bool>(true));
  }
  SUBCASE("one field leaves the others unset") {
    Result<LinkPatch> p = ParseLinkPatch(R"({"disabled":false})", kNow);
    REQUIRE(p.ok());
    CHECK_FALSE(p->empty());
    CHECK(p->disabled == std::optional<bool>(false));
    CHECK_FALSE(p->target.has_value());
    CHECK_FALSE(p->title.has_value());
    CHECK_FALSE(p->note.has_value());
    CHECK_FALSE(p->tags.has_value());
    CHECK_FALSE(p->status.has_value());
    CHECK_FALSE(p->expires_at.has_value());
    CHECK_FALSE(p->max_visits.has_value());
  }
  SUBCASE("null clears expires_at: engaged, holding nothing") {
    Result<LinkPatch> p = ParseLinkPatch(R"({"expires_at":null})", kNow);
    REQUIRE(p.ok());
    REQUIRE(p->expires_at.has_value());
    CHECK_FALSE(p->expires_at->has_value());
    CHECK_FALSE(p->max_visits.has_value());
    CHECK_FALSE(p->empty());
  }
  SUBCASE("null clears max_visits: engaged, holding nothing") {
    Result<LinkPatch> p = ParseLinkPatch(R"({"max_visits":null})", kNow);
    REQUIRE(p.ok());
    REQUIRE(p->max_visits.has_value());
    CHECK_FALSE(p->max_visits->has_value());
    CHECK_FALSE(p->expires_at.has_value());
    CHECK_FALSE(p->empty());
  }
  SUBCASE("\"now\" expires at the given moment") {
    Result<LinkPatch> p = ParseLinkPatch(R"({"expires_at":"now"})", 12345);
    REQUIRE(p.ok());
    REQUIRE(p->expires_at.has_value());
    CHECK(*p->expires_at == std::optional<UnixTime>(12345));
  }
}

Link SampleLink() {
  Link link;
  link.slug = "Promo-1";
  link.target = "https://example.com/a?b=c";
  link.title = "Caf\xc3\xa9 \"quoted\"";
  link.note = "line one\nline two";
  link.tags = {"a", "b:c"};
  link.status = 308;
  link.created_at = kNow;
  link.updated_at = kNow + 60;
  link.created_by = "alice";
  link.expires_at = kJan2030;
  link.max_visits = 50;
  link.visits = 7;
  link.disabled = true;
  return link;
}

TEST_CASE("LinkToJson: field set and values") {
  const Link link = SampleLink();
  const json j =
      LinkToJson(link, "https://s.example/Promo-1", Verdict::kDisabled);
  REQUIRE(j.is_object());
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  CHECK(keys == std::set<std::string>{"slug", "target", "short_url", "status",
                                      "title", "note", "tags", "created_at",
                                      "updated_at", "created_by", "expires_at",
                                      "max_visits", "visits", "disabled",
                                      "password_protected", "state"});
  CHECK(j.at("slug") == "Promo-1");
  CHECK(j.at("target") == "https://example.com/a?b=c");
  CHECK(j.at("short_url") == "https://s.example/Promo-1");
  CHECK(j.at("status") == 308);
  CHECK(j.at("title") == "Caf\xc3\xa9 \"quoted\"");
  CHECK(j.at("note") == "line one\nline two");
  CHECK(j.at("tags") == json::array({"a", "b:c"}));
  CHECK(j.at("created_at") == "2023-11-14T22:13:20Z");
  CHECK(j.at("updated_at") == "2023-11-14T22:14:20Z");
  CHECK(j.at("created_by") == "alice");
  CHECK(j.at("expires_at") == "2030-01-01T00:00:00Z");
  CHECK(j.at("max_visits").is_number_integer());
  CHECK(j.at("max_visits") == 50);
  CHECK(j.at("visits") == 7);
  CHECK(j.at("disabled") == true);
  CHECK(j.at("password_protected") == false);
  CHECK(j.at("state") == "disabled");
}

TEST_CASE("LinkToJson: a password shows as a flag, never as its hash") {
  Link link = SampleLink();
  link.password_hash = "scrypt$15$8$1$c2FsdHNhbHRzYWx0c2FsdA==$secret-hash";
  const json j = LinkToJson(link, "u", Verdict::kRedirect);
  CHECK(j.at("password_protected") == true);
  CHECK(j.dump().find("scrypt") == std::string::npos);
  CHECK(j.dump().find("secret-hash") == std::string::npos);
  // Read back, a link knows no hash: the API never sends one.
  Result<Link> back = LinkFromJson(j);
  REQUIRE(back.ok());
  CHECK(back->password_hash.empty());
}

TEST_CASE("ParseLinkInput: password is plain text, or null for none") {
  Result<LinkInput> r = ParseLinkInput(
      R"({"target":"https://e.com/","password":"open sesame"})", kNow);
  REQUIRE(r.ok());
  CHECK(r->password == std::optional<std::string>("open sesame"));
  r = ParseLinkInput(R"({"target":"https://e.com/","password":null})", kNow);
  REQUIRE(r.ok());
  CHECK_FALSE(r->password.has_value());
  r = ParseLinkInput(R"({"target":"https://e.com/"})", kNow);
  REQUIRE(r.ok());
  CHECK_FALSE(r->password.has_value());
  for (const char* body : {R"({"target":"https://e.com/","password":12345678})",
                           R"({"target":"https://e.com/","password":["x"]})",
                           R"({"target":"https://e.com/","password":true})"}) {
    CAPTURE(body);
    r = ParseLinkInput(body, kNow);
    REQUIRE_FALSE(r.ok());
    CHECK(CodeOf(r.status()) == "bad_request");
    CHECK(r.status().message().rfind("password: ", 0) == 0);
  }
}

TEST_CASE("ParseLinkEdit: password sets, null removes, \"\" is refused") {
  Result<LinkEdit> e = ParseLinkEdit(R"({"password":"new password"})", kNow);
  REQUIRE(e.ok());
  CHECK(e->password == std::optional<std::string>("new password"));
  CHECK(e->patch.empty());
  CHECK_FALSE(e->empty());
  CHECK_FALSE(e->patch.password_hash.has_value());

  e = ParseLinkEdit(R"({"password":null,"title":"t"})", kNow);
  REQUIRE(e.ok());
  CHECK(e->password == std::optional<std::string>(""));
  CHECK(e->patch.title == std::optional<std::string>("t"));

  e = ParseLinkEdit(R"({"title":"t"})", kNow);
  REQUIRE(e.ok());
  CHECK_FALSE(e->password.has_value());

  e = ParseLinkEdit(R"({"password":""})", kNow);
  REQUIRE_FALSE(e.ok());
  CHECK(CodeOf(e.status()) == "invalid_argument");
  CHECK(e.status().message().rfind("password: ", 0) == 0);

  e = ParseLinkEdit(R"({"password":7})", kNow);
  REQUIRE_FALSE(e.ok());
  CHECK(CodeOf(e.status()) == "bad_request");
  // A hash cannot be sent in: there is no such field.
  e = ParseLinkEdit(R"({"password_hash":"scrypt$15$8$1$a$b"})", kNow);
  REQUIRE_FALSE(e.ok());
  CHECK(CodeOf(e.status()) == "bad_request");
}

TEST_CASE("LinkToJson: absent expiry and limit are null, not omitted") {
  Link link = SampleLink();
  link.expires_at.reset();
  link.max_visits.reset();
  link.tags.clear();
  const json j = LinkToJson(link, "u", Verdict::kRedirect);
  REQUIRE(j.contains("expires_at"));
  REQUIRE(j.contains("max_visits"));
  CHECK(j.at("expires_at").is_null());
  CHECK(j.at("max_visits").is_null());
  CHECK(j.at("tags").is_array());
  CHECK(j.at("tags").empty());
}

TEST_CASE("LinkToJson and StateName: state names") {
  struct Case {
    Verdict verdict;
    const char* name;
  };
  const Case cases[] = {{Verdict::kRedirect, "active"},
                        {Verdict::kExpired, "expired"},
                        {Verdict::kUsedUp, "used up"},
                        {Verdict::kDisabled, "disabled"}};
  for (const Case& c : cases) {
    INFO(std::string(c.name));
    CHECK(std::string(StateName(c.verdict)) == c.name);
    CHECK(LinkToJson(SampleLink(), "u", c.verdict)["state"] == c.name);
  }
}

void CheckSameLink(const Link& a, const Link& b) {
  CHECK(a.slug == b.slug);
  CHECK(a.target == b.target);
  CHECK(a.title == b.title);
  CHECK(a.note == b.note);
  CHECK(a.tags == b.tags);
  CHECK(a.status == b.status);
  CHECK(a.created_at == b.created_at);
  CHECK(a.updated_at == b.updated_at);
  CHECK(a.created_by == b.created_by);
  CHECK(a.expires_at == b.expires_at);
  CHECK(a.max_visits == b.max_visits);
  CHECK(a.visits == b.visits);
  CHECK(a.disabled == b.disabled);
}

TEST_CASE("LinkFromJson reads back what LinkToJson wrote") {
  Link with_all = SampleLink();
  Link with_none = SampleLink();
  with_none.expires_at.reset();
  with_none.max_visits.reset();
  with_none.tags.clear();
  with_none.title.clear();
  with_none.note.clear();
  with_none.disabled = false;
  with_none.visits = 0;
  Link negative_time = SampleLink();
  negative_time.created_at = -86400;  // before the epoch
  negative_time.expires_at = 0;
  for (const Link& link : {with_all, with_none, negative_time}) {
    INFO(link.created_at, " ", link.expires_at.has_value());
    const json j = LinkToJson(link, "https://s.example/x", Verdict::kRedirect);
    Result<Link> direct = LinkFromJson(j);
    INFO(direct.status().message());
    REQUIRE(direct.ok());
    CheckSameLink(*direct, link);
    // And through the text the API actually sends.
    Result<Link> via_text = LinkFromJson(json::parse(j.dump()));
    REQUIRE(via_text.ok());
    CheckSameLink(*via_text, link);
  }
}

TEST_CASE("LinkFromJson refuses malformed links without throwing") {
  const json good = LinkToJson(SampleLink(), "u", Verdict::kRedirect);
  auto with = [&](const char* field, json value) {
    json j = good;
    j[field] = std::move(value);
    return j;
  };
  auto without = [&](const char* field) {
    json j = good;
    j.erase(field);
    return j;
  };
  struct Case {
    const char* name;
    json j;
  };
  const std::vector<Case> cases = {
      {"array", json::array({1, 2})},
      {"string", json("slug")},
      {"null", json(nullptr)},
      {"missing slug", without("slug")},
      {"missing target", without("target")},
      {"slug number", with("slug", 5)},
      {"target null", with("target", nullptr)},
      {"title number", with("title", 1)},
      {"tags string", with("tags", "a")},
      {"tags with a number", with("tags", json::array({"a", 1}))},
      {"status string", with("status", "302")},
      {"visits string", with("visits", "7")},
      {"disabled string", with("disabled", "yes")},
      {"expires_at number", with("expires_at", 5)},
      {"max_visits string", with("max_visits", "5")},
  };
  for (const Case& c : cases) {
    INFO("case: ", std::string(c.name));
    Result<Link> r = Status::Internal("not run");
    CHECK_NOTHROW(r = LinkFromJson(c.j));
    CHECK(CodeOf(r.status()) == "bad_request");
  }
}

TEST_CASE("ErrorBody: the documented shape") {
  const std::string body = ErrorBody(Status::NotFound("link 'abc' not found"));
  const json j = json::parse(body);
  CHECK(j ==
        json{{"error",
              {{"code", "not_found"}, {"message", "link 'abc' not found"}}}});
}

TEST_CASE("ErrorBody and StatusFromErrorBody round trip every code") {
  const Code codes[] = {
      Code::kInvalidArgument, Code::kBadRequest, Code::kNotFound,
      Code::kAlreadyExists,   Code::kGone,       Code::kUnauthorized,
      Code::kForbidden,       Code::kTooLarge,   Code::kUnavailable,
      Code::kIOError,         Code::kCorruption, Code::kInternal};
  const std::string message =
      "field \"x\": caf\xc3\xa9\nsecond line\t\\ {braces}";
  for (Code code : codes) {
    INFO(std::string(CodeName(code)));
    const std::string body = ErrorBody(Status(code, message));
    // The body's code wins over the HTTP status, whatever that is.
    for (int http : {200, 400, 404, 500}) {
      const Status back = StatusFromErrorBody(http, body);
      CHECK(CodeOf(back) == std::string(CodeName(code)));
      CHECK(back.message() == message);
    }
  }
}

TEST_CASE("StatusFromErrorBody falls back on the HTTP status") {
  struct Case {
    int http;
    std::string body;
    Code code;
  };
  const std::vector<Case> cases = {
      {400, "<html>Bad Request</html>", Code::kBadRequest},
      {401, "", Code::kUnauthorized},
      {403, "Forbidden", Code::kForbidden},
      {404, "not json {", Code::kNotFound},
      {409, "[]", Code::kAlreadyExists},
      {410, "\"gone\"", Code::kGone},
      {413, "<h1>413</h1>", Code::kTooLarge},
      {422, "null", Code::kInvalidArgument},
      {503, "upstream down", Code::kUnavailable},
      {500, "Internal Server Error", Code::kInternal},
      {502, "<html>Bad Gateway</html>", Code::kInternal},
      {200, "OK", Code::kInternal},
      // JSON, but not our error shape.
      {404, R"({"message":"no route"})", Code::kNotFound},
      {403, R"({"error":"denied"})", Code::kForbidden},
      {401, R"({"error":null})", Code::kUnauthorized},
      {409, R"({"error":{}})", Code::kAlreadyExists},
      {400, R"({"error":{"code":"ok","message":"x"}})", Code::kBadRequest},
      {413, R"({"error":{"code":"teapot","message":"x"}})", Code::kTooLarge},
      {500, R"({"error":{"code":"NOT_FOUND","message":"x"}})", Code::kInternal},
      // Invalid UTF-8 in a body that is otherwise ours.
      {503, "{\"error\":{\"code\":\"gone\",\"message\":\"\xff\"}}",
       Code::kUnavailable},
  };
  for (const Case& c : cases) {
    INFO(c.http, " ", c.body);
    const Status s = StatusFromErrorBody(c.http, c.body);
    CHECK(CodeOf(s) == std::string(CodeName(c.code)));
    CHECK_FALSE(s.message().empty());
  }
  CHECK(StatusFromErrorBody(502, "x").message().find("502") !=
        std::string::npos);
}

TEST_CASE("StatusFromErrorBody: mistyped fields of an error body") {
  // A proxy or another server may send {"error": {...}} with other types;
  // the CLI must get a Status, not an exception.
  struct Case {
    int http;
    std::string body;
    Code code;
  };
  const std::vector<Case> cases = {
      {404, R"({"error":{"code":404,"message":"x"}})", Code::kNotFound},
      {403, R"({"error":{"code":null}})", Code::kForbidden},
      // A code of ours keeps its code when only the message is mistyped.
      {410, R"({"error":{"code":"not_found","message":5}})", Code::kNotFound},
      {500, R"({"error":{"code":["gone"],"message":"x"}})", Code::kInternal},
  };
  for (const Case& c : cases) {
    INFO(c.http, " ", c.body);
    Status s = Status::Ok();
    CHECK_NOTHROW(s = StatusFromErrorBody(c.http, c.body));
    CHECK(CodeOf(s) == std::string(CodeName(c.code)));
  }
}

TEST_CASE("ErrorBody: a message with invalid UTF-8 still makes a body") {
  // Messages can carry bytes from outside (a database path, a store
  // error); the error body must still be sent, with the code intact.
  const Status status =
      Status::IOError("cannot open /srv/\xff\xfe/links.db: denied");
  std::string body;
  CHECK_NOTHROW(body = ErrorBody(status));
  const Status back = StatusFromErrorBody(500, body);
  CHECK(CodeOf(back) == "io_error");
  CHECK(back.message().rfind("cannot open /srv/", 0) == 0);
}

}  // namespace
}  // namespace shorty
