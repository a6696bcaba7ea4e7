// The visit writer over a real SQLite store: counts and traits from many
// threads add up exactly, flushes carry them to the buckets, a cap bounds
// what hostile referrers can make it hold, and old hours roll up by day.
#include "daemon/visit_counter.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shared/sqlite_store.h"
#include "shared/visit.h"

namespace shorty {
namespace {

class TempStore {
 public:
  TempStore() {
    char tmpl[] = "/tmp/shorty-visits-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    SqliteOptions options;
    options.path = dir_ + "/links.db";
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(options);
    INFO(store.status().message());
    REQUIRE(store.ok());
    store_ = std::move(*store);
  }
  ~TempStore() {
    store_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!std::system(cmd.c_str());
  }
  SqliteStore* operator->() { return store_.get(); }
  SqliteStore* get() { return store_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
};

UnixTime Now() { return static_cast<UnixTime>(std::time(nullptr)); }

void AddLink(SqliteStore* store, const std::string& slug) {
  Link link;
  link.slug = slug;
  link.target = "https://example.com/" + slug;
  link.created_at = link.updated_at = Now();
  link.created_by = "test";
  Result<Link> made = store->CreateLink(link);
  INFO(made.status().message());
  REQUIRE(made.ok());
}

int64_t Sum(const std::vector<VisitBucket>& buckets, const std::string& dimension,
            const std::string& value, bool bot) {
  int64_t n = 0;
  for (const VisitBucket& b : buckets) {
    if (b.dimension == dimension && b.value == value && b.bot == bot) n += b.visits;
  }
  return n;
}

constexpr char kFirefox[] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";

TEST_CASE("VisitCounter: visits from many threads add up exactly") {
  TempStore store;
  AddLink(store.get(), "hot");
  VisitCounter counter(store.get(), std::chrono::milliseconds(1000));
  const UnixTime hour = HourOf(Now());
  const VisitTraits browser = ClassifyVisit(kFirefox, "https://a.example/");
  const VisitTraits bot = ClassifyVisit("curl/8.0", "");

  constexpr int kThreads = 8;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        counter.Count("hot", hour, (i + t) % 5 == 0 ? bot : browser, false);
      }
    });
  }
  // A flush in the middle of the counting loses and doubles nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(counter.Flush().ok());
  for (std::thread& t : threads) t.join();
  CHECK(counter.Pending("hot") + store->GetLink("hot")->visits ==
        kThreads * kEach);
  REQUIRE(counter.Flush().ok());
  CHECK(counter.Pending("hot") == 0);
  CHECK(store->GetLink("hot")->visits == kThreads * kEach);

  Result<std::vector<VisitBucket>> b = store->LinkVisits("hot", 0);
  REQUIRE(b.ok());
  const int64_t bots = Sum(*b, "total", "", true);
  CHECK(bots == kThreads * kEach / 5);
  CHECK(Sum(*b, "total", "", false) == kThreads * kEach - bots);
  CHECK(Sum(*b, "referrer", "a.example", false) == kThreads * kEach - bots);
  CHECK(Sum(*b, "browser", "firefox", false) == kThreads * kEach - bots);
}

TEST_CASE("VisitCounter: counted visits keep their traits only") {
  TempStore store;
  AddLink(store.get(), "limited");
  VisitCounter counter(store.get(), std::chrono::milliseconds(1000));
  const UnixTime hour = HourOf(Now());
  counter.Count("limited", hour, ClassifyVisit(kFirefox, ""), /*counted=*/true);
  CHECK(counter.Pending("limited") == 0);
  REQUIRE(counter.Flush().ok());
  CHECK(store->GetLink("limited")->visits == 0);  // counted in the store already
  CHECK(Sum(*store->LinkVisits("limited", 0), "total", "", false) == 1);
}

TEST_CASE("VisitCounter: a flood of referrers is held to a bound") {
  TempStore store;
  AddLink(store.get(), "flood");
  VisitCounter counter(store.get(), std::chrono::milliseconds(1000));
  const UnixTime hour = HourOf(Now());
  constexpr int kReferrers = 5000;
  for (int i = 0; i < kReferrers; ++i) {
    counter.Count("flood", hour,
                  ClassifyVisit(kFirefox, "https://r" + std::to_string(i) +
                                              ".example/"),
                  false);
  }
  REQUIRE(counter.Flush().ok());
  Result<std::vector<VisitBucket>> b = store->LinkVisits("flood", 0);
  REQUIRE(b.ok());
  CHECK(Sum(*b, "total", "", false) == kReferrers);
  size_t referrers = 0;
  for (const VisitBucket& x : *b) referrers += x.dimension == "referrer";
  CHECK(referrers == VisitCounter::kMaxGroupsPerLink + 1);  // and "other"
  CHECK(Sum(*b, "referrer", "other", false) ==
        kReferrers - static_cast<int64_t>(VisitCounter::kMaxGroupsPerLink));
}

TEST_CASE("VisitCounter: hours older than the retention roll up into days") {
  TempStore store;
  AddLink(store.get(), "old");
  VisitCounter counter(store.get(), std::chrono::milliseconds(1000),
                       std::chrono::hours(24 * 2));
  const UnixTime now = Now();
  const UnixTime long_ago = DayOf(now) - 5 * kDay;
  for (int h = 1; h < 24; ++h) {
    counter.Count("old", long_ago + h * kHour, ClassifyVisit(kFirefox, ""), false);
  }
  counter.Count("old", HourOf(now), ClassifyVisit(kFirefox, ""), false);
  REQUIRE(counter.Flush().ok());
  const size_t before = store->LinkVisits("old", 0)->size();

  Result<int64_t> folded = counter.RollUp(now);
  REQUIRE(folded.ok());
  CHECK(*folded == 23 * 5);
  Result<std::vector<VisitBucket>> b = store->LinkVisits("old", 0);
  REQUIRE(b.ok());
  CHECK(b->size() == before - 22 * 5);  // 23 hours became one day
  CHECK(Sum(*b, "total", "", false) == 24);
  for (const VisitBucket& x : *b) {
    CHECK((x.start == long_ago || x.start == HourOf(now)));
  }
  // Without a retention nothing is rolled up.
  VisitCounter keep_all(store.get(), std::chrono::milliseconds(1000));
  CHECK(*keep_all.RollUp(now) == 0);
}

}  // namespace
}  // namespace shorty
