#include "shared/slug.h"

#include <cstdint>
#include <cstdio>

namespace shorty {

// Upper and lower case mirror each other (23 letters each) so that the
// case-folded key of a generated slug never holds a look-alike either: 'L'
// is dropped with 'l', because a person retyping "L" in lower case (lookup is
// case-insensitive) writes an 'l' that reads as '1' or 'I'.
const std::string_view kSlugAlphabet =
    "ABCDEFGHJKMNPQRSTUVWXYZ"
    "abcdefghjkmnpqrstuvwxyz"
    "23456789";

namespace {

// Beyond this, lengthening no longer helps: 54^32 slugs cannot all be taken,
// so persistent collisions point at a broken random source, not a full space.
constexpr size_t kMaxGeneratedSlugLength = 32;

// A single create that needed this many retries is evidence enough.
constexpr int kCollisionsForOneCreate = 3;

// Over this many creates, more than kWindowCollidedCreates that collided at
// all (10%) means the space is filling up.
constexpr int kWindowCreates = 100;
constexpr int kWindowCollidedCreates = 10;

bool IsAsciiAlnum(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

// The character at slug[pos] as it can be shown safely in a message: itself
// when printable ASCII, else \xNN escapes (a whole UTF-8 sequence at once, so
// "é" shows as \xC3\xA9 rather than half a character).
std::string ShowChar(std::string_view slug, size_t pos) {
  unsigned char c = static_cast<unsigned char>(slug[pos]);
  if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
  size_t end = pos + 1;
  if (c >= 0xC0) {
    while (end < slug.size() && end - pos < 4 &&
           (static_cast<unsigned char>(slug[end]) & 0xC0) == 0x80) {
      ++end;
    }
  }
  std::string out;
  for (size_t i = pos; i < end; ++i) {
    char buf[5];
    std::snprintf(buf, sizeof(buf), "\\x%02X",
                  static_cast<unsigned char>(slug[i]));
    out += buf;
  }
  return out;
}

}  // namespace

std::string GenerateSlug(RandomSource& random, size_t length) {
  // Bytes at or above the largest multiple of the alphabet size would make
  // the first symbols more likely than the rest; they are thrown away.
  const unsigned limit = 256u / static_cast<unsigned>(kSlugAlphabet.size()) *
                         static_cast<unsigned>(kSlugAlphabet.size());
  std::string slug;
  slug.reserve(length);
  uint8_t buf[64];
  while (slug.size() < length) {
    // Ask for a little more than needed: about 16% of bytes are rejected.
    size_t want = (length - slug.size()) * 5 / 4 + 1;
    if (want > sizeof(buf)) want = sizeof(buf);
    random.Fill(buf, want);
    for (size_t i = 0; i < want && slug.size() < length; ++i) {
      if (buf[i] >= limit) continue;
      slug += kSlugAlphabet[buf[i] % kSlugAlphabet.size()];
    }
  }
  return slug;
}

Status ValidateCustomSlug(std::string_view slug) {
  if (slug.empty()) return Status::InvalidArgument("slug: must not be empty");
  if (slug.size() > kMaxSlugLength) {
    return Status::InvalidArgument(
        "slug: longer than " + std::to_string(kMaxSlugLength) + " characters");
  }
  // The first character matters beyond taste: "-" would shadow the /-/
  // paths, and "+" or "." would read as the preview suffix or a file.
  if (!IsAsciiAlnum(static_cast<unsigned char>(slug[0]))) {
    return Status::InvalidArgument(
        "slug: must start with a letter or digit, not '" + ShowChar(slug, 0) +
        "'");
  }
  for (size_t i = 1; i < slug.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(slug[i]);
    if (IsAsciiAlnum(c) || c == '-' || c == '_') continue;
    std::string what = c >= 0x80 ? "non-ASCII character '" : "'";
    return Status::InvalidArgument("slug: " + what + ShowChar(slug, i) +
                                   "' is not allowed; use letters, digits, "
                                   "'-' and '_'");
  }
  return Status::Ok();
}

std::string SlugKey(std::string_view slug, bool case_sensitive) {
  std::string key(slug);
  if (case_sensitive) return key;
  // ASCII only: custom slugs are ASCII, and locale-dependent folding would
  // make two servers disagree about which slugs are the same.
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

SlugLengthPolicy::SlugLengthPolicy(size_t initial)
    : length_(initial == 0 ? kDefaultSlugLength : initial) {}

void SlugLengthPolicy::Record(int collisions) {
  bool lengthen = collisions >= kCollisionsForOneCreate;
  if (!lengthen) {
    ++creates_;
    if (collisions > 0) ++collisions_;
    // Lengthen as soon as the window is certain to exceed 10%, rather than
    // waiting out the remaining creates with ever more retries.
    lengthen = collisions_ > kWindowCollidedCreates;
    if (!lengthen && creates_ >= kWindowCreates) {
      creates_ = 0;
      collisions_ = 0;
    }
  }
  if (lengthen) {
    if (length_ < kMaxGeneratedSlugLength) ++length_;
    // The old window measured the shorter length; it says nothing about
    // the new one.
    creates_ = 0;
    collisions_ = 0;
  }
}

}  // namespace shorty
