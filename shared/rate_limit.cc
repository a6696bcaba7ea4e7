#include "shared/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace shorty {

RateLimiter::RateLimiter(RateLimit limit, size_t max_keys)
    : limit_(limit), max_per_shard_(std::max<size_t>(1, max_keys / kShards)) {
  if (limit_.burst < 1) limit_.burst = std::max(1.0, limit_.per_minute);
}

void RateLimiter::Refill(Bucket* b, int64_t now_ms) const {
  if (now_ms > b->at_ms) {
    double gained =
        static_cast<double>(now_ms - b->at_ms) * limit_.per_minute / 60000.0;
    b->tokens = std::min(limit_.burst, b->tokens + gained);
  }
  b->at_ms = std::max(b->at_ms, now_ms);
}

void RateLimiter::Evict(Shard* shard, int64_t now_ms) {
  for (auto it = shard->buckets.begin(); it != shard->buckets.end();) {
    Refill(&it->second, now_ms);
    it = it->second.tokens >= limit_.burst ? shard->buckets.erase(it)
                                           : std::next(it);
  }
  // Still full: a flood of distinct keys. Forgetting the fullest buckets
  // costs the least accuracy.
  while (shard->buckets.size() >= max_per_shard_) {
    auto fullest =
        std::max_element(shard->buckets.begin(), shard->buckets.end(),
                         [](const auto& a, const auto& b) {
                           return a.second.tokens < b.second.tokens;
                         });
    shard->buckets.erase(fullest);
  }
}

int64_t RateLimiter::Use(std::string_view key, int64_t now_ms, bool take) {
  if (!enabled()) return 0;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) Evict(&shard, now_ms);
    it = shard.buckets.emplace(std::string(key), Bucket{limit_.burst, now_ms})
             .first;
  }
  Bucket& b = it->second;
  Refill(&b, now_ms);
  if (b.tokens >= 1) {
    if (take) b.tokens -= 1;
    return 0;
  }
  double wait_ms = (1 - b.tokens) * 60000.0 / limit_.per_minute;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000)));
}

int64_t RateLimiter::Take(std::string_view key, int64_t now_ms) {
  return Use(key, now_ms, true);
}

int64_t RateLimiter::Check(std::string_view key, int64_t now_ms) {
  return Use(key, now_ms, false);
}

}  // namespace shorty
