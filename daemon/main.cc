// shortyd: parses flags, loads the configuration, runs the daemon until
// SIGTERM, reloads on SIGHUP, and maps failures to exit codes.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "daemon/daemon.h"
#include "daemon/files.h"
#include "daemon/log.h"
#include "daemon/migrate.h"
#include "daemon/systemd.h"
#include "shared/config.h"

extern char** environ;

namespace shorty {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // could not start or keep running
constexpr int kExitUsage = 2;    // bad flags or configuration

constexpr char kDefaultConfigPath[] = "/etc/shorty/shortyd.toml";

struct Flags {
  std::string config;
  std::string db;
  std::string listen;
  std::string socket;
  std::string public_url;
  bool check_config = false;
  bool version = false;
  // shortyd migrate --from sqlite:PATH --to postgres:CONNINFO
  bool migrate = false;
  std::string migrate_from;
  std::string migrate_to;
};

// Defaults < file < SHORTY_* environment < flags.
Result<DaemonConfig> LoadConfig(const Flags& flags, std::string* source) {
  DaemonConfig config;
  std::string path = flags.config;
  bool explicit_path = !path.empty();
  if (!explicit_path) path = kDefaultConfigPath;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    Status s = ParseDaemonConfig(text.str(), path, &config);
    if (!s.ok()) return s;
    *source = path;
  } else if (explicit_path) {
    return Status::InvalidArgument(path +
                                   ": cannot read: " + std::strerror(errno));
  }
  Environment env = EnvironmentFrom(environ);
  Status s = ApplyDaemonEnvironment(env, &config);
  if (!s.ok()) return s;
  struct FlagSetting {
    const std::string& value;
    const char* key;
    const char* flag;
  };
  const FlagSetting settings[] = {
      {flags.db, "storage.path", "--db"},
      {flags.listen, "server.listen", "--listen"},
      {flags.socket, "server.socket", "--socket"},
      {flags.public_url, "server.public_url", "--public-url"},
  };
  for (const FlagSetting& f : settings) {
    if (f.value.empty()) continue;
    s = SetDaemonSetting(f.key, f.value, f.flag, &config);
    if (!s.ok()) return s;
  }
  unsigned uid = static_cast<unsigned>(::getuid());
  if (config.socket.empty()) config.socket = DefaultSocketPath(env, uid);
  if (config.path.empty()) config.path = DefaultDatabasePath(env, uid);
  if (config.path.empty() && config.backend == "sqlite") {
    return Status::InvalidArgument(
        "storage.path: no default place for the database (HOME is not set); "
        "give one with --db PATH or storage.path");
  }
  s = ValidateDaemonConfig(config);
  if (!s.ok()) return s;
  return config;
}

// shortyd migrate: prints what it did on stdout, problems on stderr.
int RunMigrate(const Flags& flags, const DaemonConfig& config) {
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "shortyd migrate: %s\n", message.c_str());
    return kExitUsage;
  };
  constexpr std::string_view kSqlite = "sqlite:";
  constexpr std::string_view kPostgres = "postgres:";
  const std::string_view from = flags.migrate_from;
  const std::string_view to = flags.migrate_to;
  if (from.substr(0, kSqlite.size()) != kSqlite ||
      from.size() == kSqlite.size()) {
    return usage(
        "--from: give the SQLite database as sqlite:PATH, e.g. "
        "--from sqlite:/var/lib/shorty/shorty.db");
  }
  if (to.substr(0, kPostgres.size()) != kPostgres) {
    return usage(
        "--to: give the PostgreSQL database as postgres:CONNINFO, e.g. "
        "--to 'postgres:host=db.example.com dbname=shorty user=shorty'");
  }
  MigrationRequest request;
  request.sqlite_path = std::string(from.substr(kSqlite.size()));
  request.postgres = std::string(to.substr(kPostgres.size()));
  request.case_sensitive = config.case_sensitive;
  request.connections = std::min(config.postgres_connections, 4);
  std::printf("shortyd migrate: from sqlite:%s to postgres:%s\n",
              request.sqlite_path.c_str(),
              ConninfoForLog(request.postgres).c_str());
  std::fflush(stdout);
  Result<MigrationReport> report =
      Migrate(request, [](const std::string& line) {
        std::printf("  %s\n", line.c_str());
        std::fflush(stdout);
      });
  if (!report.ok()) {
    std::fprintf(stderr, "shortyd migrate: %s\n",
                 report.status().message().c_str());
    return kExitFailure;
  }
  std::printf("%s", FormatMigrationReport(*report).c_str());
  return kExitOk;
}

// A STATUS= value: one line, however the message reads.
std::string StatusLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text.substr(0, 200);
}

// What `systemctl status` shows while shortyd serves.
std::string ServingStatus(Daemon& daemon) {
  Result<int64_t> links = daemon.CheckHealth();
  std::string what = links.ok() ? std::to_string(*links) + " links" : "links";
  return "serving " + what + " on " + daemon.http_address();
}

// "60s", "1500ms".
std::string WaitText(int64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s"
                        : std::to_string(ms) + "ms";
}

// Retries OpenLinkStore until PostgreSQL answers, storage.postgres_wait
// runs out, or SIGTERM or SIGINT (blocked in `signals`) asks shortyd to stop
// (*stopped). `first` is the failure that started the wait.
template <typename Notify>
Result<OpenedStore> WaitForPostgres(const DaemonConfig& config,
                                    const sigset_t& signals, Status first,
                                    const Notify& notify, bool* stopped) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(config.postgres_wait_ms);
  Log(Priority::kWarning, "waiting for PostgreSQL, for up to " +
                              WaitText(config.postgres_wait_ms) +
                              " (storage.postgres_wait): " + first.message());
  Status last = first;
  for (int attempt = 0;; ++attempt) {
    notify("STATUS=" + StatusLine("waiting for PostgreSQL: " + last.message()));
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return last;
    // Half a second at first, then up to 5 s between tries.
    auto pause =
        std::chrono::milliseconds(std::min(5000, 500 << std::min(attempt, 4)));
    if (pause > left) {
      pause = std::chrono::duration_cast<std::chrono::milliseconds>(left);
    }
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(pause.count() / 1000);
    timeout.tv_nsec = static_cast<long>(pause.count() % 1000) * 1000000L;
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      Log(Priority::kInfo, std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                               " while waiting for PostgreSQL: stopped");
      *stopped = true;
      return last;
    }
    Result<OpenedStore> store = OpenLinkStore(config);
    if (store.ok() || store.status().code() != Code::kUnavailable) {
      if (store.ok()) Log(Priority::kInfo, "PostgreSQL answers now");
      return store;
    }
    if (store.status().message() != last.message()) {
      Log(Priority::kWarning,
          "still waiting for PostgreSQL: " + store.status().message());
    }
    last = store.status();
  }
}

int Run(const Flags& flags) {
  const Environment env = EnvironmentFrom(environ);
  InitLog(env);
  std::string source = "built-in defaults";
  Result<DaemonConfig> config = LoadConfig(flags, &source);
  if (!config.ok()) {
    Log(Priority::kError, config.status().message());
    return kExitUsage;
  }
  if (flags.check_config) {
    std::printf("shortyd: configuration OK (%s)\n", source.c_str());
    return kExitOk;
  }
  if (flags.migrate) return RunMigrate(flags, *config);

  // The database, its WAL and the lock file are no one else's to read.
  ::umask(027);

  // Signals are taken by sigwait below; every thread started after this
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Notifier notifier(env);
  auto notify = [&notifier](const std::string& state) {
    Status sent = notifier.Notify(state);
    if (!sent.ok()) Log(Priority::kWarning, sent.message());
  };
  Result<PassedSockets> passed = TakePassedSockets();
  if (!passed.ok()) {
    Log(Priority::kError, passed.status().message());
    notify("STATUS=" + StatusLine(passed.status().message()));
    return kExitFailure;
  }

  // Pings from the start, so a slow opening of a large database is not
  // taken for a hang (TimeoutStartSec= covers start-up).
  std::atomic<Daemon*> running{nullptr};
  Watchdog watchdog(&notifier,
                    WatchdogTimeout(env, static_cast<long>(::getpid())),
                    [&running]() -> Status {
                      Daemon* d = running.load();
                      return d ? d->CheckAlive() : Status::Ok();
                    });
  watchdog.Start();

  if (config->backend == "sqlite") {
    Status s = MakeParentDirectories(config->path);
    if (!s.ok()) {
      Log(Priority::kError, s.message());
      notify("STATUS=" + StatusLine(s.message()));
      return kExitFailure;
    }
  }
  Result<OpenedStore> store = OpenLinkStore(*config);
  if (!store.ok() && config->backend == "postgres" &&
      store.status().code() == Code::kUnavailable &&
      config->postgres_wait_ms > 0) {
    // PostgreSQL often comes up after shortyd (boot order, a failover, a
    // restart of the database alone): wait for it, still stoppable, rather
    // than fail and burn through the service manager's restart limit.
    bool stopped = false;
    store = WaitForPostgres(*config, signals, store.status(), notify, &stopped);
    if (stopped) return kExitOk;
  }
  if (!store.ok()) {
    std::string message = store.status().message();
    if (config->backend == "postgres" &&
        store.status().code() == Code::kUnavailable) {
      message = "cannot start: " +
                (config->postgres_wait_ms > 0
                     ? "gave up on PostgreSQL after " +
                           WaitText(config->postgres_wait_ms) +
                           " (storage.postgres_wait): "
                     : std::string()) +
                message;
    }
    Log(Priority::kError, message);
    notify("STATUS=" + StatusLine(message));
    return kExitFailure;
  }
  Result<std::unique_ptr<Daemon>> daemon =
      Daemon::Start(*config, *passed, std::move(*store));
  if (!daemon.ok()) {
    Log(Priority::kError, daemon.status().message());
    notify("STATUS=" + StatusLine(daemon.status().message()));
    return kExitFailure;
  }
  running = daemon->get();
  const std::string http_from = (*daemon)->http_passed()
                                    ? ", socket from systemd; server.listen " +
                                          config->listen + " not used"
                                    : "";
  const std::string control_from =
      (*daemon)->control_passed() ? " (socket from systemd)" : "";
  Log(Priority::kInfo, "listening on port " +
                           std::to_string((*daemon)->http_port()) + " (" +
                           (*daemon)->http_address() + http_from +
                           "), control socket " + (*daemon)->socket_path() +
                           control_from + ", " + DescribeStore(*config));
  notify("READY=1\nSTATUS=" + StatusLine(ServingStatus(**daemon)));

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      notify(
          "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicros()) +
          "\nSTATUS=reloading the configuration");
      std::string reload_source = source;
      Result<DaemonConfig> next = LoadConfig(flags, &reload_source);
      Status reloaded = next.ok() ? (*daemon)->Reload(*next) : next.status();
      if (!reloaded.ok()) {
        Log(Priority::kWarning,
            "reload refused, keeping the running configuration: " +
                reloaded.message());
        notify("READY=1\nSTATUS=" +
               StatusLine(ServingStatus(**daemon) +
                          "; reload refused: " + reloaded.message()));
        continue;
      }
      Log(Priority::kInfo, "configuration reloaded (" + reload_source + ")");
      notify("READY=1\nSTATUS=" + StatusLine(ServingStatus(**daemon)));
      continue;
    }
    Log(Priority::kInfo, std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                             ": finishing requests in flight");
    notify("STOPPING=1\nSTATUS=draining: finishing requests in flight");
    break;
  }
  // The service manager does not watch a stopping service.
  watchdog.Stop();
  running = nullptr;
  (*daemon)->Shutdown();
  Log(Priority::kInfo, "stopped");
  return kExitOk;
}

}  // namespace
}  // namespace shorty

int main(int argc, char** argv) {
  // glibc gives busy threads arenas of their own, up to 8 a core, and each
  // keeps what it once held: with a pool of worker threads that is tens of
  // MiB resident for no speed here. Two arenas serve the same load (see
  // docs/benchmarks.md); MALLOC_ARENA_MAX, when set, still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  // Connections are polled, never select()ed, so shortyd can use every
  // descriptor it may have: the soft limit (often 1,024) goes up to the
  // hard one, as systemd advises such programs to do.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, rlim_t{1} << 20);
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  shorty::Flags flags;
  CLI::App app{"shortyd: the shorty link shortener daemon"};
  app.add_option("--config", flags.config,
                 "configuration file (default /etc/shorty/shortyd.toml if it "
                 "exists)");
  app.add_option("--db", flags.db, "database file (storage.path)");
  app.add_option("--listen", flags.listen,
                 "HTTP listener HOST:PORT (server.listen)");
  app.add_option("--socket", flags.socket,
                 "control socket path (server.socket)");
  app.add_option("--public-url", flags.public_url,
                 "base URL of short links (server.public_url)");
  app.add_flag("--check-config", flags.check_config,
               "validate the configuration and exit");
  app.add_flag("--version", flags.version, "print the version and exit");
  CLI::App* migrate = app.add_subcommand(
      "migrate",
      "copy every link, its history and visits, and every token from a "
      "SQLite database into PostgreSQL, then check both hold the same");
  migrate
      ->add_option("--from", flags.migrate_from,
                   "sqlite:PATH, the database to copy (stop shortyd on it "
                   "first)")
      ->required();
  migrate
      ->add_option("--to", flags.migrate_to,
                   "postgres:CONNINFO, the PostgreSQL database to copy into "
                   "(empty, or filled by an earlier run of the same copy)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : shorty::kExitUsage;
  }
  if (flags.version) {
    std::printf("shortyd %s\n", SHORTY_VERSION);
    return 0;
  }
  flags.migrate = migrate->parsed();
  return shorty::Run(flags);
}
