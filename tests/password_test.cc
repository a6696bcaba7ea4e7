// Link passwords: scrypt hashes in their stored form, checked in constant
// time, and refused when malformed or out of bounds.
#include "shared/password.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace shorty {
namespace {

// The same bytes every time, so a hash is reproducible.
class FixedRandom : public RandomSource {
 public:
  explicit FixedRandom(uint8_t byte) : byte_(byte) {}
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) buf[i] = byte_;
  }

 private:
  uint8_t byte_;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::string MustHash(const std::string& password, uint8_t salt_byte = 7) {
  FixedRandom random(salt_byte);
  Result<std::string> hash = HashPassword(password, random);
  INFO(hash.status().message());
  REQUIRE(hash.ok());
  return *hash;
}

TEST_CASE("HashPassword: the stored form") {
  std::string hash = MustHash("correct horse");
  std::vector<std::string> parts = Split(hash, '$');
  REQUIRE(parts.size() == 6);
  CHECK(parts[0] == "scrypt");
  CHECK(parts[1] == "15");
  CHECK(parts[2] == "8");
  CHECK(parts[3] == "1");
  // 16 bytes of salt, 32 of key, in padded base64.
  CHECK(parts[4] == "BwcHBwcHBwcHBwcHBwcHBw==");
  CHECK(parts[5].size() == 44);
  CHECK(hash.find("correct horse") == std::string::npos);
  CHECK(IsPasswordHash(hash));
  // The same password and salt give the same hash; another salt another.
  CHECK(MustHash("correct horse") == hash);
  CHECK(MustHash("correct horse", 8) != hash);
}

TEST_CASE("HashPassword: a known scrypt vector") {
  // Computed independently with Python's hashlib.scrypt(b"password",
  // salt=bytes(16), n=2**15, r=8, p=1, dklen=32), so a change of
  // parameters or encoding shows.
  std::string hash = MustHash("password", 0);
  CHECK(hash ==
        "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
        "ghw4Sj8jKk1B9MaO1ArrW4oWvqg20qo8aXQA7Siiw4I=");
  CHECK(VerifyPassword("password", hash));
}

TEST_CASE("VerifyPassword: right, wrong and nearly right") {
  std::string hash = MustHash("open sesame 1");
  CHECK(VerifyPassword("open sesame 1", hash));
  CHECK_FALSE(VerifyPassword("open sesame 2", hash));
  CHECK_FALSE(VerifyPassword("open sesame", hash));
  CHECK_FALSE(VerifyPassword("open sesame 1 ", hash));
  CHECK_FALSE(VerifyPassword("OPEN SESAME 1", hash));
  CHECK_FALSE(VerifyPassword("", hash));
  CHECK_FALSE(VerifyPassword(std::string(2000, 'x'), hash));
}

TEST_CASE("HashPassword: any bytes, 8 to 1024 of them") {
  std::string binary("\x00\xff\x01 \n\t\xc3\xa9x", 9);
  CHECK(VerifyPassword(binary, MustHash(binary)));
  std::string longest(1024, 'z');
  CHECK(VerifyPassword(longest, MustHash(longest)));

  FixedRandom random(1);
  struct Case {
    std::string password;
    const char* message;
  };
  for (const Case& c :
       {Case{"", "password: shorter than 8 bytes"},
        Case{"1234567", "password: shorter than 8 bytes"},
        Case{std::string(1025, 'z'), "password: longer than 1024 bytes"}}) {
    CAPTURE(c.password.size());
    Result<std::string> hash = HashPassword(c.password, random);
    REQUIRE_FALSE(hash.ok());
    CHECK(hash.status().code() == Code::kInvalidArgument);
    CHECK(hash.status().message().rfind(c.message, 0) == 0);
    CHECK(ValidatePassword(c.password).code() == Code::kInvalidArgument);
  }
  CHECK(ValidatePassword("12345678").ok());
}

TEST_CASE("VerifyPassword: malformed or out-of-bounds hashes never match") {
  const std::string good = MustHash("the password");
  std::vector<std::string> p = Split(good, '$');
  auto join = [](const std::vector<std::string>& parts) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      out += (i ? "$" : "") + parts[i];
    }
    return out;
  };
  auto with = [&](size_t i, const std::string& value) {
    std::vector<std::string> q = p;
    q[i] = value;
    return join(q);
  };
  const std::vector<std::string> bad = {
      "",
      "scrypt",
      "plain$the password",
      with(0, "bcrypt"),
      with(1, "16"),   // costlier than this build makes
      with(1, "30"),   // a denial of service if it were honoured
      with(1, "9"),    // too cheap
      with(1, "015"),  // not canonical
      with(1, "x"),
      with(2, "9"),
      with(2, "0"),
      with(3, "2"),
      with(3, "0"),
      with(4, ""),
      with(4, "AAAA"),  // salt too short
      with(4, "not base64"),
      with(4, p[4] + "="),
      with(5, p[5].substr(4)),  // key too short
      with(5, "A" + p[5].substr(1, 42) + "=="),
      good + "$",
      good + "$extra",
      "$" + good,
  };
  for (const std::string& stored : bad) {
    CAPTURE(stored);
    CHECK_FALSE(IsPasswordHash(stored));
    CHECK_FALSE(VerifyPassword("the password", stored));
  }
  CHECK(VerifyPassword("the password", good));
}

}  // namespace
}  // namespace shorty
