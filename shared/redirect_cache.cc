#include "shared/redirect_cache.h"

#include <algorithm>
#include <functional>
#include <utility>

namespace shorty {
namespace {

// Enough shards that two threads rarely meet on one mutex; fewer when the
// cache is so small that a shard would hold nothing.
constexpr size_t kMaxShards = 64;

}  // namespace

RedirectCache::RedirectCache(size_t capacity)
    : shards_(std::max<size_t>(1, std::min(kMaxShards, capacity))),
      capacity_(capacity) {
  const size_t n = shards_.size();
  for (size_t i = 0; i < n; ++i) {
    // Spread the capacity so the shards add up to it exactly.
    shards_[i].capacity = capacity / n + (i < capacity % n ? 1 : 0);
    shards_[i].slots.reserve(shards_[i].capacity);
    shards_[i].index.reserve(shards_[i].capacity);
  }
}

RedirectCache::Shard& RedirectCache::ShardFor(std::string_view key) {
  return shards_[std::hash<std::string_view>()(key) % shards_.size()];
}

RedirectCache::Lookup RedirectCache::Find(std::string_view key) {
  Shard& shard = ShardFor(key);
  Lookup out;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.index.find(std::string(key));
    if (it != shard.index.end()) {
      Slot& slot = shard.slots[it->second];
      slot.referenced = true;
      out.link = slot.link;
    } else {
      out.ticket = shard.generation;
    }
  }
  (out.link ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return out;
}

void RedirectCache::Insert(std::string_view key,
                           std::shared_ptr<const Link> link, uint64_t ticket) {
  if (capacity_ == 0 || !link) return;
  Shard& shard = ShardFor(key);
  std::shared_ptr<const Link> evicted;  // released outside the lock
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.generation != ticket) return;
  std::string owned(key);
  auto it = shard.index.find(owned);
  if (it != shard.index.end()) {
    evicted = std::exchange(shard.slots[it->second].link, std::move(link));
    return;
  }
  if (shard.slots.size() < shard.capacity) {
    shard.index.emplace(owned, shard.slots.size());
    shard.slots.push_back(Slot{std::move(owned), std::move(link), false});
    return;
  }
  // CLOCK: pass over recently used entries once, clearing their mark, and
  // take the first cold one.
  while (shard.slots[shard.hand].referenced) {
    shard.slots[shard.hand].referenced = false;
    shard.hand = (shard.hand + 1) % shard.slots.size();
  }
  Slot& victim = shard.slots[shard.hand];
  shard.index.erase(victim.key);
  evicted = std::exchange(victim.link, std::move(link));
  victim.key = owned;
  victim.referenced = false;
  shard.index.emplace(std::move(owned), shard.hand);
  shard.hand = (shard.hand + 1) % shard.slots.size();
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void RedirectCache::Erase(Shard& shard, size_t slot) {
  const size_t last = shard.slots.size() - 1;
  shard.index.erase(shard.slots[slot].key);
  if (slot != last) {
    shard.slots[slot] = std::move(shard.slots[last]);
    shard.index[shard.slots[slot].key] = slot;
  }
  shard.slots.pop_back();
  if (shard.hand >= shard.slots.size()) shard.hand = 0;
}

void RedirectCache::Invalidate(std::string_view key) {
  Shard& shard = ShardFor(key);
  std::shared_ptr<const Link> dropped;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    ++shard.generation;
    auto it = shard.index.find(std::string(key));
    if (it != shard.index.end()) {
      dropped = std::move(shard.slots[it->second].link);
      Erase(shard, it->second);
    }
  }
  invalidations_.fetch_add(1, std::memory_order_relaxed);
}

void RedirectCache::Clear() {
  for (Shard& shard : shards_) {
    std::vector<Slot> dropped;
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      ++shard.generation;
      shard.index.clear();
      dropped.swap(shard.slots);
      shard.slots.reserve(shard.capacity);
      shard.hand = 0;
    }
  }
  invalidations_.fetch_add(1, std::memory_order_relaxed);
}

CacheFigures RedirectCache::Figures() const {
  CacheFigures f;
  f.hits = hits_.load(std::memory_order_relaxed);
  f.misses = misses_.load(std::memory_order_relaxed);
  f.evictions = evictions_.load(std::memory_order_relaxed);
  f.invalidations = invalidations_.load(std::memory_order_relaxed);
  f.capacity = capacity_;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    f.entries += shard.slots.size();
  }
  return f;
}

}  // namespace shorty
