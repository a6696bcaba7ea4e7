// shortyd: parses flags, loads the configuration, runs the daemon until
// SIGTERM, reloads on SIGHUP, and maps failures to exit codes.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "daemon/daemon.h"
#include "daemon/files.h"
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
  if (config.path.empty()) {
    return Status::InvalidArgument(
        "storage.path: no default place for the database (HOME is not set); "
        "give one with --db PATH or storage.path");
  }
  s = ValidateDaemonConfig(config);
  if (!s.ok()) return s;
  return config;
}

int Run(const Flags& flags) {
  std::string source = "built-in defaults";
  Result<DaemonConfig> config = LoadConfig(flags, &source);
  if (!config.ok()) {
    std::fprintf(stderr, "shortyd: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (flags.check_config) {
    std::printf("shortyd: configuration OK (%s)\n", source.c_str());
    return kExitOk;
  }

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

  Status s = MakeParentDirectories(config->path);
  if (!s.ok()) {
    std::fprintf(stderr, "shortyd: %s\n", s.message().c_str());
    return kExitFailure;
  }
  Result<std::unique_ptr<Daemon>> daemon = Daemon::Start(*config);
  if (!daemon.ok()) {
    std::fprintf(stderr, "shortyd: %s\n", daemon.status().message().c_str());
    return kExitFailure;
  }
  std::fprintf(stderr,
               "shortyd: listening on port %d (%s), control socket %s, "
               "database %s\n",
               (*daemon)->http_port(), config->listen.c_str(),
               (*daemon)->socket_path().c_str(), config->path.c_str());

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      std::string reload_source = source;
      Result<DaemonConfig> next = LoadConfig(flags, &reload_source);
      if (!next.ok()) {
        std::fprintf(stderr,
                     "shortyd: reload refused, keeping the running "
                     "configuration: %s\n",
                     next.status().message().c_str());
        continue;
      }
      Status reloaded = (*daemon)->Reload(*next);
      if (!reloaded.ok()) {
        std::fprintf(stderr,
                     "shortyd: reload refused, keeping the running "
                     "configuration: %s\n",
                     reloaded.message().c_str());
        continue;
      }
      std::fprintf(stderr, "shortyd: configuration reloaded (%s)\n",
                   reload_source.c_str());
      continue;
    }
    std::fprintf(stderr, "shortyd: %s: finishing requests in flight\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  (*daemon)->Shutdown();
  std::fprintf(stderr, "shortyd: stopped\n");
  return kExitOk;
}

}  // namespace
}  // namespace shorty

int main(int argc, char** argv) {
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
  return shorty::Run(flags);
}
