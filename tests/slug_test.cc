#include "shared/slug.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace shorty {
namespace {

// Bytes 0, 1, ..., 255, 0, 1, ...: every byte value equally often, so the
// symbols drawn from a whole number of cycles must be exactly uniform.
class CounterRandom : public RandomSource {
 public:
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) buf[i] = next_++;
  }

 private:
  uint8_t next_ = 0;
};

// Deterministic but well mixed (xorshift64), for statistical checks.
class XorshiftRandom : public RandomSource {
 public:
  explicit XorshiftRandom(uint64_t seed) : state_(seed) {}
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      buf[i] = static_cast<uint8_t>(state_ >> 24);
    }
  }

 private:
  uint64_t state_;
};

// Plays back a script of bytes, then zeros.
class ScriptedRandom : public RandomSource {
 public:
  explicit ScriptedRandom(std::vector<uint8_t> bytes)
      : bytes_(std::move(bytes)) {}
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      buf[i] = pos_ < bytes_.size() ? bytes_[pos_++] : 0;
    }
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

TEST_CASE("slug alphabet: 54 distinct letters and digits, no look-alikes") {
  CHECK(kSlugAlphabet.size() == 54);
  std::set<char> seen(kSlugAlphabet.begin(), kSlugAlphabet.end());
  CHECK(seen.size() == kSlugAlphabet.size());
  for (char c : kSlugAlphabet) {
    CAPTURE(c);
    CHECK(((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9')));
  }
  for (char c : std::string("0Oo1lIiL")) {
    CAPTURE(c);
    CHECK(kSlugAlphabet.find(c) == std::string_view::npos);
  }
}

TEST_CASE("GenerateSlug honours the length") {
  XorshiftRandom random(42);
  for (size_t length : {0, 1, 6, 7, 32, 64, 200}) {
    CAPTURE(length);
    std::string slug = GenerateSlug(random, length);
    CHECK(slug.size() == length);
    for (char c : slug) CHECK(kSlugAlphabet.find(c) != std::string_view::npos);
    if (length > 0 && length <= kMaxSlugLength) {
      CHECK(ValidateCustomSlug(slug).ok());
    }
  }
}

TEST_CASE("GenerateSlug rejects bytes that would bias the draw") {
  // 216 = 4 * 54 is the first byte rejected; a modulo draw would map it,
  // 255 and 230 to symbols and favour the start of the alphabet.
  ScriptedRandom random({216, 255, 230, 53, 0, 54, 215});
  std::string expected = {kSlugAlphabet[53], kSlugAlphabet[0], kSlugAlphabet[0],
                          kSlugAlphabet[53]};
  CHECK(GenerateSlug(random, 4) == expected);
}

TEST_CASE("GenerateSlug is exactly uniform over whole byte cycles") {
  CounterRandom random;
  // 256 bytes yield 216 symbols, each of the 54 four times.
  std::string slug = GenerateSlug(random, 216 * 10);
  std::map<char, int> counts;
  for (char c : slug) ++counts[c];
  CHECK(counts.size() == kSlugAlphabet.size());
  for (const auto& [symbol, count] : counts) {
    CAPTURE(symbol);
    CHECK(count == 40);
  }
}

TEST_CASE("GenerateSlug is roughly uniform with a mixed source") {
  XorshiftRandom random(0x9E3779B97F4A7C15ull);
  std::map<char, int> counts;
  const int per_symbol = 2000;
  for (int i = 0; i < per_symbol * 54 / 6; ++i) {
    for (char c : GenerateSlug(random, 6)) ++counts[c];
  }
  CHECK(counts.size() == kSlugAlphabet.size());
  for (const auto& [symbol, count] : counts) {
    CAPTURE(symbol);
    CHECK(count > per_symbol * 85 / 100);
    CHECK(count < per_symbol * 115 / 100);
  }
}

TEST_CASE("GenerateSlug does not repeat itself") {
  XorshiftRandom random(7);
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) seen.insert(GenerateSlug(random, 6));
  CHECK(seen.size() == 5000);
}

TEST_CASE("ValidateCustomSlug") {
  struct Case {
    std::string slug;
    const char* error;  // nullptr when valid
  };
  const std::string max(64, 'a');
  const Case cases[] = {
      {"a", nullptr},
      {"Z", nullptr},
      {"7", nullptr},
      {"wiki", nullptr},
      {"pr-1234", nullptr},
      {"team_notes", nullptr},
      {"a-", nullptr},
      {"a_", nullptr},
      {"A-b_C-9", nullptr},
      {max, nullptr},
      {"", "slug: must not be empty"},
      {max + "b", "slug: longer than 64 characters"},
      {"-abc", "slug: must start with a letter or digit, not '-'"},
      {"_abc", "slug: must start with a letter or digit, not '_'"},
      {".well-known", "slug: must start with a letter or digit, not '.'"},
      {"/x", "slug: must start with a letter or digit, not '/'"},
      {"\xC3\xA9t\xC3\xA9",
       "slug: must start with a letter or digit, not '\\xC3\\xA9'"},
      {"a.b", "slug: '.' is not allowed; use letters, digits, '-' and '_'"},
      {"a/b", "slug: '/' is not allowed; use letters, digits, '-' and '_'"},
      {"a%20", "slug: '%' is not allowed; use letters, digits, '-' and '_'"},
      {"wiki+", "slug: '+' is not allowed; use letters, digits, '-' and '_'"},
      {"a b", "slug: ' ' is not allowed; use letters, digits, '-' and '_'"},
      {"a\nb",
       "slug: '\\x0A' is not allowed; use letters, digits, '-' and '_'"},
      {std::string("a\0b", 3),
       "slug: '\\x00' is not allowed; use letters, digits, '-' and '_'"},
      {"caf\xC3\xA9",
       "slug: non-ASCII character '\\xC3\\xA9' is not allowed; use letters, "
       "digits, '-' and '_'"},
      {"a\xFF",
       "slug: non-ASCII character '\\xFF' is not allowed; use letters, "
       "digits, '-' and '_'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.slug);
    Status s = ValidateCustomSlug(c.slug);
    if (c.error == nullptr) {
      CHECK(s.ok());
    } else {
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(s.message() == c.error);
    }
  }
}

TEST_CASE("SlugKey folds ASCII case unless case-sensitive") {
  struct Case {
    const char* slug;
    bool case_sensitive;
    const char* key;
  };
  const Case cases[] = {
      {"Wiki", false, "wiki"},
      {"wiki", false, "wiki"},
      {"PR-12_X", false, "pr-12_x"},
      {"Wiki", true, "Wiki"},
      {"", false, ""},
      {"\xC3\x89t\xC3\xA9", false, "\xC3\x89t\xC3\xA9"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.slug);
    CAPTURE(c.case_sensitive);
    CHECK(SlugKey(c.slug, c.case_sensitive) == c.key);
  }
}

TEST_CASE("SlugLengthPolicy stays put without collisions") {
  SlugLengthPolicy policy;
  CHECK(policy.length() == kDefaultSlugLength);
  for (int i = 0; i < 1000; ++i) policy.Record(0);
  CHECK(policy.length() == kDefaultSlugLength);
  SlugLengthPolicy custom(9);
  CHECK(custom.length() == 9);
}

TEST_CASE("SlugLengthPolicy lengthens after one create with many collisions") {
  struct Case {
    int collisions;
    size_t length_after;
  };
  const Case cases[] = {{-1, 6}, {0, 6}, {1, 6}, {2, 6}, {3, 7}, {50, 7}};
  for (const Case& c : cases) {
    CAPTURE(c.collisions);
    SlugLengthPolicy policy;
    policy.Record(c.collisions);
    CHECK(policy.length() == c.length_after);
  }
}

TEST_CASE("SlugLengthPolicy lengthens when over 10% of a window collided") {
  SUBCASE("10 of 100 is tolerated, window after window") {
    SlugLengthPolicy policy;
    for (int window = 0; window < 5; ++window) {
      for (int i = 0; i < 100; ++i) policy.Record(i < 10 ? 1 : 0);
    }
    CHECK(policy.length() == 6);
  }
  SUBCASE("11 of 100 lengthens, as soon as the 11th collides") {
    SlugLengthPolicy policy;
    for (int i = 0; i < 10; ++i) policy.Record(2);
    CHECK(policy.length() == 6);
    policy.Record(1);
    CHECK(policy.length() == 7);
  }
  SUBCASE("the window starts afresh after lengthening") {
    SlugLengthPolicy policy;
    for (int i = 0; i < 11; ++i) policy.Record(1);
    CHECK(policy.length() == 7);
    for (int i = 0; i < 10; ++i) policy.Record(1);
    CHECK(policy.length() == 7);
    policy.Record(1);
    CHECK(policy.length() == 8);
  }
  SUBCASE("collisions spread thinly over many creates are tolerated") {
    SlugLengthPolicy policy;
    for (int i = 0; i < 10000; ++i) policy.Record(i % 20 == 0 ? 1 : 0);
    CHECK(policy.length() == 6);
  }
}

TEST_CASE("SlugLengthPolicy stops lengthening at 32") {
  SlugLengthPolicy policy;
  for (int i = 0; i < 100; ++i) policy.Record(5);
  CHECK(policy.length() == 32);
}

}  // namespace
}  // namespace shorty
