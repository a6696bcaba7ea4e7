// Token-bucket rate limits keyed by client address or token name: how shorty
// slows floods of creates, sign-ins, password guesses and 404s. Pure of
// I/O; the time comes in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace shorty {

// `per_minute` tokens refill a bucket of `burst`; 0 per minute = no limit.
struct RateLimit {
  double per_minute = 0;
  double burst = 0;
};

// Thread-safe: keys are spread over shards with a lock each, so callers
// with different keys rarely meet.
class RateLimiter {
 public:
  // At most `max_keys` buckets are kept; past that, full buckets (which
  // are the same as absent ones) are dropped first, then the fullest.
  explicit RateLimiter(RateLimit limit, size_t max_keys = 100000);

  // Takes one token from `key`'s bucket at `now_ms`. 0 when allowed; else
  // the whole seconds until a token is back (for Retry-After), at least 1.
  int64_t Take(std::string_view key, int64_t now_ms);

  // Like Take, without taking: 0 when a token is there now.
  int64_t Check(std::string_view key, int64_t now_ms);

  bool enabled() const { return limit_.per_minute > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };

  int64_t Use(std::string_view key, int64_t now_ms, bool take);
  void Refill(Bucket* b, int64_t now_ms) const;
  void Evict(Shard* shard, int64_t now_ms);

  RateLimit limit_;
  size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace shorty
