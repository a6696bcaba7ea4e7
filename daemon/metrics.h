// shortyd's metrics: counters, gauges and histograms that the request paths
// update with relaxed atomics (no lock, no allocation), a registry that
// writes them all in the Prometheus text exposition format 0.0.4 for
// /-/metrics, and the sets of metrics shortyd keeps (redirect results, HTTP
// requests, the visit writer, the process, the redirect cache).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/redirect_cache.h"

namespace shorty {

// A value that only goes up. Thread-safe and lock-free.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (Prometheus "le" semantics: a
// value lands in the first bucket whose upper bound is >= it), plus their
// sum. Observe is thread-safe, lock-free and does not allocate.
class Histogram {
 public:
  // `bounds`: strictly increasing, finite upper bounds; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  // A consistent-enough copy for a scrape: the buckets are cumulative and
  // the count is the +Inf bucket, so they always agree with each other
  // (the sum may lag an observation in flight).
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Upper bounds in seconds for request and database latencies: sub-ms to 10 s.
extern const std::vector<double> kLatencyBuckets;

// A metric's label names and values, in the order they are written. Values
// must come from small fixed sets (never a slug, URL, token, user or
// address): every distinct set is a time series kept for ever.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Whether a series is written while it is still zero. Series of a large
// fixed grid (handler x status code) are written once used, so a scrape
// stays short; every other series is always written.
enum class Shown { kAlways, kOnceUsed };

// The registry. Registration (Add*) is meant for start-up: it takes a mutex
// and allocates. The returned pointers stay valid for the registry's life
// and are what the request paths update, without touching the registry.
//
// Registering is a programming error, and aborts with a message naming the
// metric, when the name or a label name is not a valid Prometheus name, a
// name is registered again with another type or help text, or the same
// name and label values are registered twice.
//
// Thread-safe: Render may run on several threads at once and concurrently
// with updates; callbacks run under the registry's mutex, so they must not
// call Add* or Render.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  Counter* AddCounter(std::string_view name, std::string_view help,
                      Labels labels = {}, Shown shown = Shown::kAlways);
  Gauge* AddGauge(std::string_view name, std::string_view help,
                  Labels labels = {});
  Histogram* AddHistogram(std::string_view name, std::string_view help,
                          const std::vector<double>& bounds, Labels labels = {},
                          Shown shown = Shown::kAlways);
  // Series whose value `read` gives at each scrape (a value kept elsewhere:
  // a cache's hit count, the number of links). A counter's `read` must never
  // go down. NaN is written as NaN ("unknown").
  void AddCounterFunc(std::string_view name, std::string_view help,
                      std::function<double()> read, Labels labels = {});
  void AddGaugeFunc(std::string_view name, std::string_view help,
                    std::function<double()> read, Labels labels = {});

  // Every family in registration order, as text format 0.0.4: "# HELP" and
  // "# TYPE" lines, then one line a series (histograms: _bucket lines with
  // "le", _sum and _count). A family none of whose series is shown is left
  // out entirely.
  std::string Render() const;

  // The Content-Type of Render's output.
  static constexpr char kContentType[] =
      "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Family;
  struct Series;
  Series* AddSeries(std::string_view name, std::string_view help,
                    const char* type, Labels labels, Shown shown);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // guarded by mu_
};

// Text format helpers, exposed for tests. Pure.
// A sample value: integers without a fraction, others with the fewest
// digits that read back exactly, and "+Inf", "-Inf", "NaN".
std::string FormatMetricValue(double value);
// A label value with '\', '"' and newline escaped.
std::string EscapeLabelValue(std::string_view value);
// HELP text with '\' and newline escaped.
std::string EscapeHelp(std::string_view help);
// [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* not starting
// with "__" (label).
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

// ---------------------------------------------------------------------------
// What shortyd measures.

// shorty_build_info{version="..."} 1.
void RegisterBuildInfo(Metrics* metrics, std::string_view version);

// The process's own figures, read from /proc/self at each scrape.
struct ProcessFigures {
  double cpu_seconds = 0;         // user + system
  double start_time_seconds = 0;  // since the Unix epoch
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double threads = 0;
};

// Parses the text of /proc/self/stat (see proc(5)): clock ticks become
// seconds with `ticks_per_second`, pages bytes with `page_size`, and the
// start time, in ticks since boot, is added to `boot_time` (the btime of
// /proc/stat). False when the text is not in that shape. Pure.
bool ParseProcessStat(std::string_view stat, double ticks_per_second,
                      double page_size, double boot_time,
                      ProcessFigures* figures);

// process_cpu_seconds_total, process_start_time_seconds,
// process_virtual_memory_bytes, process_resident_memory_bytes,
// process_threads, process_open_fds and process_max_fds. A figure that
// cannot be read is written as NaN.
void RegisterProcessMetrics(Metrics* metrics);

// shorty_redirect_cache_hits_total, _misses_total, _evictions_total,
// shorty_redirect_cache_entries and _capacity, each read through `figures`
// at scrape time. `figures` must be thread-safe and cheap, and stay
// callable for the registry's life.
void RegisterCacheMetrics(Metrics* metrics,
                          std::function<CacheFigures()> figures);

// A function that calls `read` at most once every `max_age` and otherwise
// gives the value it last returned, so a scrape costs at most one query.
// Thread-safe.
std::function<double()> CachedFigure(std::function<double()> read,
                                     std::chrono::milliseconds max_age);

// What a request for a link got, as counted in shorty_redirects_total.
enum class RedirectResult {
  kRedirect,       // sent on to the target
  kNotFound,       // unknown or malformed slug (404)
  kGone,           // expired, used up, disabled or blocked (410)
  kPreview,        // the /{slug}+ page
  kPassword,       // a password link: the form was shown
  kUnlocked,       // the right password: sent on to the target
  kWrongPassword,  // the wrong password (401)
  kRateLimited,    // too many unknown slugs or password attempts (429)
  kInvalid,        // an extra path or form that is refused (400)
  kError,          // the store failed or the server is busy (503)
};
constexpr size_t kRedirectResults = 10;

// The label value of a result ("redirect", "not_found", ...).
const char* RedirectResultName(RedirectResult result);

// shorty_redirects_total{result}: every result always shown.
class RedirectMetrics {
 public:
  explicit RedirectMetrics(Metrics* metrics);
  // Lock-free; thread-safe.
  void Count(RedirectResult result) {
    counters_[static_cast<size_t>(result)]->Inc();
  }

 private:
  std::array<Counter*, kRedirectResults> counters_{};
};

// Which part of shortyd a request went to, a fixed classification of its
// method and path, for the "handler" label.
enum class RequestHandler {
  kRedirect,  // GET or HEAD outside /-/: redirects, previews, 404s
  kApi,       // /-/api/
  kWeb,       // every other path under /-/: the pages and their files
  kUnlock,    // /-/unlock/
  kHealth,    // /-/healthy, /-/ready
  kMetrics,   // /-/metrics
  kOther,     // anything else: other methods outside /-/, unreadable requests
};
constexpr size_t kRequestHandlers = 7;

// The label value of a handler ("redirect", "api", ...).
const char* RequestHandlerName(RequestHandler handler);

// Classifies a request by its method and raw target (path and query). Pure,
// no allocation.
RequestHandler ClassifyRequest(std::string_view method,
                               std::string_view target);

// shorty_http_requests_total{listener,handler,code} (series shown once
// used) and shorty_http_request_duration_seconds{listener,handler}, for one
// listener ("http" or "control").
class HttpMetrics {
 public:
  HttpMetrics(Metrics* metrics, std::string_view listener);
  // Counts a request answered with `status` after `seconds`. A status that
  // is not a standard HTTP status code (shortyd sends none) is counted as
  // code="other". Lock-free, no allocation; thread-safe.
  void Record(RequestHandler handler, int status, double seconds);

 private:
  static constexpr int kMaxCode = 600;
  // The column of each status code in requests_; the last column is
  // "other". Counters for every handler and code are registered up front,
  // so the request path only indexes.
  std::array<uint8_t, kMaxCode> column_{};
  size_t columns_ = 0;
  std::vector<Counter*> requests_;  // [handler * columns_ + column]
  std::array<Histogram*, kRequestHandlers> durations_{};
};

// The visit writer: shorty_visit_flushes_total, _flush_failures_total,
// shorty_visits_written_total and shorty_visit_flush_duration_seconds. The
// gauge of visits waiting is registered where the counter lives (it needs
// to read it). Pointers into `metrics`; updates are thread-safe.
struct VisitWriterMetrics {
  explicit VisitWriterMetrics(Metrics* metrics);
  Counter* flushes;
  Counter* failures;
  Counter* written;
  Histogram* duration;
};

// Every metric set shortyd keeps on one registry, with the process and
// build figures registered.
struct DaemonMetrics {
  DaemonMetrics();
  Metrics registry;
  RedirectMetrics redirects{&registry};
  HttpMetrics http{&registry, "http"};
  HttpMetrics control{&registry, "control"};
  VisitWriterMetrics visits{&registry};
};

}  // namespace shorty
