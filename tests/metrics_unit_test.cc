// Unit tests of daemon/metrics.h and daemon/timed_store.h: the text
// exposition format, the registry's values under concurrency, request
// classification, /proc parsing, and the store's timing and probe.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "daemon/metrics.h"
#include "daemon/timed_store.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("metric values are written as Prometheus reads them") {
  const struct {
    double value;
    const char* text;
  } cases[] = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {42, "42"},
      {-3, "-3"},
      {0.5, "0.5"},
      {0.0001, "0.0001"},
      {0.00025, "0.00025"},
      {2.5, "2.5"},
      {1e15, "1e+15"},
      {0.1 + 0.2, "0.30000000000000004"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(FormatMetricValue(c.value) == c.text);
  }
}

TEST_CASE("label values and help text are escaped") {
  CHECK(EscapeLabelValue("plain") == "plain");
  CHECK(EscapeLabelValue("a\"b") == "a\\\"b");
  CHECK(EscapeLabelValue("back\\slash") == "back\\\\slash");
  CHECK(EscapeLabelValue("two\nlines") == "two\\nlines");
  CHECK(EscapeHelp("say \"hi\"\\\n") == "say \"hi\"\\\\\\n");

  Metrics m;
  m.AddGauge("odd_gauge", "Help with a\nnewline and \\.",
             {{"value", "quote \" slash \\ newline \n end"}})
      ->Set(1);
  CHECK(m.Render() ==
        "# HELP odd_gauge Help with a\\nnewline and \\\\.\n"
        "# TYPE odd_gauge gauge\n"
        "odd_gauge{value=\"quote \\\" slash \\\\ newline \\n end\"} 1\n");
}

TEST_CASE("metric and label names are checked") {
  for (const char* good : {"a", "shorty_links", "_x", "ns:sub_total", "A9"}) {
    CAPTURE(good);
    CHECK(ValidMetricName(good));
  }
  for (const char* bad : {"", "9a", "a-b", "a b", "é", "a.b"}) {
    CAPTURE(bad);
    CHECK_FALSE(ValidMetricName(bad));
  }
  CHECK(ValidLabelName("handler"));
  CHECK(ValidLabelName("_x"));
  CHECK_FALSE(ValidLabelName("__reserved"));
  CHECK_FALSE(ValidLabelName("a:b"));
  CHECK_FALSE(ValidLabelName("1a"));
}

TEST_CASE("the registry writes families in order, each with HELP and TYPE") {
  Metrics m;
  Counter* hits = m.AddCounter("demo_hits_total", "Hits.", {{"kind", "a"}});
  Counter* other = m.AddCounter("demo_hits_total", "Hits.", {{"kind", "b"}});
  Counter* hidden =
      m.AddCounter("demo_rare_total", "Rare.", {}, Shown::kOnceUsed);
  Gauge* level = m.AddGauge("demo_level", "Level.");
  double read = 7;
  m.AddGaugeFunc("demo_read", "Read.", [&read] { return read; });
  m.AddCounterFunc("demo_read_total", "Read total.", [] { return 3.0; });
  hits->Inc();
  hits->Inc(4);
  level->Set(2.5);
  level->Add(-1);
  CHECK(m.Render() ==
        "# HELP demo_hits_total Hits.\n"
        "# TYPE demo_hits_total counter\n"
        "demo_hits_total{kind=\"a\"} 5\n"
        "demo_hits_total{kind=\"b\"} 0\n"
        "# HELP demo_level Level.\n"
        "# TYPE demo_level gauge\n"
        "demo_level 1.5\n"
        "# HELP demo_read Read.\n"
        "# TYPE demo_read gauge\n"
        "demo_read 7\n"
        "# HELP demo_read_total Read total.\n"
        "# TYPE demo_read_total counter\n"
        "demo_read_total 3\n");
  // A series shown once used appears, with its family, when it is.
  hidden->Inc();
  other->Inc();
  read = std::numeric_limits<double>::quiet_NaN();
  const std::string text = m.Render();
  CHECK(Contains(text,
                 "# HELP demo_rare_total Rare.\n"
                 "# TYPE demo_rare_total counter\n"
                 "demo_rare_total 1\n"));
  CHECK(Contains(text, "demo_hits_total{kind=\"b\"} 1\n"));
  CHECK(Contains(text, "demo_read NaN\n"));
  CHECK(text.find("demo_hits_total") < text.find("demo_rare_total"));
  CHECK(text.find("demo_rare_total") < text.find("demo_level"));
}

TEST_CASE(
    "a histogram counts into le buckets, cumulative, with sum and count") {
  Metrics m;
  Histogram* h =
      m.AddHistogram("demo_seconds", "Time.", {0.1, 1, 10}, {{"op", "x"}});
  for (double v : {0.05, 0.1, 0.5, 1.0, 3.0, 100.0}) h->Observe(v);
  h->Observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  Histogram::Snapshot s = h->Read();
  CHECK(s.cumulative == std::vector<uint64_t>{2, 4, 5, 6});
  CHECK(s.count == 6);
  CHECK(s.sum == doctest::Approx(104.65));
  CHECK(m.Render() ==
        "# HELP demo_seconds Time.\n"
        "# TYPE demo_seconds histogram\n"
        "demo_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
        "demo_seconds_bucket{op=\"x\",le=\"1\"} 4\n"
        "demo_seconds_bucket{op=\"x\",le=\"10\"} 5\n"
        "demo_seconds_bucket{op=\"x\",le=\"+Inf\"} 6\n"
        "demo_seconds_sum{op=\"x\"} 104.65\n"
        "demo_seconds_count{op=\"x\"} 6\n");

  Metrics unused;
  unused.AddHistogram("demo_idle_seconds", "Idle.", kLatencyBuckets, {},
                      Shown::kOnceUsed);
  CHECK(unused.Render().empty());
}

TEST_CASE("updates from many threads are all counted") {
  Metrics m;
  Counter* c = m.AddCounter("demo_total", "Total.");
  Gauge* g = m.AddGauge("demo_gauge", "Gauge.");
  Histogram* h = m.AddHistogram("demo_seconds", "Time.", kLatencyBuckets);
  constexpr int kThreads = 8;
  constexpr int kEach = 20000;
  std::atomic<bool> stop{false};
  // Scrapes run while the counts move; each must be self-consistent.
  std::thread scraper([&] {
    while (!stop) {
      Histogram::Snapshot s = h->Read();
      CHECK(s.cumulative.back() == s.count);
      for (size_t i = 1; i < s.cumulative.size(); ++i) {
        CHECK(s.cumulative[i - 1] <= s.cumulative[i]);
      }
      m.Render();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        c->Inc();
        g->Add(1);
        h->Observe(0.001);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  stop = true;
  scraper.join();
  CHECK(c->Value() == kThreads * kEach);
  CHECK(g->Value() == kThreads * kEach);
  Histogram::Snapshot s = h->Read();
  CHECK(s.count == kThreads * kEach);
  CHECK(s.sum == doctest::Approx(kThreads * kEach * 0.001));
}

TEST_CASE("requests are classified by method and target") {
  const struct {
    const char* method;
    const char* target;
    RequestHandler handler;
  } cases[] = {
      {"GET", "/abc", RequestHandler::kRedirect},
      {"HEAD", "/abc/more/path?x=1", RequestHandler::kRedirect},
      {"GET", "/abc+", RequestHandler::kRedirect},
      {"GET", "/", RequestHandler::kRedirect},
      {"GET", "/-x", RequestHandler::kRedirect},
      {"POST", "/abc", RequestHandler::kOther},
      {"DELETE", "/abc", RequestHandler::kOther},
      {"GET", "/-/api/v1/links", RequestHandler::kApi},
      {"POST", "/-/api/v1/links?x", RequestHandler::kApi},
      {"POST", "/-/unlock/abc", RequestHandler::kUnlock},
      {"GET", "/-/healthy", RequestHandler::kHealth},
      {"GET", "/-/ready?verbose", RequestHandler::kHealth},
      {"GET", "/-/metrics", RequestHandler::kMetrics},
      {"GET", "/-/metrics/more", RequestHandler::kWeb},
      {"GET", "/-/", RequestHandler::kWeb},
      {"POST", "/-/signin", RequestHandler::kWeb},
      {"GET", "/-/links/abc", RequestHandler::kWeb},
  };
  for (const auto& c : cases) {
    CAPTURE(c.method);
    CAPTURE(c.target);
    CHECK(ClassifyRequest(c.method, c.target) == c.handler);
  }
}

TEST_CASE("HTTP metrics count by handler and code; unknown codes as other") {
  Metrics m;
  HttpMetrics http(&m, "http");
  CHECK_FALSE(Contains(m.Render(), "shorty_http_requests_total"));
  http.Record(RequestHandler::kRedirect, 302, 0.0002);
  http.Record(RequestHandler::kRedirect, 302, 0.0003);
  http.Record(RequestHandler::kApi, 599, 0.01);
  http.Record(RequestHandler::kApi, -1, 0.01);
  http.Record(RequestHandler::kApi, 1000, 0.01);
  const std::string text = m.Render();
  CHECK(Contains(text,
                 "shorty_http_requests_total{listener=\"http\",handler="
                 "\"redirect\",code=\"302\"} 2\n"));
  CHECK(Contains(text,
                 "shorty_http_requests_total{listener=\"http\",handler="
                 "\"api\",code=\"other\"} 3\n"));
  CHECK(Contains(text,
                 "shorty_http_request_duration_seconds_count{listener="
                 "\"http\",handler=\"redirect\"} 2\n"));
  CHECK(Contains(text,
                 "shorty_http_request_duration_seconds_bucket{listener="
                 "\"http\",handler=\"redirect\",le=\"0.00025\"} 1\n"));
  CHECK_FALSE(Contains(text, "handler=\"web\""));
}

TEST_CASE("redirect results are always written, zeros too") {
  Metrics m;
  RedirectMetrics redirects(&m);
  redirects.Count(RedirectResult::kGone);
  redirects.Count(RedirectResult::kGone);
  const std::string text = m.Render();
  CHECK(Contains(text, "shorty_redirects_total{result=\"gone\"} 2\n"));
  for (size_t i = 0; i < kRedirectResults; ++i) {
    const std::string name = RedirectResultName(static_cast<RedirectResult>(i));
    CAPTURE(name);
    CHECK(Contains(text, "shorty_redirects_total{result=\"" + name + "\"}"));
  }
}

TEST_CASE("cache metrics read the figures they are given at each scrape") {
  Metrics m;
  CacheFigures figures;
  figures.hits = 10;
  figures.misses = 4;
  figures.evictions = 1;
  figures.entries = 3;
  figures.capacity = 100;
  RegisterCacheMetrics(&m, [&figures] { return figures; });
  std::string text = m.Render();
  CHECK(Contains(text, "shorty_redirect_cache_hits_total 10\n"));
  CHECK(Contains(text, "shorty_redirect_cache_misses_total 4\n"));
  CHECK(Contains(text, "shorty_redirect_cache_evictions_total 1\n"));
  CHECK(Contains(text, "shorty_redirect_cache_entries 3\n"));
  CHECK(Contains(text, "shorty_redirect_cache_capacity 100\n"));
  CHECK(Contains(text, "# TYPE shorty_redirect_cache_hits_total counter\n"));
  CHECK(Contains(text, "# TYPE shorty_redirect_cache_entries gauge\n"));
  figures.hits = 11;
  CHECK(Contains(m.Render(), "shorty_redirect_cache_hits_total 11\n"));
}

TEST_CASE("a cached figure is read at most once per interval") {
  int reads = 0;
  auto figure = CachedFigure([&reads] { return static_cast<double>(++reads); },
                             std::chrono::milliseconds(200));
  CHECK(figure() == 1);
  CHECK(figure() == 1);
  CHECK(figure() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  CHECK(figure() == 2);
  CHECK(reads == 2);
}

TEST_CASE("/proc/self/stat is parsed, odd command names too") {
  // Fields 1..24 of proc(5); the name holds a space and a ')'.
  const std::string stat =
      "1234 (shorty d) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 "
      "250 150 0 0 20 0 9 0 5000 123456789 300 18446744073709551615\n";
  ProcessFigures f;
  REQUIRE(ParseProcessStat(stat, 100, 4096, 1'700'000'000, &f));
  CHECK(f.cpu_seconds == doctest::Approx(4.0));
  CHECK(f.threads == 9);
  CHECK(f.start_time_seconds == doctest::Approx(1'700'000'050.0));
  CHECK(f.virtual_bytes == 123456789);
  CHECK(f.resident_bytes == 300 * 4096);

  for (const char* bad : {"", "1234 (x", "1234 (x) S 1 2 3",
                          "1234 (x) S 1 1 1 0 -1 4 5 0 0 0 "
                          "abc 150 0 0 20 0 9 0 5000 1 2"}) {
    CAPTURE(bad);
    ProcessFigures ignored;
    CHECK_FALSE(ParseProcessStat(bad, 100, 4096, 0, &ignored));
  }

  // And the real one, as the metrics read it.
  Metrics m;
  RegisterProcessMetrics(&m);
  const std::string text = m.Render();
  for (const char* name :
       {"process_cpu_seconds_total ", "process_start_time_seconds ",
        "process_virtual_memory_bytes ", "process_resident_memory_bytes ",
        "process_threads ", "process_open_fds ", "process_max_fds "}) {
    CAPTURE(name);
    size_t at = text.find(std::string("\n") + name);
    REQUIRE(at != std::string::npos);
    CHECK(text.compare(at + 1 + std::strlen(name), 3, "NaN") != 0);
  }
}

// A directory under /tmp, removed with what is in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/shorty-metrics-test-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST_CASE("TimedStore times each call and counts failures, not answers") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.File("links.db");
  Result<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(options);
  REQUIRE(sqlite.ok());
  Metrics m;
  TimedStore store(std::move(*sqlite), &m);

  Link link;
  link.slug = "timed";
  link.target = "https://example.com/";
  link.created_at = link.updated_at = 1'750'000'000;
  link.created_by = "tester";
  REQUIRE(store.CreateLink(link).ok());
  CHECK(store.GetLink("timed").ok());
  CHECK(store.GetLink("absent").status().code() == Code::kNotFound);
  CHECK(store.CreateLink(link).status().code() == Code::kAlreadyExists);
  CHECK(store.Info()->links == 1);
  REQUIRE(store.Ping().ok());

  std::string text = m.Render();
  CHECK(Contains(text,
                 "shorty_db_operation_duration_seconds_count{operation="
                 "\"get_link\"} 2\n"));
  CHECK(Contains(text,
                 "shorty_db_operation_duration_seconds_count{operation="
                 "\"create_link\"} 2\n"));
  CHECK(Contains(text, "shorty_db_errors_total{operation=\"get_link\"} 0\n"));
  CHECK(
      Contains(text, "shorty_db_errors_total{operation=\"create_link\"} 0\n"));
  // Operations not used yet have no histogram lines, but their errors are
  // written from zero.
  CHECK_FALSE(Contains(text, "operation=\"write_backup\",le="));
  CHECK(
      Contains(text, "shorty_db_errors_total{operation=\"write_backup\"} 0\n"));

  StoreProbe probe(&store, 1000);
  CHECK(probe.Check(10'000).ok());
  REQUIRE(std::rename(options.path.c_str(), dir.File("moved.db").c_str()) == 0);
  // Within the interval, the last answer stands.
  CHECK(probe.Check(10'500).ok());
  Status gone = probe.Check(11'000);
  CHECK(gone.code() == Code::kUnavailable);
  CHECK(Contains(gone.message(), options.path));
  CHECK(probe.Check(11'999).code() == Code::kUnavailable);
  CHECK(Contains(m.Render(), "shorty_db_errors_total{operation=\"ping\"} 1\n"));
  REQUIRE(std::rename(dir.File("moved.db").c_str(), options.path.c_str()) == 0);
  CHECK(probe.Check(12'000).ok());

  CHECK(IsStoreFailure(Status::IOError("x")));
  CHECK(IsStoreFailure(Status::Corruption("x")));
  CHECK(IsStoreFailure(Status::Unavailable("x")));
  CHECK(IsStoreFailure(Status::Internal("x")));
  CHECK_FALSE(IsStoreFailure(Status::Ok()));
  CHECK_FALSE(IsStoreFailure(Status::NotFound("x")));
  CHECK_FALSE(IsStoreFailure(Status::AlreadyExists("x")));
  CHECK_FALSE(IsStoreFailure(Status::InvalidArgument("x")));
  for (size_t i = 0; i < kStoreOperations; ++i) {
    CHECK(std::string(StoreOperationName(static_cast<StoreOperation>(i))) !=
          "unknown");
  }
}

TEST_CASE("the shorty_links gauge reads the store at most every max_age") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.File("links.db");
  Result<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(options);
  REQUIRE(sqlite.ok());
  Metrics m;
  TimedStore store(std::move(*sqlite), &m);
  RegisterLinkCount(&m, &store, std::chrono::milliseconds(200));
  CHECK(Contains(m.Render(), "\nshorty_links 0\n"));
  Link link;
  link.slug = "counted";
  link.target = "https://example.com/";
  link.created_by = "tester";
  REQUIRE(store.CreateLink(link).ok());
  CHECK(Contains(m.Render(), "\nshorty_links 0\n"));  // still cached
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const std::string text = m.Render();
  CHECK(Contains(text, "\nshorty_links 1\n"));
  // Two reads in all (the histogram is written before the gauge is read).
  CHECK(Contains(m.Render(),
                 "shorty_db_operation_duration_seconds_count{operation="
                 "\"info\"} 2\n"));
}

}  // namespace
}  // namespace shorty
