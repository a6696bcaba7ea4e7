// Slugs: generating random ones, validating custom ones, and the folded key
// that uniqueness and lookup use. Pure functions; randomness comes in.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "shared/random.h"
#include "shared/status.h"

namespace shorty {

// Letters and digits without look-alikes: no 0/O/o, 1/l/I/i, and no L
// either, so upper and lower case mirror each other and a case-folded
// generated slug holds no look-alike. 54 symbols.
extern const std::string_view kSlugAlphabet;

constexpr size_t kDefaultSlugLength = 6;
constexpr size_t kMaxSlugLength = 64;

// A slug of `length` symbols drawn uniformly from kSlugAlphabet (rejection
// sampling, no modulo bias). Thread-safe if `random` is.
std::string GenerateSlug(RandomSource& random, size_t length);

// OK when `slug` may be used as a custom slug:
// [A-Za-z0-9][A-Za-z0-9_-]{0,63}. Otherwise InvalidArgument with a message
// that names the rule broken, starting "slug: ".
Status ValidateCustomSlug(std::string_view slug);

// The key uniqueness and lookup use: ASCII-lower-cased unless case_sensitive.
std::string SlugKey(std::string_view slug, bool case_sensitive);

// Picks the length for generated slugs and lengthens it by one (up to 32)
// when collisions grow common, so creation never degrades into long retry
// loops as the space fills: when one create needed 3 or more retries, or
// when more than 10 of a window of 100 creates collided at all. The window
// starts afresh after each lengthening. Not thread-safe: guard it with the
// caller's lock.
class SlugLengthPolicy {
 public:
  explicit SlugLengthPolicy(size_t initial = kDefaultSlugLength);
  size_t length() const { return length_; }
  // Reports one create: how many generated slugs collided before one was free.
  void Record(int collisions);

 private:
  size_t length_;
  int creates_ = 0;     // in the current window
  int collisions_ = 0;  // creates in the current window that collided
};

}  // namespace shorty
