// Several stateless shortyd nodes over one PostgreSQL, end to end: a link
// made on one node redirects on the others, an edit reaches every node's
// redirect cache through PostgreSQL's change notices, a node may stop, and
// PostgreSQL may stop and come back without a restart of any node. Also
// shortyd migrate from a SQLite shortyd into PostgreSQL.
//
// Run by tests/pg/with-postgres.sh, which starts a throwaway PostgreSQL
// server and says where: SHORTY_TEST_PG (a connection string),
// SHORTY_TEST_PGDATA, SHORTY_TEST_PGBIN and SHORTY_TEST_PG_RUNAS (the user
// to run pg_ctl as when the test runs as root). Each test makes a database
// of its own and drops it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness.h"

namespace shorty::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

json Json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << text);
  return j;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The throwaway server tests/pg/with-postgres.sh started. Stop() and
// Start() stop and start it as a whole, as an outage would.
class Postgres {
 public:
  Postgres()
      : conninfo_(Env("SHORTY_TEST_PG")),
        data_(Env("SHORTY_TEST_PGDATA")),
        bin_(Env("SHORTY_TEST_PGBIN")),
        runas_(Env("SHORTY_TEST_PG_RUNAS")),
        log_(Env("SHORTY_TEST_PGLOG")) {
    REQUIRE_MESSAGE(!conninfo_.empty(),
                    "SHORTY_TEST_PG is not set: run cluster_test through "
                    "tests/pg/with-postgres.sh, as ctest does");
    const bool told = !data_.empty() && !bin_.empty() && !log_.empty();
    REQUIRE_MESSAGE(
        told,
        "SHORTY_TEST_PGDATA, SHORTY_TEST_PGBIN and "
        "SHORTY_TEST_PGLOG must be set by tests/pg/with-postgres.sh");
  }
  // A server stopped by a test that failed half-way is up for the next.
  ~Postgres() {
    if (stopped_ &&
        RunPgCtl({"start", "-D", data_, "-l", log_, "-w", "-t", "60"})
                .exit_code != 0) {
      std::fprintf(stderr, "cluster_test: could not start PostgreSQL again\n");
    }
  }

  const std::string& conninfo() const { return conninfo_; }

  // The connection string for another database of the same server.
  std::string ConninfoFor(const std::string& database) const {
    if (conninfo_.rfind("postgres://", 0) == 0 ||
        conninfo_.rfind("postgresql://", 0) == 0) {
      // postgresql://user@host:port/db?params: the path names the database.
      const size_t authority = conninfo_.find("://") + 3;
      const size_t path = conninfo_.find_first_of("/?", authority);
      std::string out = conninfo_.substr(0, path) + "/" + database;
      if (path != std::string::npos && conninfo_[path] == '?') {
        out += conninfo_.substr(path);
      } else if (path != std::string::npos) {
        const size_t query = conninfo_.find('?', path);
        if (query != std::string::npos) out += conninfo_.substr(query);
      }
      return out;
    }
    // In keyword = value form, a later keyword wins over an earlier one.
    return conninfo_ + " dbname=" + database;
  }

  // Runs SQL with psql on the database `conninfo` names; its output.
  std::string Sql(const std::string& conninfo, const std::string& sql) {
    Run r = RunProgram({bin_ + "/psql", "-X", "-q", "-A", "-t", "-v",
                        "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql});
    REQUIRE_MESSAGE(r.exit_code == 0, "psql: " << sql << ": " << r.err);
    return Trim(r.out);
  }

  void Stop() {
    PgCtl({"stop", "-D", data_, "-m", "fast", "-w", "-t", "60"});
    stopped_ = true;
  }

  // with-postgres.sh keeps the server's settings in its data directory, so
  // pg_ctl start needs no options to start the same server again.
  void Start() {
    PgCtl({"start", "-D", data_, "-l", log_, "-w", "-t", "60"});
    stopped_ = false;
  }

 private:
  // pg_ctl as the server's user, from a directory that user may enter.
  Run RunPgCtl(const std::vector<std::string>& args) const {
    const std::string home = data_.substr(0, data_.rfind('/'));
    std::vector<std::string> argv;
    if (!runas_.empty()) argv = {Runuser(), "-u", runas_, "--"};
    argv.insert(argv.end(), {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", home,
                             bin_ + "/pg_ctl"});
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv);
  }

  void PgCtl(const std::vector<std::string>& args) {
    Run r = RunPgCtl(args);
    REQUIRE_MESSAGE(r.exit_code == 0,
                    "pg_ctl " << args[0] << ": " << r.out << r.err);
  }

  static std::string Runuser() {
    for (const char* path : {"/usr/sbin/runuser", "/sbin/runuser"}) {
      if (access(path, X_OK) == 0) return path;
    }
    return "runuser";
  }

  std::string conninfo_;
  std::string data_;
  std::string bin_;
  std::string runas_;
  std::string log_;
  bool stopped_ = false;
};

// A database of its own for one test, dropped at the end.
class Database {
 public:
  Database(Postgres* pg, const std::string& label) : pg_(pg) {
    static std::atomic<int> counter{0};
    name_ = "shorty_" + label + "_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++);
    pg_->Sql(pg_->conninfo(), "CREATE DATABASE " + name_);
    conninfo_ = pg_->ConninfoFor(name_);
  }
  ~Database() {
    // WITH (FORCE): a node killed without closing may still hold a session.
    Run r = RunProgram({Env("SHORTY_TEST_PGBIN") + "/psql", "-X", "-q", "-d",
                        pg_->conninfo(), "-c",
                        "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"});
    if (r.exit_code != 0) {
      std::fprintf(stderr, "cluster_test: could not drop %s: %s\n",
                   name_.c_str(), r.err.c_str());
    }
  }
  const std::string& conninfo() const { return conninfo_; }

 private:
  Postgres* pg_;
  std::string name_;
  std::string conninfo_;
};

// One shortyd over PostgreSQL, with a directory of its own for its socket
// and log.
class Node {
 public:
  Node(const std::string& conninfo,
       const std::map<std::string, std::string>& extra = {})
      : daemon_(dir_) {
    std::map<std::string, std::string> env = {
        {"SHORTY_STORAGE_BACKEND", "postgres"},
        {"SHORTY_STORAGE_POSTGRES", conninfo},
        {"SHORTY_STORAGE_POSTGRES_CONNECTIONS", "4"},
        // Tests poll unknown slugs and create in bursts.
        {"SHORTY_LIMITS_NOT_FOUND_PER_MINUTE", "0"},
        {"SHORTY_LIMITS_CREATE_PER_MINUTE", "0"},
        {"SHORTY_VISITS_FLUSH_INTERVAL", "100ms"},
    };
    for (const auto& [key, value] : extra) env[key] = value;
    daemon_.set_env(env);
  }
  Daemon& operator*() { return daemon_; }
  Daemon* operator->() { return &daemon_; }

 private:
  TempDir dir_;
  Daemon daemon_;
};

void StartAll(const std::vector<Node*>& nodes) {
  for (Node* node : nodes) {
    REQUIRE_MESSAGE((*node)->Start(), (*node)->log());
  }
}

// POST /-/api/v1/links over the control socket; the response.
httplib::Result Create(const Daemon& d, const std::string& slug,
                       const std::string& target) {
  json body = {{"target", target}, {"slug", slug}};
  return d.Control()->Post("/-/api/v1/links", body.dump(), "application/json");
}

void MustCreate(const Daemon& d, const std::string& slug,
                const std::string& target) {
  auto res = Create(d, slug, target);
  REQUIRE(res);
  REQUIRE_MESSAGE(res->status == 201, res->status << " " << res->body);
}

void MustEdit(const Daemon& d, const std::string& slug,
              const std::string& target) {
  json body = {{"target", target}};
  auto res = d.Control()->Patch(("/-/api/v1/links/" + slug).c_str(),
                                body.dump(), "application/json");
  REQUIRE(res);
  REQUIRE_MESSAGE(res->status == 200, res->status << " " << res->body);
}

// What GET /{slug} on `client` gets: the Location of a redirect, or
// "<status>" for anything else ("404", "503"), "!" when nothing answered.
std::string Visit(httplib::Client& client, const std::string& slug) {
  auto res = client.Get(("/" + slug).c_str());
  if (!res) return "!";
  if (res->status == 302) return res->get_header_value("Location");
  return std::to_string(res->status);
}

std::unique_ptr<httplib::Client> KeepAlive(const Daemon& d) {
  auto client = d.Http();
  client->set_keep_alive(true);
  return client;
}

// Seconds until `slug` redirects to `location` on every client, polling
// every millisecond; -1 after `timeout` seconds.
double WaitForRedirect(const std::vector<httplib::Client*>& clients,
                       const std::string& slug, const std::string& location,
                       Clock::time_point since, double timeout = 5) {
  for (httplib::Client* client : clients) {
    while (Visit(*client, slug) != location) {
      if (SecondsSince(since) > timeout) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return SecondsSince(since);
}

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

Percentiles Summarize(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * seconds.size()));
    return seconds[std::max<size_t>(rank, 1) - 1];
  };
  return {at(0.50), at(0.99), seconds.back()};
}

std::string Ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f ms", seconds * 1000);
  return buf;
}

// A counter from /-/metrics over the control socket; -1 when absent.
double Metric(const Daemon& d, const std::string& name) {
  auto res = d.Control()->Get("/-/metrics");
  REQUIRE(res);
  const std::regex line("(^|\n)" + name + " ([0-9.e+]+)");
  std::smatch m;
  if (!std::regex_search(res->body, m, line)) return -1;
  return std::stod(m[2]);
}

// Visits `slug` on `d` until a visit is answered from its redirect cache
// (shorty_redirect_cache_hits_total goes up) with `location`; false after
// 20 visits.
bool Cached(const Daemon& d, httplib::Client& client, const std::string& slug,
            const std::string& location) {
  for (int visit = 0; visit < 20; ++visit) {
    const double hits = Metric(d, "shorty_redirect_cache_hits_total");
    if (Visit(client, slug) != location) return false;
    if (Metric(d, "shorty_redirect_cache_hits_total") > hits) return true;
  }
  return false;
}

int Status(httplib::Client& client, const std::string& path) {
  auto res = client.Get(path.c_str());
  return res ? res->status : -1;
}

TEST_CASE("cluster: a link created on one node redirects on the others") {
  Postgres pg;
  Database db(&pg, "create");
  Node a(db.conninfo()), b(db.conninfo()), c(db.conninfo());
  StartAll({&a, &b, &c});
  auto on_b = KeepAlive(*b);
  auto on_c = KeepAlive(*c);

  constexpr int kLinks = 50;
  std::vector<double> delays;
  for (int i = 0; i < kLinks; ++i) {
    const std::string slug = "made-on-a-" + std::to_string(i);
    const std::string target =
        "https://example.com/created/" + std::to_string(i);
    CHECK(Visit(*on_c, slug) == "404");
    MustCreate(*a, slug, target);
    // From the create's answer: when a client could hand the link on.
    const double delay =
        WaitForRedirect({on_c.get()}, slug, target, Clock::now());
    REQUIRE_MESSAGE(delay >= 0, "link " << slug << " never redirected on C");
    CHECK(delay < 1.0);
    delays.push_back(delay);
  }
  for (int i = 0; i < kLinks; ++i) {
    CHECK(Visit(*on_b, "made-on-a-" + std::to_string(i)) ==
          "https://example.com/created/" + std::to_string(i));
  }
  const Percentiles p = Summarize(delays);
  std::printf(
      "cluster_test: create on A -> redirect on C over %d links: p50 %s, "
      "p99 %s, max %s\n",
      kLinks, Ms(p.p50).c_str(), Ms(p.p99).c_str(), Ms(p.max).c_str());
  CHECK(p.p99 < 1.0);
}

TEST_CASE("cluster: an edit on one node reaches the caches of the others") {
  Postgres pg;
  Database db(&pg, "edit");
  Node a(db.conninfo()), b(db.conninfo()), c(db.conninfo());
  StartAll({&a, &b, &c});
  auto on_a = KeepAlive(*a);
  auto on_c = KeepAlive(*c);

  constexpr int kLinks = 20;
  std::vector<double> delays;
  for (int i = 0; i < kLinks; ++i) {
    const std::string slug = "edited-" + std::to_string(i);
    const std::string before =
        "https://example.com/before/" + std::to_string(i);
    const std::string after = "https://example.com/after/" + std::to_string(i);
    MustCreate(*a, slug, before);
    // A and C read the link and keep it: a visit is answered from the
    // cache. (The notice of the create itself may drop the first copy.)
    REQUIRE(Cached(*a, *on_a, slug, before));
    REQUIRE(Cached(*c, *on_c, slug, before));
    MustEdit(*b, slug, after);
    const double delay =
        WaitForRedirect({on_a.get(), on_c.get()}, slug, after, Clock::now());
    REQUIRE_MESSAGE(delay >= 0,
                    "the edit of " << slug << " never reached A and C");
    CHECK(delay < 1.0);
    delays.push_back(delay);
  }
  const Percentiles p = Summarize(delays);
  std::printf(
      "cluster_test: edit on B -> served by A and C over %d cached links: "
      "p50 %s, p99 %s, max %s\n",
      kLinks, Ms(p.p50).c_str(), Ms(p.p99).c_str(), Ms(p.max).c_str());

  // What made it so: change notices dropped the cached links.
  CHECK(Metric(*a, "shorty_redirect_cache_remote_invalidations_total") >=
        kLinks);
  CHECK(Metric(*c, "shorty_redirect_cache_remote_invalidations_total") >=
        kLinks);
  CHECK(Metric(*a, "shorty_redirect_cache_resyncs_total") >= 1);

  // A delete on B stops the redirect on A and C, cached or not.
  REQUIRE(Visit(*on_a, "edited-0") == "https://example.com/after/0");
  auto removed = b->Control()->Delete("/-/api/v1/links/edited-0");
  REQUIRE(removed);
  REQUIRE(removed->status == 204);
  CHECK(WaitForRedirect({on_a.get(), on_c.get()}, "edited-0", "404",
                        Clock::now()) < 1.0);

  // Disabling is an edit too: 410 everywhere.
  json disable = {{"disabled", true}};
  auto disabled = b->Control()->Patch("/-/api/v1/links/edited-1",
                                      disable.dump(), "application/json");
  REQUIRE(disabled);
  REQUIRE(disabled->status == 200);
  const double gone = WaitForRedirect({on_a.get(), on_c.get()}, "edited-1",
                                      "410", Clock::now());
  CHECK(gone >= 0);
  CHECK(gone < 1.0);
}

TEST_CASE("cluster: a node that stops leaves the others serving") {
  Postgres pg;
  Database db(&pg, "stop");
  Node a(db.conninfo()), b(db.conninfo()), c(db.conninfo());
  StartAll({&a, &b, &c});
  auto on_a = KeepAlive(*a);
  auto on_c = KeepAlive(*c);
  MustCreate(*b, "from-b", "https://example.com/from-b");
  REQUIRE(Visit(*on_a, "from-b") == "https://example.com/from-b");
  REQUIRE(Visit(*on_c, "from-b") == "https://example.com/from-b");

  CHECK(b->Stop() == 0);

  CHECK(Visit(*on_a, "from-b") == "https://example.com/from-b");
  CHECK(Visit(*on_c, "from-b") == "https://example.com/from-b");
  MustCreate(*a, "after-b", "https://example.com/after-b");
  CHECK(WaitForRedirect({on_c.get()}, "after-b", "https://example.com/after-b",
                        Clock::now()) < 1.0);
  MustEdit(*c, "from-b", "https://example.com/edited-on-c");
  CHECK(WaitForRedirect({on_a.get()}, "from-b",
                        "https://example.com/edited-on-c", Clock::now()) < 1.0);
  CHECK(Status(*on_a, "/-/ready") == 200);
  CHECK(Status(*on_c, "/-/ready") == 200);

  // A node that comes back serves what was written while it was away.
  REQUIRE_MESSAGE(b->Start(), b->log());
  auto on_b = KeepAlive(*b);
  CHECK(Visit(*on_b, "after-b") == "https://example.com/after-b");
  CHECK(Visit(*on_b, "from-b") == "https://example.com/edited-on-c");

  // Backups of a PostgreSQL database are PostgreSQL's business.
  TempDir out;
  Run backup = a->Shorty({"backup", out / "links.db"});
  CHECK(backup.exit_code == 1);
  CHECK_MESSAGE(backup.err.find("pg_dump") != std::string::npos, backup.err);
}

TEST_CASE(
    "cluster: without PostgreSQL cached links redirect and writes get 503; "
    "when it is back every node recovers without a restart") {
  Postgres pg;
  Database db(&pg, "outage");
  Node a(db.conninfo()), b(db.conninfo()), c(db.conninfo());
  StartAll({&a, &b, &c});
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (Node* node : {&a, &b, &c}) clients.push_back(KeepAlive(**node));

  const int kLinks = 5;
  auto target_of = [](int i) {
    return "https://example.com/kept/" + std::to_string(i);
  };
  for (int i = 0; i < kLinks; ++i) {
    MustCreate(*a, "kept-" + std::to_string(i), target_of(i));
  }
  // Every node reads every link, and keeps it.
  const std::vector<Node*> nodes = {&a, &b, &c};
  for (size_t k = 0; k < nodes.size(); ++k) {
    for (int i = 0; i < kLinks; ++i) {
      REQUIRE(Cached(**nodes[k], *clients[k], "kept-" + std::to_string(i),
                     target_of(i)));
    }
  }

  pg.Stop();

  for (auto& client : clients) {
    for (int i = 0; i < kLinks; ++i) {
      CHECK(Visit(*client, "kept-" + std::to_string(i)) == target_of(i));
    }
  }
  for (Node* node : {&a, &b, &c}) {
    auto res = Create(**node, "while-down", "https://example.com/down");
    REQUIRE(res);
    CHECK(res->status == 503);
    json error = Json(res->body);
    CHECK(error["error"]["code"] == "unavailable");
    const std::string message = error["error"]["message"];
    INFO(message);
    CHECK(message.find("PostgreSQL") != std::string::npos);
    CHECK(message.find("password") == std::string::npos);
  }
  for (auto& client : clients) {
    // A link no node holds cannot be looked up: 503, not a false 404.
    CHECK(Visit(*client, "never-cached") == "503");
    // Not ready (the probe asks at most once a second), yet alive.
    const auto since = Clock::now();
    while (Status(*client, "/-/ready") != 503 && SecondsSince(since) < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(Status(*client, "/-/ready") == 503);
    CHECK(Status(*client, "/-/healthy") == 200);
  }

  // A node started now waits for PostgreSQL (storage.postgres_wait), or
  // with no wait gives up at once and says why.
  Node impatient(db.conninfo(), {{"SHORTY_STORAGE_POSTGRES_WAIT", "0s"}});
  CHECK_FALSE(impatient->Start());
  CHECK(impatient->exit_code() == 1);
  const std::string said = impatient->log();
  CHECK_MESSAGE(said.find("cannot start: cannot connect to PostgreSQL") !=
                    std::string::npos,
                said);
  Node patient(db.conninfo(), {{"SHORTY_STORAGE_POSTGRES_WAIT", "60s"}});
  bool patient_started = false;
  std::thread waiting([&patient, &patient_started] {
    patient_started = patient->Start(60000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  pg.Start();
  const auto back_at = Clock::now();

  // Every node takes writes again, by itself.
  std::vector<double> recovered;
  int n = 0;
  for (Node* node : {&a, &b, &c}) {
    const std::string slug = "after-outage-" + std::to_string(n++);
    for (;;) {
      auto res = Create(**node, slug, "https://example.com/" + slug);
      REQUIRE(res);
      if (res->status == 201) break;
      REQUIRE_MESSAGE(res->status == 503, res->status << " " << res->body);
      REQUIRE_MESSAGE(SecondsSince(back_at) < 15,
                      "no write accepted 15 s after PostgreSQL came back");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    recovered.push_back(SecondsSince(back_at));
  }
  waiting.join();
  REQUIRE_MESSAGE(patient_started, patient->log());
  CHECK(patient->log().find("waiting for PostgreSQL, for up to 60s") !=
        std::string::npos);
  std::printf(
      "cluster_test: every node accepted writes again %s after "
      "PostgreSQL was back\n",
      Ms(*std::max_element(recovered.begin(), recovered.end())).c_str());

  // Change notices flow again: a link made on A redirects on C, and an
  // edit on B reaches what A and C cached before the outage.
  MustCreate(*a, "new-after-outage", "https://example.com/new");
  CHECK(WaitForRedirect({clients[2].get()}, "new-after-outage",
                        "https://example.com/new", Clock::now()) < 1.0);
  for (auto& client : clients) {
    REQUIRE(Visit(*client, "kept-0") == target_of(0));
  }
  MustEdit(*b, "kept-0", "https://example.com/kept/edited");
  const double edit =
      WaitForRedirect({clients[0].get(), clients[2].get()}, "kept-0",
                      "https://example.com/kept/edited", Clock::now());
  CHECK(edit >= 0);
  CHECK(edit < 1.0);
  auto on_patient = KeepAlive(*patient);
  CHECK(Visit(*on_patient, "kept-0") == "https://example.com/kept/edited");

  for (auto& client : clients) {
    const auto since = Clock::now();
    while (Status(*client, "/-/ready") != 200 && SecondsSince(since) < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(Status(*client, "/-/ready") == 200);
  }
  // The same processes all along.
  for (Node* node : {&a, &b, &c}) CHECK((*node)->Wait(0) == -1);
  // Each listener lost its connection and made a new one.
  CHECK(Metric(*a, "shorty_redirect_cache_resyncs_total") >= 2);
  // And each node still shuts down cleanly.
  for (Node* node : {&a, &b, &c, &patient}) CHECK((*node)->Stop() == 0);
}

// Reads a link, its history and its stats as the API shows them.
json Snapshot(const Daemon& d, const std::string& slug) {
  auto client = d.Control();
  auto link = client->Get(("/-/api/v1/links/" + slug).c_str());
  auto history = client->Get(("/-/api/v1/links/" + slug + "/history").c_str());
  auto stats =
      client->Get(("/-/api/v1/links/" + slug + "/stats?since=30d").c_str());
  REQUIRE(link);
  REQUIRE(history);
  REQUIRE(stats);
  json counted = Json(stats->body);
  counted.erase("since");  // the time of asking
  counted.erase("until");
  json out = {{"status", link->status},
              {"history", Json(history->body)["history"]},
              {"stats", counted}};
  if (link->status == 200) {
    json j = Json(link->body);
    j.erase("short_url");  // names the node
    out["link"] = j;
  }
  return out;
}

TEST_CASE("migrate: a SQLite shortyd's links, history, tokens and visits") {
  Postgres pg;
  Database db(&pg, "migrate");
  TempDir dir;
  Daemon sqlite(dir);
  sqlite.set_env({{"SHORTY_VISITS_FLUSH_INTERVAL", "100ms"},
                  {"SHORTY_LIMITS_NOT_FOUND_PER_MINUTE", "0"}});
  REQUIRE_MESSAGE(sqlite.Start(), sqlite.log());

  // Links of every kind, with history; a deleted one; tokens.
  auto add = [&](std::vector<std::string> args) {
    Run r = sqlite.Shorty(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  add({"add", "https://example.com/wiki", "--slug", "Wiki", "--tag", "docs",
       "--tag", "team", "--title", "The wiki"});
  add({"add", "https://example.com/once", "--slug", "once", "--max-visits",
       "10", "--status", "307"});
  add({"add", "https://example.com/later", "--slug", "later", "--expires",
       "2099-01-01"});
  add({"add", "https://example.com/old", "--slug", "gone"});
  add({"edit", "Wiki", "--url", "https://example.com/wiki/home"});
  add({"edit", "later", "--title", "Later on"});
  add({"rm", "gone"});
  Run token =
      sqlite.Shorty({"token", "create", "deployer", "--scope", "write"});
  REQUIRE_MESSAGE(token.exit_code == 0, token.err);
  const std::string secret = Trim(token.out);
  add({"token", "create", "retired", "--scope", "read"});
  add({"token", "revoke", "retired"});
  // Visits, from browsers and a bot, counted into stats.
  auto visitor = sqlite.Http();
  for (const char* agent : {"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                            "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0",
                            "curl/8.0", "Googlebot/2.1"}) {
    httplib::Headers headers = {{"User-Agent", agent},
                                {"Referer", "https://news.example.org/x"}};
    REQUIRE(visitor->Get("/wiki", headers)->status == 302);
    REQUIRE(visitor->Get("/once", headers)->status == 307);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::vector<std::string> slugs = {"wiki", "once", "later", "gone"};
  std::map<std::string, json> before;
  for (const std::string& slug : slugs) before[slug] = Snapshot(sqlite, slug);
  auto tokens_before = sqlite.Control()->Get("/-/api/v1/tokens");
  REQUIRE(tokens_before);
  CHECK(before["wiki"]["link"]["visits"] == 4);
  CHECK(before["once"]["link"]["visits"] == 4);

  const std::string empty_config = dir / "empty.toml";
  const std::vector<std::string> migrate = {
      ShortydPath(), "--config",
      empty_config,  "migrate",
      "--from",      "sqlite:" + sqlite.db(),
      "--to",        "postgres:" + db.conninfo()};

  // Not while shortyd runs on the database: a write could be missed.
  Run running = RunProgram(migrate);
  CHECK(running.exit_code == 1);
  CHECK_MESSAGE(running.err.find("stop shortyd first") != std::string::npos,
                running.err);

  REQUIRE(sqlite.Stop() == 0);
  Run first = RunProgram(migrate);
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("links:    3, 3 copied now") != std::string::npos);
  CHECK(first.out.find("tokens:   2, 2 copied now") != std::string::npos);
  CHECK(first.out.find("1 deleted links") != std::string::npos);
  CHECK(first.out.find("verified:") != std::string::npos);

  // Run again: nothing is copied twice, and all still checks out.
  Run second = RunProgram(migrate);
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  CHECK(second.out.find("links:    3, 0 copied now") != std::string::npos);
  CHECK(second.out.find("tokens:   2, 0 copied now") != std::string::npos);

  // A PostgreSQL node serves the same links, history, stats and tokens.
  Node node(db.conninfo());
  REQUIRE_MESSAGE(node->Start(), node->log());
  for (const std::string& slug : slugs) {
    CAPTURE(slug);
    json after = Snapshot(*node, slug);
    CHECK(after["status"] == before[slug]["status"]);
    CHECK(after["link"] == before[slug]["link"]);
    CHECK(after["stats"] == before[slug]["stats"]);
    json history = after["history"];
    json expected = before[slug]["history"];
    if (slug != "gone") {
      // One more entry at the end records the move.
      REQUIRE(history.size() == expected.size() + 1);
      CHECK(history.back()["action"] == "import");
      CHECK(history.back()["actor"] == "shortyd migrate");
      history.erase(history.size() - 1);
    }
    REQUIRE(history.size() == expected.size());
    for (size_t i = 0; i < history.size(); ++i) {
      history[i].erase("seq");
      expected[i].erase("seq");
    }
    CHECK(history == expected);
  }
  auto tokens_after = node->Control()->Get("/-/api/v1/tokens");
  REQUIRE(tokens_after);
  CHECK(Json(tokens_after->body) == Json(tokens_before->body));
  // The token made before the move still works over HTTP; the revoked one
  // still does not.
  auto listed = node->Http()->Get("/-/api/v1/links",
                                  {{"Authorization", "Bearer " + secret}});
  REQUIRE(listed);
  CHECK(listed->status == 200);
  auto visit = node->Http()->Get("/wiki");
  REQUIRE(visit);
  CHECK(visit->status == 302);
  CHECK(visit->get_header_value("Location") == "https://example.com/wiki/home");

  // A database that holds other links is refused, and left alone.
  Database other(&pg, "migrate_other");
  Node stranger(other.conninfo());
  REQUIRE_MESSAGE(stranger->Start(), stranger->log());
  MustCreate(*stranger, "wiki", "https://elsewhere.example.com/");
  Run refused = RunProgram({ShortydPath(), "--config", empty_config, "migrate",
                            "--from", "sqlite:" + sqlite.db(), "--to",
                            "postgres:" + other.conninfo()});
  CHECK(refused.exit_code == 1);
  CHECK_MESSAGE(refused.err.find("already holds data that is not from") !=
                    std::string::npos,
                refused.err);
  auto untouched = stranger->Control()->Get("/-/api/v1/links/once");
  REQUIRE(untouched);
  CHECK(untouched->status == 404);

  // Usage errors say what to write.
  Run usage = RunProgram({ShortydPath(), "--config", empty_config, "migrate",
                          "--from", sqlite.db(), "--to", "postgres:"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("sqlite:PATH") != std::string::npos);
}

}  // namespace
}  // namespace shorty::test
