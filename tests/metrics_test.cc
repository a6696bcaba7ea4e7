// End-to-end tests of shortyd's /-/metrics and /-/ready: the real daemon,
// real requests of every kind, and the exposition read back, checked by
// exact counts and by promtool (Debian's prometheus package).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness.h"

namespace shorty::test {
namespace {

using Samples = std::map<std::string, double>;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Every sample line of an exposition, keyed by its series as written
// ("name{label=\"value\",...}").
Samples Parse(const std::string& text) {
  Samples samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    REQUIRE_MESSAGE(space != std::string::npos, "not a sample: " << line);
    samples[line.substr(0, space)] =
        std::strtod(line.c_str() + space + 1, nullptr);
  }
  return samples;
}

// A sample's value; 0 for a series not (yet) written.
double Value(const Samples& samples, const std::string& series) {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

double Delta(const Samples& before, const Samples& after,
             const std::string& series) {
  return Value(after, series) - Value(before, series);
}

std::string Scrape(const Daemon& d) {
  auto res = d.Control()->Get("/-/metrics");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") ==
        "text/plain; version=0.0.4; charset=utf-8");
  return res->body;
}

// A request is counted just after its response is written, so a client
// can read the answer before the count moves: scrapes until `done` holds,
// for at most 10 s, and returns the last scrape.
template <typename Done>
std::string ScrapeUntil(const Daemon& d, Done done) {
  std::string text = Scrape(d);
  for (int i = 0; i < 1000 && !done(Parse(text)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = Scrape(d);
  }
  return text;
}

// The requests counted in `samples`, over every series but /-/metrics's.
double RequestsButScrapes(const Samples& samples) {
  double n = 0;
  for (const auto& [series, value] : samples) {
    if (series.rfind("shorty_http_requests_total{", 0) == 0 &&
        series.find("handler=\"metrics\"") == std::string::npos) {
      n += value;
    }
  }
  return n;
}

// A scrape once the requests made so far are all counted: when two scrapes
// 20 ms apart count the same.
Samples SettledScrape(const Daemon& d) {
  Samples last = Parse(Scrape(d));
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Samples next = Parse(Scrape(d));
    if (RequestsButScrapes(next) == RequestsButScrapes(last)) return next;
    last = next;
  }
  return last;
}

std::string Redirects(const std::string& result) {
  return "shorty_redirects_total{result=\"" + result + "\"}";
}

std::string Requests(const std::string& listener, const std::string& handler,
                     int code) {
  return "shorty_http_requests_total{listener=\"" + listener + "\",handler=\"" +
         handler + "\",code=\"" + std::to_string(code) + "\"}";
}

std::string Duration(const std::string& listener, const std::string& handler,
                     const std::string& suffix) {
  return "shorty_http_request_duration_seconds" + suffix + "{listener=\"" +
         listener + "\",handler=\"" + handler + "\"}";
}

// promtool from PATH, or "" when it is not installed.
std::string FindPromtool() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string MakeToken(const Daemon& d, const std::string& name,
                      const std::string& scope) {
  Run r = d.Shorty({"token", "create", name, "--scope", scope});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string secret = Trim(r.out);
  REQUIRE(secret.rfind("shorty_", 0) == 0);
  return secret;
}

void Add(const Daemon& d, std::vector<std::string> args) {
  args.insert(args.begin(), "add");
  Run r = d.Shorty(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// Slugs and targets that no metric name or label value contains, so their
// absence from the output means something.
constexpr char kOpen[] = "Qx7openslug";
constexpr char kOld[] = "Qx7oldslug";
constexpr char kLocked[] = "Qx7lockedslug";
constexpr char kCapped[] = "Qx7cappedslug";
constexpr char kPassword[] = "correct horse battery";

TEST_CASE("metrics count every kind of request by exactly what it got") {
  TempDir dir;
  WriteFile(dir / "shortyd.toml", "[limits]\nnot_found_per_minute = 2\n");
  Daemon d(dir, {"--config", dir / "shortyd.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());

  Add(d, {"https://open.qx7-target.example/page", "--slug", kOpen});
  Add(d, {"https://old.qx7-target.example/", "--slug", kOld});
  REQUIRE(d.Shorty({"expire", kOld}).exit_code == 0);
  WriteFile(dir / "pw.txt", std::string(kPassword) + "\n");
  Add(d, {"https://locked.qx7-target.example/", "--slug", kLocked,
          "--password-file", dir / "pw.txt"});
  Add(d, {"https://capped.qx7-target.example/", "--slug", kCapped,
          "--max-visits", "1"});
  const std::string reader = MakeToken(d, "qx7reader", "read");
  const std::string writer = MakeToken(d, "qx7writer", "write");

  const Samples before = SettledScrape(d);
  const std::string open = std::string("/") + kOpen;

  // Over the control socket, where no rate limit applies.
  auto control = d.Control();
  for (int i = 0; i < 3; ++i) {
    auto r = control->Get(open.c_str());
    REQUIRE(r);
    CHECK(r->status == 302);
  }
  auto head = control->Head(open.c_str());
  REQUIRE(head);
  CHECK(head->status == 302);
  auto capped = control->Get((std::string("/") + kCapped).c_str());
  REQUIRE(capped);
  CHECK(capped->status == 302);
  auto used_up = control->Get((std::string("/") + kCapped).c_str());
  REQUIRE(used_up);
  CHECK(used_up->status == 410);
  auto expired = control->Get((std::string("/") + kOld).c_str());
  REQUIRE(expired);
  CHECK(expired->status == 410);
  auto unknown = control->Get("/Qx7unknown");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  auto malformed = control->Get("/not.a.slug");
  REQUIRE(malformed);
  CHECK(malformed->status == 404);
  auto preview = control->Get((open + "+").c_str());
  REQUIRE(preview);
  CHECK(preview->status == 200);
  auto form = control->Get((std::string("/") + kLocked).c_str());
  REQUIRE(form);
  CHECK(form->status == 200);
  const std::string unlock = std::string("/-/unlock/") + kLocked;
  auto wrong = control->Post(
      unlock.c_str(), httplib::Params{{"password", "wrong one"}, {"rest", ""}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = control->Post(
      unlock.c_str(), httplib::Params{{"password", kPassword}, {"rest", ""}});
  REQUIRE(right);
  CHECK(right->status == 302);
  auto refused = control->Get((open + "/%2E%2E/etc").c_str());
  REQUIRE(refused);
  CHECK(refused->status == 400);
  auto api = control->Get("/-/api/v1/links");
  REQUIRE(api);
  CHECK(api->status == 200);

  // Over HTTP: two unknown slugs use up this client's budget, then every
  // visit is refused for a while.
  auto http = d.Http();
  for (const char* path : {"/Qx7miss1", "/Qx7miss2"}) {
    auto r = http->Get(path);
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  for (const std::string& path : {std::string("/Qx7miss3"), open}) {
    auto r = http->Get(path.c_str());
    REQUIRE(r);
    CHECK(r->status == 429);
  }
  auto healthy = http->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  auto signin = http->Get("/-/signin");
  REQUIRE(signin);
  CHECK(signin->status == 200);
  httplib::Headers bearer = {{"Authorization", "Bearer " + writer}};
  auto created = http->Post("/-/api/v1/links", bearer,
                            R"({"target": "https://new.qx7-target.example/",
                                "slug": "Qx7newslug"})",
                            "application/json");
  REQUIRE(created);
  CHECK(created->status == 201);
  auto denied = http->Get("/-/api/v1/links");
  REQUIRE(denied);
  CHECK(denied->status == 401);

  // 15 requests over the control socket and 8 over HTTP.
  const double requests_before = RequestsButScrapes(before);
  const std::string text = ScrapeUntil(d, [&](const Samples& s) {
    return RequestsButScrapes(s) - requests_before >= 23;
  });
  const Samples after = Parse(text);
  // What moved, for the failure messages below.
  std::string moved;
  for (const auto& [series, value] : after) {
    double delta = value - Value(before, series);
    if (delta != 0 && series.rfind("shorty_http_requests_total", 0) == 0) {
      moved += series + " +" + std::to_string(delta) + "\n";
    }
  }
  INFO("requests counted:\n", moved);
  CHECK(RequestsButScrapes(after) - requests_before == 23);

  // Redirect results.
  {
    CHECK(Delta(before, after, Redirects("redirect")) == 5);
    CHECK(Delta(before, after, Redirects("gone")) == 2);
    CHECK(Delta(before, after, Redirects("not_found")) == 4);
    CHECK(Delta(before, after, Redirects("preview")) == 1);
    CHECK(Delta(before, after, Redirects("password")) == 1);
    CHECK(Delta(before, after, Redirects("wrong_password")) == 1);
    CHECK(Delta(before, after, Redirects("unlocked")) == 1);
    CHECK(Delta(before, after, Redirects("invalid")) == 1);
    CHECK(Delta(before, after, Redirects("rate_limited")) == 2);
    // Written even while zero.
    REQUIRE(after.count(Redirects("error")) == 1);
    CHECK(Value(after, Redirects("error")) == 0);
  }

  // HTTP requests by listener, handler and status.
  {
    CHECK(Delta(before, after, Requests("control", "redirect", 302)) == 5);
    CHECK(Delta(before, after, Requests("control", "redirect", 410)) == 2);
    CHECK(Delta(before, after, Requests("control", "redirect", 404)) == 2);
    CHECK(Delta(before, after, Requests("control", "redirect", 200)) == 2);
    CHECK(Delta(before, after, Requests("control", "redirect", 400)) == 1);
    CHECK(Delta(before, after, Requests("control", "unlock", 401)) == 1);
    CHECK(Delta(before, after, Requests("control", "unlock", 302)) == 1);
    CHECK(Delta(before, after, Requests("control", "api", 200)) == 1);
    // At least the first scrape, counted once its answer was written.
    CHECK(Delta(before, after, Requests("control", "metrics", 200)) >= 1);
    CHECK(Delta(before, after, Requests("http", "redirect", 404)) == 2);
    CHECK(Delta(before, after, Requests("http", "redirect", 429)) == 2);
    CHECK(Delta(before, after, Requests("http", "health", 200)) == 1);
    CHECK(Delta(before, after, Requests("http", "web", 200)) == 1);
    CHECK(Delta(before, after, Requests("http", "api", 201)) == 1);
    CHECK(Delta(before, after, Requests("http", "api", 401)) == 1);

    // Each histogram counts what its counters count, and its +Inf bucket
    // is its count.
    CHECK(Delta(before, after, Duration("control", "redirect", "_count")) ==
          12);
    CHECK(Delta(before, after, Duration("control", "unlock", "_count")) == 2);
    CHECK(Delta(before, after, Duration("http", "redirect", "_count")) == 4);
    CHECK(Delta(before, after, Duration("http", "api", "_count")) == 2);
    for (const char* handler : {"redirect", "unlock", "api"}) {
      CAPTURE(handler);
      const std::string count = Duration("control", handler, "_count");
      std::string inf = Duration("control", handler, "_bucket");
      inf.insert(inf.size() - 1, ",le=\"+Inf\"");
      CHECK(Value(after, inf) == Value(after, count));
      CHECK(Value(after, Duration("control", handler, "_sum")) > 0);
    }
  }

  // The visit writer, the database and the process.
  {
    // Three GETs of the open link and the unlocked visit; a HEAD counts no
    // visit, and the capped link's is counted in the database at once.
    // The link count is read at most every 5 s.
    const Samples later = Parse(ScrapeUntil(d, [](const Samples& s) {
      return Value(s, "shorty_visits_written_total") >= 4 &&
             Value(s, "shorty_links") == 5;
    }));
    CHECK(Delta(before, later, "shorty_visits_written_total") == 4);
    CHECK(Delta(before, later, "shorty_visit_flushes_total") >= 1);
    CHECK(Value(later, "shorty_visit_flush_duration_seconds_count") ==
          Value(later, "shorty_visit_flushes_total") +
              Value(later, "shorty_visit_flush_failures_total"));
    CHECK(Value(later, "shorty_visit_flush_failures_total") == 0);
    CHECK(Value(later, "shorty_visits_pending") == 0);
    CHECK(Value(later, "shorty_links") == 5);
    CHECK(Delta(before, later,
                "shorty_db_operation_duration_seconds_count{operation="
                "\"consume_limited_visit\"}") >= 1);
    CHECK(Value(later, "shorty_db_errors_total{operation=\"get_link\"}") == 0);
    CHECK(Value(later, "shorty_build_info{version=\"" SHORTY_VERSION "\"}") ==
          1);
    CHECK(Value(later, "process_resident_memory_bytes") > 1e6);
    CHECK(Value(later, "process_open_fds") > 3);
    CHECK(Value(later, "process_max_fds") >= Value(later, "process_open_fds"));
    CHECK(Value(later, "process_threads") > 4);
    double started = Value(later, "process_start_time_seconds");
    double now = static_cast<double>(std::time(nullptr));
    CHECK(started <= now + 1);
    CHECK(started > now - 600);
  }

  // No slug, target or token name is in the output.
  {
    for (const char* secret :
         {kOpen, kOld, kLocked, kCapped, "Qx7newslug", "Qx7unknown", "Qx7miss",
          "qx7-target", "qx7reader", "qx7writer"}) {
      CAPTURE(secret);
      CHECK_FALSE(Contains(text, secret));
      // Nor in another case (slugs are folded when links are looked up).
      std::string lower = secret;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      std::string folded = text;
      for (char& c : folded) c = static_cast<char>(std::tolower(c));
      CHECK_FALSE(Contains(folded, lower));
    }
    CHECK_FALSE(Contains(text, reader));
    CHECK_FALSE(Contains(text, "127.0.0.1"));
  }

  // promtool accepts the output without a lint problem.
  {
    const std::string promtool = FindPromtool();
    REQUIRE_MESSAGE(!promtool.empty(),
                    "promtool is not installed: run scripts/install-deps "
                    "(Debian's prometheus package)");
    Run check = RunProgram({promtool, "check", "metrics"}, {}, text);
    CHECK_MESSAGE(check.exit_code == 0, check.out, check.err);
    CHECK_MESSAGE(Trim(check.out + check.err).empty(), check.out, check.err);
  }
}

TEST_CASE("/-/metrics over HTTP needs a token unless made public") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  const std::string reader = MakeToken(d, "scraper", "read");
  auto http = d.Http();

  auto none = http->Get("/-/metrics");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(none->get_header_value("WWW-Authenticate") ==
        "Bearer realm=\"shorty\"");
  CHECK(Contains(none->body, "\"error\""));
  CHECK_FALSE(Contains(none->body, "shorty_"));
  // The API's 401, byte for byte.
  auto api = http->Get("/-/api/v1/links");
  REQUIRE(api);
  CHECK(none->body == api->body);

  auto bad = http->Get("/-/metrics", {{"Authorization", "Bearer shorty_nope"}});
  REQUIRE(bad);
  CHECK(bad->status == 401);
  auto in_url = http->Get(("/-/metrics?token=" + reader).c_str());
  REQUIRE(in_url);
  CHECK(in_url->status == 401);

  auto good = http->Get("/-/metrics", {{"Authorization", "Bearer " + reader}});
  REQUIRE(good);
  CHECK(good->status == 200);
  CHECK(good->get_header_value("Content-Type") ==
        "text/plain; version=0.0.4; charset=utf-8");
  CHECK(Contains(good->body, "# TYPE shorty_redirects_total counter\n"));
  const std::string refused =
      "shorty_http_requests_total{listener=\"http\","
      "handler=\"metrics\",code=\"401\"}";
  CHECK(Value(Parse(ScrapeUntil(
                  d, [&](const Samples& s) { return Value(s, refused) >= 3; })),
              refused) == 3);

  WriteFile(dir / "shortyd.toml", "[server]\nmetrics_public = true\n");
  d.Stop();
  Daemon open(dir, {"--config", dir / "shortyd.toml"});
  REQUIRE_MESSAGE(open.Start(), open.log());
  auto anyone = open.Http()->Get("/-/metrics");
  REQUIRE(anyone);
  CHECK(anyone->status == 200);
  CHECK(Contains(anyone->body, "shorty_build_info"));
}

// Polls GET /-/ready until its status is `status` (probes are at most one a
// second), for at most 5 s; the last answer.
httplib::Result WaitReady(const Daemon& d, int status) {
  auto http = d.Http();
  httplib::Result res = http->Get("/-/ready");
  for (int i = 0; i < 100 && res && res->status != status; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    res = http->Get("/-/ready");
  }
  return res;
}

TEST_CASE("/-/ready says the database is gone while its file is moved away") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  Add(d, {"https://example.com/", "--slug", "kept"});
  auto ready = d.Http()->Get("/-/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body == "ready\n");

  const std::string moved = dir / "moved.db";
  REQUIRE(std::rename(d.db().c_str(), moved.c_str()) == 0);
  auto gone = WaitReady(d, 503);
  REQUIRE(gone);
  CHECK(gone->status == 503);
  CHECK(gone->body.rfind("not ready: database: ", 0) == 0);
  CHECK(Contains(gone->body, d.db()));
  CHECK(Contains(gone->body, "moved or deleted"));
  // One line.
  CHECK(gone->body.find('\n') == gone->body.size() - 1);
  // Liveness does not look at the database.
  auto healthy = d.Http()->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  Run status = d.Shorty({"--json", "status"});
  CHECK(Contains(status.out, "\"ready\":false"));

  REQUIRE(std::rename(moved.c_str(), d.db().c_str()) == 0);
  auto back = WaitReady(d, 200);
  REQUIRE(back);
  CHECK(back->status == 200);
  CHECK(back->body == "ready\n");
  auto link = d.Http()->Get("/kept");
  REQUIRE(link);
  CHECK(link->status == 302);
  CHECK(d.Stop() == 0);
}

}  // namespace
}  // namespace shorty::test
