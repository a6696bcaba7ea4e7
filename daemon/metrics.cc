#include "daemon/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_set>

namespace shorty {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Registering a metric wrongly is a bug in shortyd, found at its first
// start; there is nothing a caller could do about it at run time.
[[noreturn]] void Fatal(const std::string& message) {
  std::fprintf(stderr, "shortyd: metrics: %s\n", message.c_str());
  std::abort();
}

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    return true;
  }
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

std::string ReadWholeFile(const char* path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The btime line of /proc/stat: when the machine booted, in seconds since
// the epoch; NaN when unreadable.
double BootTime() {
  const std::string stat = ReadWholeFile("/proc/stat");
  size_t at = stat.find("\nbtime ");
  if (at == std::string::npos) return kNaN;
  return std::strtod(stat.c_str() + at + 7, nullptr);
}

bool ReadProcessFigures(ProcessFigures* figures) {
  static const double boot_time = BootTime();
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  return ParseProcessStat(ReadWholeFile("/proc/self/stat"), ticks, page,
                          boot_time, figures);
}

double OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return kNaN;
  double n = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory's own descriptor, open while counting
}

double MaxFds() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return kNaN;
  if (limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<double>::infinity();
  }
  return static_cast<double>(limit.rlim_cur);
}

// The status codes of the HTTP status code registry; anything else is
// counted as "other".
constexpr int kStandardCodes[] = {
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208,
    226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403,
    404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
    417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500,
    501, 502, 503, 504, 505, 506, 507, 508, 510, 511};

}  // namespace

// ---------------------------------------------------------------------------
// Values.

void Gauge::Add(double v) {
  double old = value_.load(std::memory_order_relaxed);
  while (
      !value_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    counts_[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + value,
                                     std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double> kLatencyBuckets = {
    .0001, .00025, .0005, .001, .0025, .005, .01, .025,
    .05,   .1,     .25,   .5,   1,     2.5,  5,   10};

// ---------------------------------------------------------------------------
// Text format.

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", value == 0 ? 0.0 : value);
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%.15g", value);
  if (std::strtod(buf, nullptr) != value) {
    std::snprintf(buf, sizeof(buf), "%.17g", value);
  }
  return buf;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

bool ValidMetricName(std::string_view name) { return ValidName(name, true); }

bool ValidLabelName(std::string_view name) {
  return ValidName(name, false) && name.substr(0, 2) != "__";
}

// ---------------------------------------------------------------------------
// The registry.

struct Metrics::Series {
  std::string labels;  // a="b",c="d" without braces; "" for none
  Shown shown = Shown::kAlways;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> read;
};

struct Metrics::Family {
  std::string name;
  std::string help;
  const char* type;  // "counter", "gauge", "histogram"
  std::vector<std::unique_ptr<Series>> series;
  std::unordered_set<std::string> label_sets;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Series* Metrics::AddSeries(std::string_view name,
                                    std::string_view help, const char* type,
                                    Labels labels, Shown shown) {
  const std::string what(name);
  if (!ValidMetricName(name)) Fatal("'" + what + "' is not a metric name");
  std::string text;
  for (const auto& [label, value] : labels) {
    if (!ValidLabelName(label)) {
      Fatal(what + ": '" + label + "' is not a label name");
    }
    if (label == "le" && std::string_view(type) == "histogram") {
      Fatal(what + ": a histogram may not have a label 'le'");
    }
    if (!text.empty()) text += ',';
    text += label + "=\"" + EscapeLabelValue(value) + "\"";
  }
  std::lock_guard<std::mutex> lock(mu_);
  Family* family = nullptr;
  for (const auto& f : families_) {
    if (f->name == name) family = f.get();
  }
  if (family == nullptr) {
    families_.push_back(std::make_unique<Family>());
    family = families_.back().get();
    family->name = what;
    family->help = std::string(help);
    family->type = type;
  } else if (std::string_view(family->type) != type || family->help != help) {
    Fatal(what + ": registered again with another type or help text");
  }
  if (!family->label_sets.insert(text).second) {
    Fatal(what + "{" + text + "}: registered twice");
  }
  family->series.push_back(std::make_unique<Series>());
  Series* series = family->series.back().get();
  series->labels = std::move(text);
  series->shown = shown;
  return series;
}

Counter* Metrics::AddCounter(std::string_view name, std::string_view help,
                             Labels labels, Shown shown) {
  Series* s = AddSeries(name, help, "counter", std::move(labels), shown);
  s->counter = std::make_unique<Counter>();
  return s->counter.get();
}

Gauge* Metrics::AddGauge(std::string_view name, std::string_view help,
                         Labels labels) {
  Series* s = AddSeries(name, help, "gauge", std::move(labels), Shown::kAlways);
  s->gauge = std::make_unique<Gauge>();
  return s->gauge.get();
}

Histogram* Metrics::AddHistogram(std::string_view name, std::string_view help,
                                 const std::vector<double>& bounds,
                                 Labels labels, Shown shown) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Fatal(std::string(name) +
            ": bucket bounds must be finite and increasing");
    }
  }
  Series* s = AddSeries(name, help, "histogram", std::move(labels), shown);
  s->histogram = std::make_unique<Histogram>(bounds);
  return s->histogram.get();
}

void Metrics::AddCounterFunc(std::string_view name, std::string_view help,
                             std::function<double()> read, Labels labels) {
  if (!read) Fatal(std::string(name) + ": no function to read");
  AddSeries(name, help, "counter", std::move(labels), Shown::kAlways)->read =
      std::move(read);
}

void Metrics::AddGaugeFunc(std::string_view name, std::string_view help,
                           std::function<double()> read, Labels labels) {
  if (!read) Fatal(std::string(name) + ": no function to read");
  AddSeries(name, help, "gauge", std::move(labels), Shown::kAlways)->read =
      std::move(read);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(16384);
  auto sample = [&out](const std::string& name, std::string_view suffix,
                       const std::string& labels, std::string_view extra,
                       const std::string& value) {
    out += name;
    out += suffix;
    if (!labels.empty() || !extra.empty()) {
      out += '{';
      out += labels;
      if (!labels.empty() && !extra.empty()) out += ',';
      out += extra;
      out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
  };

  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& family : families_) {
    bool header = false;
    for (const auto& series : family->series) {
      const bool always = series->shown == Shown::kAlways;
      if (series->histogram) {
        Histogram::Snapshot snap = series->histogram->Read();
        if (!always && snap.count == 0) continue;
        if (!header) {
          out += "# HELP " + family->name + " " + EscapeHelp(family->help) +
                 "\n# TYPE " + family->name + " " + family->type + "\n";
          header = true;
        }
        for (size_t i = 0; i < snap.bounds.size(); ++i) {
          sample(family->name, "_bucket", series->labels,
                 "le=\"" + FormatMetricValue(snap.bounds[i]) + "\"",
                 std::to_string(snap.cumulative[i]));
        }
        sample(family->name, "_bucket", series->labels, "le=\"+Inf\"",
               std::to_string(snap.count));
        sample(family->name, "_sum", series->labels, "",
               FormatMetricValue(snap.sum));
        sample(family->name, "_count", series->labels, "",
               std::to_string(snap.count));
        continue;
      }
      std::string value;
      if (series->counter) {
        uint64_t n = series->counter->Value();
        if (!always && n == 0) continue;
        value = std::to_string(n);
      } else if (series->gauge) {
        value = FormatMetricValue(series->gauge->Value());
      } else {
        value = FormatMetricValue(series->read());
      }
      if (!header) {
        out += "# HELP " + family->name + " " + EscapeHelp(family->help) +
               "\n# TYPE " + family->name + " " + family->type + "\n";
        header = true;
      }
      sample(family->name, "", series->labels, "", value);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// What shortyd measures.

void RegisterBuildInfo(Metrics* metrics, std::string_view version) {
  metrics
      ->AddGauge("shorty_build_info",
                 "Always 1; the version of shortyd in the label.",
                 {{"version", std::string(version)}})
      ->Set(1);
}

bool ParseProcessStat(std::string_view stat, double ticks_per_second,
                      double page_size, double boot_time,
                      ProcessFigures* figures) {
  // The command name, in parentheses, may itself hold spaces and ')'; the
  // fields after the last ')' are plain numbers.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return false;
  std::string_view rest = stat.substr(close + 1);
  // Field 3 (state) is token 0, so field N is token N - 3.
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kThreads = 20 - 3,
                   kStart = 22 - 3, kVsize = 23 - 3, kRss = 24 - 3;
  std::array<int64_t, kRss + 1> numbers{};
  size_t token = 0;
  size_t pos = 0;
  while (token <= kRss) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    if (end == pos) return false;
    std::string_view field = rest.substr(pos, end - pos);
    if (token > 0) {  // token 0 is the state letter
      while (!field.empty() && field.back() == '\n') field.remove_suffix(1);
      auto [ptr, ec] = std::from_chars(
          field.data(), field.data() + field.size(), numbers[token]);
      if (ec != std::errc() || ptr != field.data() + field.size()) {
        return false;
      }
    }
    ++token;
    pos = end;
  }
  figures->cpu_seconds =
      static_cast<double>(numbers[kUtime] + numbers[kStime]) / ticks_per_second;
  figures->start_time_seconds =
      boot_time + static_cast<double>(numbers[kStart]) / ticks_per_second;
  figures->virtual_bytes = static_cast<double>(numbers[kVsize]);
  figures->resident_bytes = static_cast<double>(numbers[kRss]) * page_size;
  figures->threads = static_cast<double>(numbers[kThreads]);
  return true;
}

void RegisterProcessMetrics(Metrics* metrics) {
  auto figure = [](double ProcessFigures::*field) {
    return [field] {
      ProcessFigures figures;
      return ReadProcessFigures(&figures) ? figures.*field : kNaN;
    };
  };
  metrics->AddCounterFunc("process_cpu_seconds_total",
                          "Total user and system CPU time spent in seconds.",
                          figure(&ProcessFigures::cpu_seconds));
  metrics->AddGaugeFunc(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      figure(&ProcessFigures::start_time_seconds));
  metrics->AddGaugeFunc("process_virtual_memory_bytes",
                        "Virtual memory size in bytes.",
                        figure(&ProcessFigures::virtual_bytes));
  metrics->AddGaugeFunc("process_resident_memory_bytes",
                        "Resident memory size in bytes.",
                        figure(&ProcessFigures::resident_bytes));
  metrics->AddGaugeFunc("process_threads",
                        "Number of OS threads in the process.",
                        figure(&ProcessFigures::threads));
  metrics->AddGaugeFunc("process_open_fds", "Number of open file descriptors.",
                        OpenFds);
  metrics->AddGaugeFunc("process_max_fds",
                        "Maximum number of open file descriptors.", MaxFds);
}

void RegisterCacheMetrics(Metrics* metrics,
                          std::function<CacheFigures()> figures) {
  auto read = [figures](auto field) {
    return [figures, field] { return static_cast<double>(figures().*field); };
  };
  metrics->AddCounterFunc("shorty_redirect_cache_hits_total",
                          "Redirect lookups answered from the cache.",
                          read(&CacheFigures::hits));
  metrics->AddCounterFunc("shorty_redirect_cache_misses_total",
                          "Redirect lookups that went to the database.",
                          read(&CacheFigures::misses));
  metrics->AddCounterFunc("shorty_redirect_cache_evictions_total",
                          "Links dropped from the full cache to make room.",
                          read(&CacheFigures::evictions));
  metrics->AddGaugeFunc("shorty_redirect_cache_entries",
                        "Links held in the redirect cache.",
                        read(&CacheFigures::entries));
  metrics->AddGaugeFunc("shorty_redirect_cache_capacity",
                        "Links the redirect cache may hold.",
                        read(&CacheFigures::capacity));
}

std::function<double()> CachedFigure(std::function<double()> read,
                                     std::chrono::milliseconds max_age) {
  struct State {
    std::mutex mu;
    std::function<double()> read;
    std::chrono::steady_clock::duration max_age;
    std::chrono::steady_clock::time_point taken;
    bool valid = false;
    double value = 0;
  };
  auto state = std::make_shared<State>();
  state->read = std::move(read);
  state->max_age = max_age;
  return [state] {
    std::lock_guard<std::mutex> lock(state->mu);
    auto now = std::chrono::steady_clock::now();
    if (!state->valid || now - state->taken >= state->max_age) {
      state->value = state->read();
      state->taken = now;
      state->valid = true;
    }
    return state->value;
  };
}

const char* RedirectResultName(RedirectResult result) {
  switch (result) {
    case RedirectResult::kRedirect:
      return "redirect";
    case RedirectResult::kNotFound:
      return "not_found";
    case RedirectResult::kGone:
      return "gone";
    case RedirectResult::kPreview:
      return "preview";
    case RedirectResult::kPassword:
      return "password";
    case RedirectResult::kUnlocked:
      return "unlocked";
    case RedirectResult::kWrongPassword:
      return "wrong_password";
    case RedirectResult::kRateLimited:
      return "rate_limited";
    case RedirectResult::kInvalid:
      return "invalid";
    case RedirectResult::kError:
      return "error";
  }
  return "error";
}

RedirectMetrics::RedirectMetrics(Metrics* metrics) {
  for (size_t i = 0; i < kRedirectResults; ++i) {
    counters_[i] = metrics->AddCounter(
        "shorty_redirects_total",
        "Requests for links (/{slug}, /{slug}+ and the password form) by "
        "what they got.",
        {{"result", RedirectResultName(static_cast<RedirectResult>(i))}});
  }
}

const char* RequestHandlerName(RequestHandler handler) {
  switch (handler) {
    case RequestHandler::kRedirect:
      return "redirect";
    case RequestHandler::kApi:
      return "api";
    case RequestHandler::kWeb:
      return "web";
    case RequestHandler::kUnlock:
      return "unlock";
    case RequestHandler::kHealth:
      return "health";
    case RequestHandler::kMetrics:
      return "metrics";
    case RequestHandler::kOther:
      return "other";
  }
  return "other";
}

RequestHandler ClassifyRequest(std::string_view method,
                               std::string_view target) {
  // The same split as the routes: by the raw target, so that what is
  // counted as a redirect is what went to the redirect handler.
  if (target.substr(0, 3) != "/-/") {
    return method == "GET" || method == "HEAD" ? RequestHandler::kRedirect
                                               : RequestHandler::kOther;
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path.substr(0, 7) == "/-/api/") return RequestHandler::kApi;
  if (path.substr(0, 10) == "/-/unlock/") return RequestHandler::kUnlock;
  if (path == "/-/healthy" || path == "/-/ready")
    return RequestHandler::kHealth;
  if (path == "/-/metrics") return RequestHandler::kMetrics;
  return RequestHandler::kWeb;
}

HttpMetrics::HttpMetrics(Metrics* metrics, std::string_view listener) {
  const size_t codes = sizeof(kStandardCodes) / sizeof(kStandardCodes[0]);
  columns_ = codes + 1;
  column_.fill(static_cast<uint8_t>(codes));  // "other"
  for (size_t i = 0; i < codes; ++i) {
    column_[kStandardCodes[i]] = static_cast<uint8_t>(i);
  }
  const std::string where(listener);
  for (size_t h = 0; h < kRequestHandlers; ++h) {
    const char* handler = RequestHandlerName(static_cast<RequestHandler>(h));
    for (size_t c = 0; c < columns_; ++c) {
      std::string code =
          c < codes ? std::to_string(kStandardCodes[c]) : std::string("other");
      requests_.push_back(metrics->AddCounter(
          "shorty_http_requests_total",
          "HTTP requests answered, by listener, handler and status code.",
          {{"listener", where}, {"handler", handler}, {"code", code}},
          Shown::kOnceUsed));
    }
    durations_[h] = metrics->AddHistogram(
        "shorty_http_request_duration_seconds",
        "Time from reading a request to its response written, by listener "
        "and handler.",
        kLatencyBuckets, {{"listener", where}, {"handler", handler}},
        Shown::kOnceUsed);
  }
}

void HttpMetrics::Record(RequestHandler handler, int status, double seconds) {
  size_t h = static_cast<size_t>(handler);
  size_t column = status >= 0 && status < kMaxCode
                      ? column_[static_cast<size_t>(status)]
                      : columns_ - 1;
  requests_[h * columns_ + column]->Inc();
  durations_[h]->Observe(seconds);
}

VisitWriterMetrics::VisitWriterMetrics(Metrics* metrics)
    : flushes(metrics->AddCounter(
          "shorty_visit_flushes_total",
          "Transactions that wrote counted visits to the database (rounds "
          "with nothing to write are not counted).")),
      failures(metrics->AddCounter(
          "shorty_visit_flush_failures_total",
          "Visit writes that failed; their visits stay pending for the next "
          "round.")),
      written(metrics->AddCounter("shorty_visits_written_total",
                                  "Visits written to the database.")),
      duration(metrics->AddHistogram(
          "shorty_visit_flush_duration_seconds",
          "Time a visit write took, failed ones included.", kLatencyBuckets)) {}

DaemonMetrics::DaemonMetrics() {
  RegisterBuildInfo(&registry, SHORTY_VERSION);
  RegisterProcessMetrics(&registry);
}

}  // namespace shorty
