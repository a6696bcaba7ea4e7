// shortyd put together: the store, the visit counter, the link service and
// the two listeners, started and stopped in the right order.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "daemon/http_server.h"
#include "daemon/visit_counter.h"
#include "shared/auth.h"
#include "shared/config.h"
#include "shared/link_service.h"
#include "shared/random.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

// The service settings a daemon config implies; `http_port` is the port
// actually bound, for a default public URL when listening on port 0.
ServiceOptions ServiceOptionsFor(const DaemonConfig& config, int http_port);

class Daemon {
 public:
  // Opens the database (refusing a corrupt one or one in use), binds the
  // HTTP listener and the control socket, and starts serving on threads of
  // its own. Errors name what failed and what to do.
  static Result<std::unique_ptr<Daemon>> Start(const DaemonConfig& config);

  ~Daemon();  // Shutdown() if not done

  int http_port() const { return http_port_; }
  const std::string& socket_path() const { return socket_path_; }

  // Applies the settings a running daemon can change (link rules, default
  // status, slug length, public URL). Listen address, socket and database
  // need a restart; a change to them is reported and otherwise ignored.
  Status Reload(const DaemonConfig& config);

  // Stops accepting, finishes requests in flight, flushes visit counts and
  // checkpoints the database. Idempotent.
  void Shutdown();

 private:
  Daemon() = default;

  DaemonConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<VisitCounter> visits_;
  SystemRandom random_;
  std::unique_ptr<LinkService> service_;
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<Listener> http_;
  std::unique_ptr<Listener> control_;
  std::thread http_thread_;
  std::thread control_thread_;
  int http_port_ = 0;
  std::string socket_path_;
  std::atomic<bool> draining_{false};
  bool shut_down_ = false;
};

}  // namespace shorty
