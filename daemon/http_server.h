// The listeners of shortyd: cpp-httplib's request handling over sockets that
// shortyd binds and serves itself. Binding here gives the listen backlog,
// the control socket's file mode and its peer credentials; serving each
// connection here gives poll() instead of select() (no 1,024-descriptor
// ceiling), a cap on request size that also holds for chunked bodies, and a
// prompt end to idle keep-alive connections at shutdown.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "daemon/metrics.h"
#include "daemon/workers.h"
#include "shared/config.h"
#include "shared/status.h"

namespace shorty {

// Who is on the other end of the connection a request came in on.
struct Peer {
  bool local = false;   // over the control socket
  uid_t uid = 0;        // local only: from SO_PEERCRED
  pid_t pid = 0;        // local only
  std::string user;     // local only: the account name, or "uid:N"
  std::string address;  // TCP only: the client's address
};

// The peer of the request the calling thread is handling. Valid only inside
// a handler.
const Peer& CurrentPeer();

// The address of the client behind the request the calling thread handles:
// the connection's own address, or, when the connection comes from one of
// `trusted_proxies`, the last X-Forwarded-For entry that is not itself a
// trusted proxy. "local" for the control socket.
std::string ClientAddress(const httplib::Request& req,
                          const std::vector<std::string>& trusted_proxies);

struct ListenerOptions {
  size_t threads = 64;
  // Request line, headers and body together; larger requests are cut off.
  size_t max_request_bytes = 1 << 20;
  size_t keep_alive_max = 1000;  // requests per connection
  int keep_alive_timeout_s = 5;
  int read_timeout_s = 10;   // for each read
  int write_timeout_s = 10;  // for each write
  // For a whole request, from its first byte to its last: a client that
  // trickles a byte at a time (slowloris) is cut off here.
  int request_deadline_s = 30;
  // Where each request is counted and timed, from reading it to its
  // response written; null for nowhere. Must outlive the listener.
  HttpMetrics* metrics = nullptr;
};

// One listener. Register handlers with the httplib::Server API, bind, then
// Serve() on a thread of its own; Stop() from any thread.
class Listener : public httplib::Server {
 public:
  explicit Listener(const ListenerOptions& options);
  ~Listener() override;

  // Binds and listens on TCP (port 0: any free port). Returns the port.
  Result<int> BindTcp(const HostPort& address);

  // Binds and listens on a Unix socket at `path`, mode 0660, creating the
  // directory (0750) if absent. A stale socket file nobody answers on is
  // replaced; a live one means another shortyd: Unavailable "already
  // running". Anything else at the path is left alone: IOError.
  Status BindUnix(const std::string& path);

  // Serves a listening socket that another process bound and passed on
  // (systemd socket activation); `unix_socket` for the control socket. The
  // socket is never unlinked or shut down, as its owner keeps it: Stop()
  // stops accepting and the listener's descriptor is closed when the
  // listener is destroyed. Returns the TCP port, or 0 for a Unix socket;
  // IOError when the descriptor cannot be read.
  Result<int> AdoptSocket(int fd, bool unix_socket);

  // Called on the serving thread after each response has been written,
  // with the time from the request's first byte. The listener holds
  // httplib's set_logger() for this; use observers instead of calling it.
  using RequestObserver =
      std::function<void(const httplib::Request&, const httplib::Response&,
                         std::chrono::microseconds elapsed)>;
  // Adds an observer. Call before Serve(); not thread-safe.
  void AddRequestObserver(RequestObserver observer);

  // Serves until Stop(); returns false if serving failed to start.
  bool Serve();

  // Whether Serve() returned without a Stop(): the accept loop failed and
  // the listener no longer takes connections. Thread-safe.
  bool failed() const { return served_ && !stopping_; }

  // Stops accepting, lets requests in flight finish, ends idle keep-alive
  // connections, and returns once Serve() has returned. Thread-safe.
  void Stop();

 private:
  class Connection;
  class Workers;
  enum class Next { kRequest, kPark, kClose };

  bool process_and_close_socket(socket_t sock) override;
  // Serves requests on `connection` until it closes, idles out, or goes
  // quiet while others wait for a worker (then it is parked).
  void ServeConnection(std::unique_ptr<Connection> connection);
  // Waits for the connection's next request: kPark when it is quiet and
  // `may_park` and other connections wait for a worker.
  Next AwaitRequest(Connection& connection, bool may_park);
  // A parked connection with a request: back to the queue for a worker.
  void Resume(std::unique_ptr<IdleConnection> connection);
  // Run when the library shuts its task queue down at the end of serving.
  void ShutdownWorkers();

  ListenerOptions options_;
  bool unix_ = false;
  std::string unix_path_;
  int adopted_fd_ = -1;  // passed by systemd; ours to close, not to shut down
  std::vector<RequestObserver> observers_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> serving_{false};  // Serve() was called
  std::atomic<bool> served_{false};   // Serve() has returned
  // Made when serving starts (the library asks for its task queue then).
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<IdleConnections> idle_;  // after pool_: stopped first
};

}  // namespace shorty
