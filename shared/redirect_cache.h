// A bounded in-process cache of the links the redirect path reads, so that
// a hot link costs no database read. Evicts the coldest entries (CLOCK, a
// cheap approximation of least-recently-used) and is invalidated on every
// write to a link.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/link.h"

namespace shorty {

// What the cache has done since it was made, for metrics.
struct CacheFigures {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t invalidations = 0;
  size_t entries = 0;
  size_t capacity = 0;
};

// Keys are slug keys (shared/slug.h SlugKey): already folded when links are
// case-insensitive. Thread-safe; each call holds one shard's mutex for a
// hash lookup at most, never across I/O.
//
// A reader that misses takes a ticket before it reads the store and hands
// it back with what it read; an invalidation of the key's shard in between
// makes Insert drop the value, so a read that raced a write can never leave
// the old link cached.
class RedirectCache {
 public:
  // `capacity` 0 turns the cache off: every lookup misses, nothing is kept.
  explicit RedirectCache(size_t capacity);

  RedirectCache(const RedirectCache&) = delete;
  RedirectCache& operator=(const RedirectCache&) = delete;

  struct Lookup {
    std::shared_ptr<const Link> link;  // null on a miss
    uint64_t ticket = 0;               // for Insert after a miss
  };

  // The cached link for `key`, counting a hit, or null and a ticket,
  // counting a miss.
  Lookup Find(std::string_view key);

  // Keeps `link` for `key` unless the key's shard was invalidated since
  // `ticket` was taken; evicts a cold entry when full.
  void Insert(std::string_view key, std::shared_ptr<const Link> link,
              uint64_t ticket);

  // Forgets `key` and voids the tickets of misses in flight on its shard.
  void Invalidate(std::string_view key);

  // Forgets everything and voids every ticket in flight.
  void Clear();

  CacheFigures Figures() const;

 private:
  struct Slot {
    std::string key;
    std::shared_ptr<const Link> link;
    bool referenced = false;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, size_t> index;  // key -> slot
    std::vector<Slot> slots;                        // the CLOCK ring
    size_t hand = 0;
    size_t capacity = 0;
    uint64_t generation = 0;
  };

  Shard& ShardFor(std::string_view key);
  void Erase(Shard& shard, size_t slot);

  std::vector<Shard> shards_;
  size_t capacity_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> invalidations_{0};
};

}  // namespace shorty
