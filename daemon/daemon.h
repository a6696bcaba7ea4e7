// shortyd put together: the store, the visit counter, the link service and
// the two listeners, started and stopped in the right order.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "daemon/http_server.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/systemd.h"
#include "daemon/timed_store.h"
#include "daemon/visit_counter.h"
#include "shared/auth.h"
#include "shared/config.h"
#include "shared/import_service.h"
#include "shared/link_service.h"
#include "shared/pg_store.h"
#include "shared/random.h"
#include "shared/rate_limit.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

// The service settings a daemon config implies; `http_port` is the port
// actually bound, for a default public URL when listening on port 0;
// `blocked` the parsed blocklist (null: none).
ServiceOptions ServiceOptionsFor(
    const DaemonConfig& config, int http_port,
    std::shared_ptr<const std::unordered_set<std::string>> blocked);

// Reads and parses config.blocklist_file; null when none is configured.
// IOError or InvalidArgument naming the file otherwise.
Result<std::shared_ptr<const std::unordered_set<std::string>>> LoadBlocklist(
    const DaemonConfig& config);

// The link store storage.backend names, opened: SQLite at storage.path, or
// PostgreSQL at storage.postgres (reads at storage.postgres_read when set).
struct OpenedStore {
  std::unique_ptr<Store> store;
  PgStore* postgres = nullptr;  // the same store, when it is PostgreSQL
};

// Opens the store once, without retrying. The errors of SqliteStore::Open or
// PgStore::Open (Unavailable while PostgreSQL cannot be reached), their
// messages never holding a password.
Result<OpenedStore> OpenLinkStore(const DaemonConfig& config);

// "database /var/lib/shorty/shorty.db" or "PostgreSQL host=db ... (reads
// from host=replica ...)", passwords REDACTED (ConninfoForLog): for logs.
std::string DescribeStore(const DaemonConfig& config);

// Forwards PostgreSQL's change notices to a redirect cache: Changed forgets
// one link, Resync everything. Until Attach and after Detach it does nothing,
// so a notice that arrives while the daemon shuts down touches nothing
// freed. Thread-safe.
class CacheInvalidator {
 public:
  // Registers shorty_redirect_cache_remote_invalidations_total and
  // shorty_redirect_cache_resyncs_total on `metrics`.
  explicit CacheInvalidator(Metrics* metrics);
  void Attach(RedirectCache* cache);
  void Detach();
  void Changed(const std::string& slug_key);
  void Resync();

 private:
  std::mutex mu_;
  RedirectCache* cache_ = nullptr;  // guarded by mu_
  Counter* invalidations_;
  Counter* resyncs_;
};

class Daemon {
 public:
  // Opens the database (refusing a corrupt one or one in use), binds the
  // HTTP listener and the control socket, and starts serving on threads of
  // its own. A socket in `passed` (systemd socket activation) is served
  // instead of binding that listener; server.listen or server.socket is then
  // ignored. Errors name what failed and what to do.
  static Result<std::unique_ptr<Daemon>> Start(
      const DaemonConfig& config, const PassedSockets& passed = {});
  // The same over a store already opened with OpenLinkStore(config) (the
  // caller may have waited for PostgreSQL to come up).
  static Result<std::unique_ptr<Daemon>> Start(const DaemonConfig& config,
                                               const PassedSockets& passed,
                                               OpenedStore store);

  ~Daemon();  // Shutdown() if not done

  int http_port() const { return http_port_; }
  // Every metric, for /-/metrics; valid for the daemon's life.
  DaemonMetrics* metrics() { return metrics_.get(); }
  const std::string& socket_path() const { return socket_path_; }
  // The HTTP listener's address, "127.0.0.1:8080" or "[::]:8080".
  const std::string& http_address() const { return http_address_; }
  // Whether the listeners serve sockets systemd passed.
  bool http_passed() const { return http_passed_; }
  bool control_passed() const { return control_passed_; }

  // For the service watchdog: the number of stored links when the database
  // answers a read and both listeners still accept connections; Unavailable
  // saying what is wrong otherwise. Thread-safe.
  Result<int64_t> CheckHealth();

  // For the service manager's watchdog: whether a restart could help. Both
  // listeners must accept and, for SQLite, the database must answer. A
  // PostgreSQL server that is away is not shortyd's fault and a restart
  // would not bring it back, only empty the redirect cache that keeps links
  // working meanwhile: that shows in /-/ready instead. Thread-safe.
  Status CheckAlive();

  // Applies the settings a running daemon can change (link rules and the
  // blocklist, default status, slug length, public URL); on error (an
  // unreadable blocklist, an access log that cannot be opened) nothing
  // changes. The access log file is reopened (for logrotate). Listen
  // address, socket and database need a restart; a change to them is
  // reported and otherwise ignored.
  Status Reload(const DaemonConfig& config);

  // Stops accepting, finishes requests in flight, flushes visit counts and
  // checkpoints the database. Idempotent.
  void Shutdown();

 private:
  Daemon() = default;

  DaemonConfig config_;
  // First, so it outlives everything that updates it.
  std::unique_ptr<DaemonMetrics> metrics_;
  std::atomic<bool> metrics_public_{false};  // server.metrics_public
  std::unique_ptr<Store> store_;  // a TimedStore over SQLite or PostgreSQL
  PgStore* postgres_ = nullptr;   // inside store_, when it is PostgreSQL
  // Shared with PostgreSQL's change watcher, which may outlive service_.
  std::shared_ptr<CacheInvalidator> invalidator_;
  std::unique_ptr<StoreProbe> store_probe_;  // for /-/ready
  std::unique_ptr<VisitCounter> visits_;
  SystemRandom random_;
  std::unique_ptr<LinkService> service_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<ImportService> imports_;  // import, export, backup
  // Rate limits (limits.*); their figures take effect at a restart.
  std::unique_ptr<RateLimiter> create_limit_;
  std::unique_ptr<RateLimiter> signin_limit_;
  std::unique_ptr<RateLimiter> password_limit_;
  std::unique_ptr<RateLimiter> not_found_limit_;
  std::unique_ptr<Listener> http_;
  std::unique_ptr<Listener> control_;
  std::thread http_thread_;
  std::thread control_thread_;
  int http_port_ = 0;
  std::string socket_path_;
  // Socket activation and the access log (server.access_log).
  std::string http_address_;
  bool http_passed_ = false;
  bool control_passed_ = false;
  std::unique_ptr<AccessLog> access_log_;
  std::atomic<bool> draining_{false};
  bool shut_down_ = false;
};

}  // namespace shorty
