#include "shared/redirect_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace shorty {
namespace {

std::shared_ptr<const Link> MakeLink(const std::string& slug,
                                     const std::string& target) {
  auto link = std::make_shared<Link>();
  link->slug = slug;
  link->target = target;
  return link;
}

// Looks `key` up and, on a miss, inserts what a store read would return.
void Fill(RedirectCache& cache, const std::string& key,
          const std::string& target) {
  RedirectCache::Lookup found = cache.Find(key);
  if (!found.link) cache.Insert(key, MakeLink(key, target), found.ticket);
}

TEST_CASE("a miss then an insert then a hit, counted") {
  RedirectCache cache(8);
  RedirectCache::Lookup first = cache.Find("abc");
  CHECK((first.link == nullptr));
  cache.Insert("abc", MakeLink("abc", "https://a.example/"), first.ticket);
  RedirectCache::Lookup second = cache.Find("abc");
  REQUIRE((second.link != nullptr));
  CHECK(second.link->target == "https://a.example/");
  CacheFigures f = cache.Figures();
  CHECK(f.hits == 1);
  CHECK(f.misses == 1);
  CHECK(f.entries == 1);
  CHECK(f.capacity == 8);
}

TEST_CASE("an invalidation between a miss and its insert drops the insert") {
  RedirectCache cache(8);
  RedirectCache::Lookup miss = cache.Find("abc");
  // A write to the link lands while the reader is at the store.
  cache.Invalidate("abc");
  cache.Insert("abc", MakeLink("abc", "https://old.example/"), miss.ticket);
  CHECK((cache.Find("abc").link == nullptr));
  CHECK(cache.Figures().entries == 0);
  CHECK(cache.Figures().invalidations == 1);
}

TEST_CASE("invalidate forgets one key and keeps the others") {
  RedirectCache cache(8);
  Fill(cache, "a", "https://a.example/");
  Fill(cache, "b", "https://b.example/");
  cache.Invalidate("a");
  CHECK((cache.Find("a").link == nullptr));
  REQUIRE((cache.Find("b").link != nullptr));
  CHECK(cache.Find("b").link->target == "https://b.example/");
}

TEST_CASE("clear forgets everything and voids tickets in flight") {
  RedirectCache cache(100);
  for (int i = 0; i < 50; ++i) {
    Fill(cache, "k" + std::to_string(i), "https://x.example/");
  }
  RedirectCache::Lookup miss = cache.Find("late");
  cache.Clear();
  cache.Insert("late", MakeLink("late", "https://old.example/"), miss.ticket);
  CHECK(cache.Figures().entries == 0);
  for (int i = 0; i < 50; ++i) {
    CHECK((cache.Find("k" + std::to_string(i)).link == nullptr));
  }
}

TEST_CASE("the cache never holds more than its capacity") {
  for (size_t capacity : {1, 3, 64, 65, 1000}) {
    CAPTURE(capacity);
    RedirectCache cache(capacity);
    for (int i = 0; i < 5000; ++i) {
      Fill(cache, "slug" + std::to_string(i), "https://x.example/");
    }
    CacheFigures f = cache.Figures();
    CHECK(f.entries <= capacity);
    CHECK(f.entries > 0);
    CHECK(f.evictions == 5000 - f.entries);
  }
}

TEST_CASE("a capacity of zero keeps nothing") {
  RedirectCache cache(0);
  Fill(cache, "a", "https://a.example/");
  CHECK((cache.Find("a").link == nullptr));
  CHECK(cache.Figures().entries == 0);
  CHECK(cache.Figures().misses == 2);
}

TEST_CASE("hot entries survive a stream of cold ones") {
  // 20 entries a shard; each burst of one-off slugs puts a few into each
  // shard, fewer than a shard holds, as between two reads of a hot link.
  RedirectCache cache(1280);
  std::vector<std::string> hot;
  for (int i = 0; i < 64; ++i) hot.push_back("hot" + std::to_string(i));
  for (const std::string& k : hot) Fill(cache, k, "https://hot.example/");
  for (int round = 0; round < 60; ++round) {
    // The hot set is read between every burst of one-off slugs.
    for (const std::string& k : hot) CHECK((cache.Find(k).link != nullptr));
    for (int i = 0; i < 100; ++i) {
      Fill(cache, "cold" + std::to_string(round * 100 + i),
           "https://cold.example/");
    }
  }
  CHECK(cache.Figures().evictions > 4000);
  int kept = 0;
  for (const std::string& k : hot)
    kept += cache.Find(k).link != nullptr ? 1 : 0;
  CHECK(kept == 64);
}

TEST_CASE("racing readers never keep a value older than the last write") {
  // A "store" of one link per key whose version a writer bumps, invalidating
  // after each write as the service does; readers fill the cache from it.
  // Once the writer is done, whatever the cache holds must be the last
  // version.
  constexpr int kKeys = 16;
  std::vector<std::atomic<int>> store(kKeys);
  for (auto& v : store) v.store(0);
  RedirectCache cache(kKeys);
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        for (int k = 0; k < kKeys; ++k) {
          std::string key = "k" + std::to_string(k);
          RedirectCache::Lookup found = cache.Find(key);
          if (found.link) continue;
          std::string version = std::to_string(store[k].load());
          cache.Insert(key, MakeLink(key, version), found.ticket);
        }
      }
    });
  }
  for (int round = 1; round <= 2000; ++round) {
    int k = round % kKeys;
    store[k].store(round);
    cache.Invalidate("k" + std::to_string(k));
  }
  done = true;
  for (std::thread& t : readers) t.join();
  for (int k = 0; k < kKeys; ++k) {
    RedirectCache::Lookup found = cache.Find("k" + std::to_string(k));
    if (found.link) {
      CHECK(found.link->target == std::to_string(store[k].load()));
    }
  }
}

}  // namespace
}  // namespace shorty
