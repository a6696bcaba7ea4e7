// PgStore: runs the Store contract (tests/store_contract.cc) on PostgreSQL,
// each store in a database of its own, and checks what is PostgreSQL's own:
// the case rule kept in the database, several stores (nodes) on one
// database, change notices, and a server that goes away and comes back.
// Runs under tests/pg/with-postgres.sh, which starts a server for it.
#include "shared/pg_store.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shared/link_service.h"
#include "shared/random.h"
#include "tests/store_contract.h"

extern char** environ;

namespace shorty {
namespace {

std::string Env(const char* name) {
  const char* value = ::getenv(name);
  return value != nullptr ? value : "";
}

// The superuser's connection string from tests/pg/with-postgres.sh; fails
// the test when there is none.
std::string AdminConninfo() {
  std::string conninfo = Env("SHORTY_TEST_PG");
  if (conninfo.empty()) {
    FAIL(
        "SHORTY_TEST_PG is not set: pg_store_test needs a PostgreSQL "
        "server; run it under tests/pg/with-postgres.sh (ctest does), e.g. "
        "tests/pg/with-postgres.sh build/tests/pg_store_test");
  }
  return conninfo;
}

// Runs one statement as the superuser; false (and a message) on failure.
bool Admin(const std::string& sql, std::string* error = nullptr) {
  PGconn* conn = PQconnectdb(AdminConninfo().c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* result = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    PQclear(result);
  }
  if (!ok && error != nullptr) *error = PQerrorMessage(conn);
  PQfinish(conn);
  return ok;
}

void MustAdmin(const std::string& sql) {
  std::string error;
  bool ok = Admin(sql, &error);
  INFO(sql, ": ", error);
  REQUIRE(ok);
}

// A database of its own, dropped (with whatever is still connected to it)
// at the end. Names are made of numbers only.
class TestDatabase {
 public:
  TestDatabase() {
    static std::atomic<int> counter{0};
    name_ = "shorty_contract_" + std::to_string(::getpid()) + "_" +
            std::to_string(++counter);
    MustAdmin("CREATE DATABASE " + name_);
  }
  ~TestDatabase() {
    Admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // A later keyword of a libpq connection string overrides an earlier one.
  std::string conninfo() const { return AdminConninfo() + " dbname=" + name_; }

  // Runs one statement in this database as the superuser.
  void Exec(const std::string& sql) const {
    PGconn* conn = PQconnectdb(conninfo().c_str());
    REQUIRE(PQstatus(conn) == CONNECTION_OK);
    PGresult* result = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    INFO(sql, ": ", PQerrorMessage(conn));
    PQclear(result);
    PQfinish(conn);
    REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
  }

 private:
  std::string name_;
};

PgOptions Options(const TestDatabase& db, bool case_sensitive = false) {
  PgOptions options;
  options.conninfo = db.conninfo();
  options.case_sensitive = case_sensitive;
  options.connections = 4;
  options.connect_timeout_seconds = 5;
  return options;
}

std::unique_ptr<PgStore> MustOpen(const PgOptions& options) {
  Result<std::unique_ptr<PgStore>> store = PgStore::Open(options);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

}  // namespace
}  // namespace shorty

std::shared_ptr<shorty::Store> MakeContractStore(bool case_sensitive) {
  auto db = std::make_shared<shorty::TestDatabase>();
  std::shared_ptr<shorty::PgStore> store =
      shorty::MustOpen(shorty::Options(*db, case_sensitive));
  // The store is closed before its database is dropped.
  return std::shared_ptr<shorty::Store>(store.get(),
                                        [store, db](shorty::Store*) mutable {
                                          store.reset();
                                          db.reset();
                                        });
}

namespace shorty {
namespace {

constexpr UnixTime kNow = 1'750'000'000;

Link NewLink(const std::string& slug, UnixTime created_at = kNow) {
  Link link;
  link.slug = slug;
  link.target = "https://example.com/" + slug;
  link.created_at = created_at;
  link.updated_at = created_at;
  link.created_by = "tester";
  return link;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of `keyword` in a "k=v k=v" connection string.
std::string ConninfoValue(const std::string& conninfo,
                          const std::string& keyword) {
  size_t at = conninfo.find(keyword + "=");
  if (at == std::string::npos) return "";
  at += keyword.size() + 1;
  return conninfo.substr(at, conninfo.find(' ', at) - at);
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// What a watcher reported, for tests to wait on.
class Notices {
 public:
  std::function<void(const std::string&)> Changed() {
    return [this](const std::string& key) {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.push_back(key);
      cv_.notify_all();
    };
  }
  std::function<void()> Resync() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++resyncs_;
      cv_.notify_all();
    };
  }
  // Waits up to 10 s until `n` notices arrived; the notices so far.
  std::vector<std::string> WaitForKeys(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10),
                 [&] { return keys_.size() >= n; });
    return keys_;
  }
  // Waits up to 20 s until resync was called `n` times; how many times.
  int WaitForResyncs(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] { return resyncs_ >= n; });
    return resyncs_;
  }
  int resyncs() {
    std::lock_guard<std::mutex> lock(mu_);
    return resyncs_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> keys_;
  int resyncs_ = 0;
};

// Runs pg_ctl on the test's server as the server's user (the variables
// tests/pg/with-postgres.sh sets); its exit status, -1 when it cannot run.
// Asserts nothing, so that a destructor may call it.
int PgCtl(const std::vector<std::string>& args) {
  const std::string bin = Env("SHORTY_TEST_PGBIN");
  const std::string data = Env("SHORTY_TEST_PGDATA");
  const std::string runas = Env("SHORTY_TEST_PG_RUNAS");
  const std::string log = Env("SHORTY_TEST_PGLOG");
  if (bin.empty() || data.empty()) return -1;
  std::vector<std::string> argv;
  if (!runas.empty()) argv = {"runuser", "-u", runas, "--"};
  argv.push_back(bin + "/pg_ctl");
  argv.insert(argv.end(), {"-D", data, "-w", "-t", "60"});
  if (!log.empty()) argv.insert(argv.end(), {"-l", log});
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);

  // From / (the server's user may not read the working directory), with
  // pg_ctl's progress dots out of the test's output.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Stops the test's server; starts it again when it goes out of scope,
// should a check fail before Start.
class ServerStop {
 public:
  ServerStop() {
    REQUIRE(PgCtl({"stop", "-m", "fast"}) == 0);
    stopped_ = true;
  }
  ~ServerStop() {
    if (stopped_) PgCtl({"start"});
  }
  void Start() {
    REQUIRE(PgCtl({"start"}) == 0);
    stopped_ = false;
  }

 private:
  bool stopped_ = false;
};

TEST_CASE("pg: runs beside a server of its own (tests/pg/with-postgres.sh)") {
  INFO("run pg_store_test under tests/pg/with-postgres.sh (ctest does)");
  CHECK_FALSE(Env("SHORTY_TEST_PG").empty());
  CHECK_FALSE(Env("SHORTY_TEST_PGDATA").empty());
  CHECK_FALSE(Env("SHORTY_TEST_PGBIN").empty());
  CHECK(Admin("SELECT 1"));
}

TEST_CASE(
    "pg: a bad connection string or an absent server is refused, "
    "never showing the password") {
  PgOptions options;
  options.conninfo = "host=127.0.0.1 port";
  Result<std::unique_ptr<PgStore>> store = PgStore::Open(options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kInvalidArgument);
  CHECK(Contains(store.status().message(), "storage.postgres"));

  options.conninfo = "";
  store = PgStore::Open(options);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kInvalidArgument);

  const std::string port = std::to_string(UnusedPort());
  for (const std::string& conninfo :
       {"host=127.0.0.1 port=" + port +
            " user=shorty password=sekrit-pw dbname=links",
        "postgresql://shorty:sekrit-pw@127.0.0.1:" + port + "/links"}) {
    CAPTURE(conninfo);
    options.conninfo = conninfo;
    options.connect_timeout_seconds = 2;
    store = PgStore::Open(options);
    REQUIRE_FALSE(store.ok());
    const std::string& message = store.status().message();
    INFO(message);
    CHECK(store.status().code() == Code::kUnavailable);
    CHECK(Contains(message, "127.0.0.1:" + port));
    CHECK(Contains(message, "'links'"));
    CHECK(Contains(message, "is PostgreSQL running? check storage.postgres"));
    CHECK_FALSE(Contains(message, "sekrit"));
  }
}

TEST_CASE("pg: Info, Checkpoint and WriteBackup say what PostgreSQL is") {
  TestDatabase db;
  auto store = MustOpen(Options(db));
  Result<StoreInfo> info = store->Info();
  REQUIRE(info.ok());
  CHECK(info->backend == "postgres");
  CHECK(info->schema_version == 1);
  CHECK(store->Checkpoint().ok());
  Result<StoreBackup> backup = store->WriteBackup();
  REQUIRE_FALSE(backup.ok());
  CHECK(Contains(backup.status().message(), "pg_dump"));
}

TEST_CASE("pg: a database made with the other case rule is refused") {
  TestDatabase db;
  {
    auto store = MustOpen(Options(db, /*case_sensitive=*/false));
    REQUIRE(store->CreateLink(NewLink("MixedCase")).ok());
  }
  Result<std::unique_ptr<PgStore>> other =
      PgStore::Open(Options(db, /*case_sensitive=*/true));
  REQUIRE_FALSE(other.ok());
  INFO(other.status().message());
  CHECK(other.status().code() == Code::kInvalidArgument);
  CHECK(Contains(other.status().message(), "case-insensitive"));
  CHECK(Contains(other.status().message(), "links.case_sensitive = false"));
  // Nothing was changed: the first rule still opens and finds the link.
  auto again = MustOpen(Options(db, false));
  CHECK(again->GetLink("mixedcase").ok());

  TestDatabase sensitive;
  MustOpen(Options(sensitive, true)).reset();
  other = PgStore::Open(Options(sensitive, false));
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().code() == Code::kInvalidArgument);
  CHECK(Contains(other.status().message(), "links.case_sensitive = true"));
}

TEST_CASE("pg: a schema newer than this build is refused, untouched") {
  TestDatabase db;
  MustOpen(Options(db)).reset();
  db.Exec("UPDATE shorty_meta SET value = '99' WHERE key = 'schema_version'");
  Result<std::unique_ptr<PgStore>> store = PgStore::Open(Options(db));
  REQUIRE_FALSE(store.ok());
  INFO(store.status().message());
  CHECK(store.status().code() == Code::kUnavailable);
  CHECK(Contains(store.status().message(), "99"));
  CHECK(Contains(store.status().message(), "upgrade shorty"));
}

TEST_CASE("pg: nodes opening a new database together all succeed") {
  TestDatabase db;
  constexpr int kNodes = 6;
  std::vector<std::unique_ptr<PgStore>> stores(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      Result<std::unique_ptr<PgStore>> store = PgStore::Open(Options(db));
      if (store.ok()) {
        stores[i] = std::move(*store);
      } else {
        errors[i] = store.status().message();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kNodes; ++i) {
    CAPTURE(i);
    CHECK(errors[i].empty());
    CHECK(stores[i] != nullptr);
  }
  REQUIRE(stores[0] != nullptr);
  REQUIRE(stores[0]->CreateLink(NewLink("one")).ok());
  REQUIRE(stores[kNodes - 1] != nullptr);
  CHECK(stores[kNodes - 1]->GetLink("one").ok());
}

TEST_CASE("pg: two stores on one database see each other's writes") {
  TestDatabase db;
  auto a = MustOpen(Options(db));
  auto b = MustOpen(Options(db));

  REQUIRE(a->CreateLink(NewLink("Shared")).ok());
  Result<Link> seen = b->GetLink("shared");
  REQUIRE(seen.ok());
  CHECK(seen->slug == "Shared");
  LinkPatch patch;
  patch.title = "from b";
  REQUIRE(b->UpdateLink("SHARED", patch, kNow + 1, "bob").ok());
  CHECK(a->GetLink("shared")->title == "from b");
  CHECK(b->CreateLink(NewLink("sHaReD")).status().code() ==
        Code::kAlreadyExists);

  // History is one sequence across nodes.
  patch.title = "from a";
  REQUIRE(a->UpdateLink("shared", patch, kNow + 2, "alice").ok());
  Result<std::vector<HistoryEntry>> history = b->LinkHistory("shared", 10);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 3);
  CHECK((*history)[1].actor == "bob");
  CHECK((*history)[2].actor == "alice");
  CHECK((*history)[0].seq < (*history)[1].seq);
  CHECK((*history)[1].seq < (*history)[2].seq);

  Token token;
  token.name = "ci";
  token.id = "id-ci";
  token.secret_digest = std::string(32, '\0');
  token.created_at = kNow;
  REQUIRE(a->CreateToken(token).ok());
  CHECK(b->FindToken("id-ci").ok());
  CHECK(b->CreateToken(token).code() == Code::kAlreadyExists);

  // Creates of one slug from both nodes at once: exactly one wins.
  std::atomic<int> created{0};
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      PgStore& node = t % 2 == 0 ? *a : *b;
      Result<Link> r = node.CreateLink(NewLink(t % 3 == 0 ? "race" : "RACE"));
      if (r.ok()) {
        ++created;
      } else if (r.status().code() == Code::kAlreadyExists) {
        ++taken;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(created == 1);
  CHECK(taken == 7);

  // Limited visits counted on both nodes never pass the limit.
  Link limited = NewLink("limited");
  limited.max_visits = 30;
  REQUIRE(a->CreateLink(limited).ok());
  std::atomic<int> counted{0};
  threads.clear();
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      PgStore& node = t % 2 == 0 ? *a : *b;
      for (int i = 0; i < 20; ++i) {
        Result<bool> r = node.ConsumeLimitedVisit("limited");
        if (r.ok() && *r) ++counted;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(counted == 30);
  CHECK(b->GetLink("limited")->visits == 30);

  REQUIRE(a->DeleteLink("shared", kNow + 3, "alice").ok());
  CHECK(b->GetLink("shared").status().code() == Code::kNotFound);
}

TEST_CASE(
    "pg: WatchChanges: resync on connect, then one notice per "
    "committed write to a link, from any node") {
  TestDatabase db;
  auto watching = MustOpen(Options(db));
  auto other = MustOpen(Options(db));
  Notices notices;
  watching->WatchChanges(notices.Changed(), notices.Resync(), 100);
  REQUIRE(notices.WaitForResyncs(1) == 1);

  std::vector<std::string> want;
  auto expect = [&](const std::string& key) {
    want.push_back(key);
    std::vector<std::string> got = notices.WaitForKeys(want.size());
    CHECK(got == want);
  };

  REQUIRE(other->CreateLink(NewLink("MyLink")).ok());
  expect("mylink");  // the slug key, folded
  LinkPatch patch;
  patch.title = "own write";
  REQUIRE(watching->UpdateLink("MYLINK", patch, kNow + 1, "me").ok());
  expect("mylink");  // this node's own writes too

  Link limited = NewLink("Lim");
  limited.max_visits = 1;
  REQUIRE(other->CreateLinkOnce(limited, "key-1").ok());
  expect("lim");
  REQUIRE(*other->ConsumeLimitedVisit("lim") == true);
  expect("lim");

  ImportedLink imported;
  imported.link = NewLink("Imp");
  REQUIRE(other->ImportLinks({imported}, kNow, "importer").ok());
  expect("imp");
  REQUIRE(other->DeleteLink("mylink", kNow + 2, "bob").ok());
  expect("mylink");

  // What changes no link sends nothing: a used-up visit, a patch that
  // changes nothing, a refused create, a replayed create, visit counts,
  // history appended, tokens. Notices arrive in commit order, so none of
  // these arrived if the next one is "marker".
  REQUIRE(*other->ConsumeLimitedVisit("lim") == false);
  REQUIRE(other->UpdateLink("lim", LinkPatch{}, kNow + 3, "bob").ok());
  REQUIRE(other->CreateLink(NewLink("imp")).status().code() ==
          Code::kAlreadyExists);
  REQUIRE(other->CreateLinkOnce(limited, "key-1")->replayed);
  REQUIRE(other->AddVisits({{"imp", 5}}).ok());
  HistoryEntry entry;
  entry.slug = "gone";
  entry.action = "delete";
  entry.changes = "{}";
  REQUIRE(other->AppendHistory({entry}).ok());
  Token token;
  token.name = "t";
  token.id = "id-t";
  token.secret_digest = "x";
  REQUIRE(other->CreateToken(token).ok());
  REQUIRE(other->CreateLink(NewLink("marker")).ok());
  expect("marker");
  CHECK(notices.resyncs() == 1);

  // Stopping the watcher is prompt.
  auto started = std::chrono::steady_clock::now();
  watching.reset();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE(
    "pg: with the server stopped, calls are Unavailable; started "
    "again, the same store works and the watcher resyncs") {
  TestDatabase db;
  auto store = MustOpen(Options(db));
  auto idle = MustOpen(Options(db));
  Notices notices;
  store->WatchChanges(notices.Changed(), notices.Resync(), 100);
  REQUIRE(notices.WaitForResyncs(1) == 1);
  Notices idle_notices;
  idle->WatchChanges(idle_notices.Changed(), idle_notices.Resync(), 100);
  REQUIRE(idle_notices.WaitForResyncs(1) == 1);
  REQUIRE(store->CreateLink(NewLink("before")).ok());
  notices.WaitForKeys(1);
  // Every pooled connection in use once, so that all of them break.
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20; ++i) CHECK(store->GetLink("before").ok());
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  // A restart between two calls: the pooled connections it closed are
  // found closed and made again, and no call fails.
  {
    ServerStop server;
    server.Start();
  }
  CHECK(notices.WaitForResyncs(2) == 2);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20; ++i) {
          Result<Link> link = store->GetLink("before");
          INFO(link.status().message());
          CHECK(link.ok());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  const std::string host = ConninfoValue(AdminConninfo(), "host");
  const std::string port = ConninfoValue(AdminConninfo(), "port");
  REQUIRE_FALSE(port.empty());
  ServerStop server;

  auto check_unavailable = [&](const Status& status, const char* what) {
    CAPTURE(what);
    INFO(status.message());
    CHECK(status.code() == Code::kUnavailable);
    CHECK(Contains(status.message(), host + ":" + port));
    CHECK(Contains(status.message(), "is PostgreSQL running?"));
  };
  check_unavailable(store->GetLink("before").status(), "get");
  check_unavailable(store->CreateLink(NewLink("during")).status(), "create");
  check_unavailable(store->ListLinks(ListQuery{}).status(), "list");
  check_unavailable(store->Ping(), "ping");
  check_unavailable(store->AddVisits({{"before", 1}}), "visits");
  check_unavailable(store->ConsumeLimitedVisit("before").status(), "consume");
  check_unavailable(PgStore::Open(Options(db)).status(), "open");
  // A store whose watcher waits for the server stops promptly.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  idle.reset();
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  CHECK(notices.resyncs() == 2);

  server.Start();
  // The same store, not reopened: its first call after the restart works.
  Result<Link> back = store->GetLink("before");
  INFO(back.status().message());
  CHECK(back.ok());
  CHECK(store->Ping().ok());
  REQUIRE(store->CreateLink(NewLink("after")).ok());
  CHECK(store->GetLink("during").status().code() == Code::kNotFound);
  // The watcher reconnected, resynced, and hears changes again.
  CHECK(notices.WaitForResyncs(3) == 3);
  auto other = MustOpen(Options(db));
  REQUIRE(other->CreateLink(NewLink("Late")).ok());
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    for (const std::string& key : notices.WaitForKeys(i + 1)) {
      if (key == "late") heard = true;
    }
  }
  CHECK(heard);
}

TEST_CASE(
    "pg: values PostgreSQL cannot hold are InvalidArgument, nothing "
    "stored") {
  TestDatabase db;
  auto store = MustOpen(Options(db));
  Link link = NewLink("nul");
  link.title = std::string("before\0after", 12);
  Result<Link> created = store->CreateLink(link);
  REQUIRE_FALSE(created.ok());
  INFO(created.status().message());
  CHECK(created.status().code() == Code::kInvalidArgument);
  CHECK(store->GetLink("nul").status().code() == Code::kNotFound);
  CHECK(store->Info()->links == 0);
  link.title = "\xff\xfe not UTF-8";
  CHECK(store->CreateLink(link).status().code() == Code::kInvalidArgument);
  // The store goes on.
  link.title = "fine";
  CHECK(store->CreateLink(link).ok());
}

TEST_CASE("pg: reads go to read_conninfo, writes to the primary") {
  TestDatabase db;
  PgOptions options = Options(db);
  options.read_conninfo = db.conninfo() + " application_name=reads";
  auto store = MustOpen(options);
  REQUIRE(store->CreateLink(NewLink("Split")).ok());
  CHECK(store->GetLink("split").ok());
  CHECK(store->Info()->links == 1);

  // A read server that is away fails reads, naming it; writes go on.
  const std::string port = std::to_string(UnusedPort());
  options.read_conninfo = "host=127.0.0.1 port=" + port + " dbname=replica";
  options.connect_timeout_seconds = 2;
  auto split = MustOpen(options);
  // GetLink reads the primary: what fills the redirect cache is never
  // older than a change notice.
  CHECK(split->GetLink("split").ok());
  Status read = split->ListLinks(ListQuery{}).status();
  INFO(read.message());
  CHECK(read.code() == Code::kUnavailable);
  CHECK(
      Contains(read.message(), "127.0.0.1:" + port + " (database 'replica')"));
  CHECK(split->LinkHistory("split", 10).status().code() == Code::kUnavailable);
  CHECK(split->CreateLink(NewLink("written")).ok());
  CHECK(store->GetLink("written").ok());
  CHECK(split->Ping().ok());

  options.read_conninfo = "port='unterminated";
  CHECK(PgStore::Open(options).status().code() == Code::kInvalidArgument);
}

TEST_CASE("pg: AddVisitBuckets adds to a link's buckets") {
  TestDatabase db;
  auto store = MustOpen(Options(db));
  REQUIRE(store->CreateLink(NewLink("Stats")).ok());
  const UnixTime day = kNow - kNow % kDay;
  std::vector<VisitBucket> buckets = {
      {day, "total", "", false, 5},
      {day, "total", "", false, 2},  // the same bucket: summed
      {day, "browser", "firefox", false, 7},
      {day + kHour, "total", "", true, 1},
      {day, "total", "", false, 0},  // nothing: skipped
  };
  REQUIRE(store->AddVisitBuckets(buckets, "stats").ok());
  REQUIRE(store->AddVisitBuckets({{day, "total", "", false, 3}}, "STATS").ok());
  Result<std::vector<VisitBucket>> stored = store->LinkVisits("stats", 0);
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 3);
  for (const VisitBucket& b : *stored) {
    CAPTURE(b.dimension);
    if (b.dimension == "total" && !b.bot) CHECK(b.visits == 10);
    if (b.dimension == "total" && b.bot) CHECK(b.start == day + kHour);
    if (b.dimension == "browser") CHECK(b.visits == 7);
  }
  CHECK(store->AddVisitBuckets(buckets, "absent").code() == Code::kNotFound);
}

TEST_CASE("pg: HistoryAfter pages through every slug's history") {
  TestDatabase db;
  auto store = MustOpen(Options(db));
  REQUIRE(store->CreateLink(NewLink("Kept")).ok());
  REQUIRE(store->CreateLink(NewLink("gone")).ok());
  REQUIRE(store->DeleteLink("gone", kNow + 1, "remover").ok());
  HistoryEntry old;
  old.slug = "Older";
  old.at = kNow - 100;
  old.actor = "alice";
  old.action = "create";
  old.changes = "{}";
  REQUIRE(store->AppendHistory({old, old}).ok());
  Result<std::vector<HistoryEntry>> all = store->HistoryAfter(0, 1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 5);
  CHECK((*all)[2].action == "delete");
  CHECK((*all)[3].slug == "Older");
  CHECK(store->LinkHistory("older", 10)->size() == 2);
  Result<std::vector<HistoryEntry>> page =
      store->HistoryAfter((*all)[1].seq, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].seq == (*all)[2].seq);
  CHECK(store->HistoryAfter((*all)[4].seq, 10)->empty());
  HistoryEntry nameless = old;
  nameless.slug = "";
  CHECK(store->AppendHistory({old, nameless}).code() == Code::kInvalidArgument);
  CHECK(store->LinkHistory("older", 10)->size() == 2);
}

// Two nodes whose slug generators both draw ABCDEF first: the second node's
// create is retried with its next draw, never refused.

class ScriptedBytes : public RandomSource {
 public:
  explicit ScriptedBytes(std::vector<uint8_t> bytes)
      : bytes_(std::move(bytes)) {}
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      REQUIRE(pos_ < bytes_.size());
      buf[i] = bytes_[pos_++];
    }
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

class NoLedger : public VisitLedger {
 public:
  void Count(const std::string&, UnixTime, const VisitTraits&, bool) override {}
  int64_t Pending(const std::string&) const override { return 0; }
};

TEST_CASE("pg: a generated slug another node took is retried, not refused") {
  TestDatabase db;
  auto store_a = MustOpen(Options(db));
  auto store_b = MustOpen(Options(db));
  // GenerateSlug reads 8 bytes for 6 symbols; byte i is kSlugAlphabet[i].
  const std::vector<uint8_t> abcdef = {0, 1, 2, 3, 4, 5, 0, 0};
  const std::vector<uint8_t> ghjkmn = {6, 7, 8, 9, 10, 11, 0, 0};
  std::vector<uint8_t> b_bytes = abcdef;
  b_bytes.insert(b_bytes.end(), ghjkmn.begin(), ghjkmn.end());
  ScriptedBytes random_a(abcdef), random_b(b_bytes);
  NoLedger ledger;
  ServiceOptions options;
  options.rules.own_hosts = {"s.example"};
  options.public_url = "https://s.example";
  LinkService node_a(
      store_a.get(), &ledger, &random_a, [] { return kNow; }, options);
  LinkService node_b(
      store_b.get(), &ledger, &random_b, [] { return kNow; }, options);

  LinkInput input;
  input.target = "https://one.example/";
  Result<Link> first = node_a.Create(input, "alice");
  INFO(first.status().message());
  REQUIRE(first.ok());
  CHECK(first->slug == "ABCDEF");

  input.target = "https://two.example/";
  Result<Link> second = node_b.Create(input, "bob");
  INFO(second.status().message());
  REQUIRE(second.ok());
  CHECK(second->slug == "GHJKMN");

  Result<Link> kept = store_b->GetLink("ABCDEF");
  REQUIRE(kept.ok());
  CHECK(kept->target == "https://one.example/");
  CHECK(store_a->Info()->links == 2);
}

}  // namespace
}  // namespace shorty
