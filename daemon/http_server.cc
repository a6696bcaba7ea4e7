#include "daemon/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "daemon/files.h"

namespace shorty {
namespace {

thread_local Peer current_peer;
// When the request the calling thread handles began, for request observers.
thread_local std::chrono::steady_clock::time_point request_started;

// A listen backlog big enough that bursts of new connections queue instead
// of being dropped and retried after 200 ms+ (see NOTES: the library's
// default of 5 gives p99 of a second).
constexpr int kBacklog = 4096;

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Waits until fd is ready for `events` or timeout_ms passes; false on
// timeout or error.
bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A connection as httplib's request parser sees it. Reads count against a
// per-request budget, so a body without Content-Length (chunked, or
// compressed) cannot grow without bound.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int fd, const ListenerOptions& options,
                   const std::string& remote)
      : fd_(fd), options_(options), remote_(remote) {}

  void StartRequest() {
    response_status_ = 0;
    budget_ = options_.max_request_bytes;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::seconds(options_.request_deadline_s);
  }
  bool OverBudget() const { return over_budget_; }
  // The status of the response written since StartRequest, 0 before one.
  int ResponseStatus() const { return response_status_; }

  // Bytes received and not yet handed to the library: a pipelined request,
  // or the rest of this one.
  bool HasBuffered() const { return buffered_begin_ < buffered_end_; }

  bool is_readable() const override {
    return HasBuffered() ||
           WaitFor(fd_, POLLIN, options_.read_timeout_s * 1000);
  }
  bool is_writable() const override {
    return WaitFor(fd_, POLLOUT, options_.write_timeout_s * 1000);
  }
  // The library reads a request's head a byte at a time; each call here is
  // served from a buffer filled by one recv, so a request costs a poll and
  // a recv or two, not two system calls a byte. The budget counts the bytes
  // handed on, so bytes of a pipelined next request count toward that one.
  ssize_t read(char* ptr, size_t size) override {
    if (budget_ == 0) {
      over_budget_ = true;
      return -1;
    }
    if (size > budget_) size = budget_;
    if (!HasBuffered()) {
      buffered_begin_ = buffered_end_ = 0;
      if (size >= sizeof(buffer_)) {  // a large body: straight through
        ssize_t n = Receive(ptr, size);
        if (n > 0) budget_ -= static_cast<size_t>(n);
        return n;
      }
      ssize_t n = Receive(buffer_, sizeof(buffer_));
      if (n <= 0) return n;
      buffered_end_ = static_cast<size_t>(n);
    }
    const size_t n = std::min(size, buffered_end_ - buffered_begin_);
    std::memcpy(ptr, buffer_ + buffered_begin_, n);
    buffered_begin_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    // The status as it goes on the wire, for metrics: the library writes
    // each status line at the start of a write, and "100 Continue" ahead of
    // the final one.
    if (response_status_ == 0 && size >= 12 &&
        std::string_view(ptr, 9) == "HTTP/1.1 ") {
      int code = 0;
      for (size_t i = 9; i < 12 && code >= 0; ++i) {
        code = ptr[i] >= '0' && ptr[i] <= '9' ? code * 10 + (ptr[i] - '0') : -1;
      }
      if (code >= 200) response_status_ = code;
    }
    // Try first; wait only when the socket's buffer is full.
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    if (!is_writable()) return -1;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_;
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return fd_; }

 private:
  // One recv, waiting at most until the request's deadline and never
  // longer than the read timeout at a time.
  ssize_t Receive(char* ptr, size_t size) {
    // Most often the bytes are there already (the caller just polled):
    // then one recv, no wait.
    ssize_t n;
    do {
      n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    int wait_ms = static_cast<int>(
        std::min<int64_t>(left.count(), options_.read_timeout_s * 1000));
    if (!WaitFor(fd_, POLLIN, wait_ms)) return -1;
    do {
      n = ::recv(fd_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  char buffer_[4096];
  size_t buffered_begin_ = 0;
  size_t buffered_end_ = 0;
  int fd_;
  const ListenerOptions& options_;
  std::string remote_;
  size_t budget_ = 0;
  bool over_budget_ = false;
  int response_status_ = 0;
  std::chrono::steady_clock::time_point deadline_;
};

std::string AddressOf(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "";
  }
  char host[NI_MAXHOST];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof(host),
                    nullptr, 0, NI_NUMERICHOST) != 0) {
    return "";
  }
  return host;
}

Peer LocalPeer(int fd) {
  Peer peer;
  peer.local = true;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer.uid = cred.uid;
    peer.pid = cred.pid;
    passwd pw{};
    passwd* found = nullptr;
    char buf[1024];
    if (::getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
      peer.user = found->pw_name;
    } else {
      peer.user = "uid:" + std::to_string(cred.uid);
    }
  } else {
    peer.user = "unknown";
  }
  return peer;
}

}  // namespace

const Peer& CurrentPeer() { return current_peer; }

std::string ClientAddress(const httplib::Request& req,
                          const std::vector<std::string>& trusted_proxies) {
  const Peer& peer = CurrentPeer();
  if (peer.local) return "local";
  auto trusted = [&trusted_proxies](const std::string& address) {
    return std::find(trusted_proxies.begin(), trusted_proxies.end(), address) !=
           trusted_proxies.end();
  };
  if (!trusted(peer.address)) return peer.address;
  // Walk the forwarded chain from the nearest hop; the first address that
  // is not one of ours is the client (entries further left are the
  // client's own say and may be forged).
  std::string chain;
  size_t n = req.get_header_value_count("X-Forwarded-For");
  for (size_t i = 0; i < n; ++i) {
    if (!chain.empty()) chain += ",";
    chain += req.get_header_value("X-Forwarded-For", i);
  }
  while (!chain.empty()) {
    size_t comma = chain.rfind(',');
    std::string hop =
        comma == std::string::npos ? chain : chain.substr(comma + 1);
    chain = comma == std::string::npos ? "" : chain.substr(0, comma);
    size_t start = hop.find_first_not_of(' ');
    size_t end = hop.find_last_not_of(' ');
    if (start == std::string::npos) continue;
    hop = hop.substr(start, end - start + 1);
    if (!trusted(hop)) return hop.substr(0, 64);
  }
  return peer.address;
}

// What the library sees of the worker pool: the accept loop queues each new
// connection here, and shuts it down once the loop has ended.
class Listener::Workers : public httplib::TaskQueue {
 public:
  explicit Workers(Listener* listener) : listener_(listener) {}
  void enqueue(std::function<void()> fn) override {
    // Refused only once shutdown began, after the accept loop ended.
    if (!listener_->pool_->Submit(fn)) fn();
  }
  void shutdown() override { listener_->ShutdownWorkers(); }

 private:
  Listener* listener_;
};

// A connection and what is kept of it between requests: its peer, its
// stream (with bytes already read), how many requests it has had.
class Listener::Connection : public IdleConnection {
 public:
  Connection(int fd, Peer who, const ListenerOptions& options)
      : fd_(fd), peer(std::move(who)), stream(fd, options, peer.address) {}
  ~Connection() override {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
  }
  int fd() const override { return fd_; }

 private:
  int fd_;

 public:
  Peer peer;
  ConnectionStream stream;
  size_t served = 0;
};

Listener::Listener(const ListenerOptions& options) : options_(options) {
  new_task_queue = [this] {
    pool_ = std::make_unique<WorkerPool>(options_.threads);
    idle_ = std::make_unique<IdleConnections>(
        [this](std::unique_ptr<IdleConnection> c) { Resume(std::move(c)); },
        std::chrono::seconds(options_.keep_alive_timeout_s));
    // Without it, quiet connections wait on their worker as they would
    // in the library's own pool.
    Status started = idle_->Start();
    (void)started;
    return new Workers(this);
  };
  set_keep_alive_max_count(options_.keep_alive_max);
  set_keep_alive_timeout(options_.keep_alive_timeout_s);
  set_read_timeout(options_.read_timeout_s, 0);
  set_write_timeout(options_.write_timeout_s, 0);
  set_payload_max_length(options_.max_request_bytes);
  // The library calls its logger once a response is written.
  set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (observers_.empty()) return;
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - request_started);
    for (const RequestObserver& observer : observers_) {
      observer(req, res, elapsed);
    }
  });
}

Listener::~Listener() {
  if (unix_ && !unix_path_.empty()) ::unlink(unix_path_.c_str());
  if (adopted_fd_ >= 0) ::close(adopted_fd_);
}

Result<int> Listener::AdoptSocket(int fd, bool unix_socket) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return Status::IOError(
        Errno("passed socket " + std::to_string(fd) + ": getsockname"));
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  int port = 0;
  if (!unix_socket) {
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    port = ss.ss_family == AF_INET6
               ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
               : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  // stop() would shut the socket down for its owner too; Stop() instead
  // takes the descriptor away from the accept loop, which polls for that.
  set_idle_interval(0, 100000);
  unix_ = unix_socket;
  adopted_fd_ = fd;
  svr_sock_ = fd;
  return port;
}

void Listener::AddRequestObserver(RequestObserver observer) {
  observers_.push_back(std::move(observer));
}

Result<int> Listener::BindTcp(const HostPort& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(address.port);
  int rc = ::getaddrinfo(address.host.empty() ? nullptr : address.host.c_str(),
                         port.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::InvalidArgument("server.listen: cannot resolve '" +
                                   address.host + "': " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
                    res->ai_protocol);
  if (fd < 0) return Status::IOError(Errno("socket"));
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
    Status s = Status::Unavailable(
        Errno("cannot listen on " + address.host + ":" + port) +
        "; is another program using the port? Choose another with --listen");
    ::close(fd);
    return s;
  }
  if (::listen(fd, kBacklog) != 0) {
    Status s = Status::IOError(Errno("listen"));
    ::close(fd);
    return s;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int bound = ss.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  svr_sock_ = fd;
  return bound;
}

Status Listener::BindUnix(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("server.socket: path '" + path +
                                   "' is empty or longer than 107 bytes");
  }
  Status s = MakeParentDirectories(path);
  if (!s.ok()) return s;

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::IOError("server.socket: " + path +
                             " exists and is not a socket; remove it or "
                             "choose another path with --socket");
    }
    // A socket file outlives a daemon killed with -9. Only one that nobody
    // answers on is stale and may go.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    bool live =
        ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(probe);
    if (live) {
      return Status::Unavailable("another shortyd is already running on " +
                                 path);
    }
    ::unlink(path.c_str());
  }

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(Errno("socket"));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  // The socket is born with mode 0660 (no window where others may connect);
  // the file permissions are the control socket's whole access control.
  mode_t old = ::umask(0117);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0) {
    Status err = Status::IOError(Errno("cannot bind control socket " + path));
    ::close(fd);
    return err;
  }
  if (::listen(fd, kBacklog) != 0) {
    Status err = Status::IOError(Errno("listen " + path));
    ::close(fd);
    ::unlink(path.c_str());
    return err;
  }
  unix_ = true;
  unix_path_ = path;
  svr_sock_ = fd;
  return Status::Ok();
}

bool Listener::Serve() {
  serving_ = true;
  // A Stop() that came first, before this thread got going, wins: it may
  // have seen serving_ false and returned without waiting for us.
  if (stopping_) {
    served_ = true;
    return false;
  }
  bool ok = listen_after_bind();
  // A failed accept loop has closed the listening descriptor itself.
  if (!ok && adopted_fd_ >= 0 && !stopping_) adopted_fd_ = -1;
  served_ = true;
  return ok;
}

void Listener::Stop() {
  stopping_ = true;
  // stop() does nothing until the accept loop runs; a stop that races a
  // start waits for one or the other. A listener whose Serve() has not
  // begun sees stopping_ and returns at once; one never served (a start
  // that failed later) has nothing to stop. Both flags are seq_cst, so one
  // side always sees the other's write.
  while (serving_ && !served_) {
    if (adopted_fd_ >= 0) {
      // The accept loop sees this within its idle interval and ends.
      svr_sock_ = INVALID_SOCKET;
      return;
    }
    if (is_running()) {
      stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool Listener::process_and_close_socket(socket_t sock) {
  Peer peer = unix_ ? LocalPeer(sock) : Peer{false, 0, 0, "", AddressOf(sock)};
  ServeConnection(std::make_unique<Connection>(sock, std::move(peer), options_));
  return true;
}

void Listener::Resume(std::unique_ptr<IdleConnection> idle) {
  Connection* connection = static_cast<Connection*>(idle.release());
  bool queued = pool_->Submit([this, connection] {
    ServeConnection(std::unique_ptr<Connection>(connection));
  });
  if (!queued) delete connection;
}

void Listener::ShutdownWorkers() {
  // Parked connections are closed first: none can come back to a pool
  // that is draining.
  if (idle_) idle_->Stop();
  if (pool_) pool_->Shutdown();
}

Listener::Next Listener::AwaitRequest(Connection& connection, bool may_park) {
  if (connection.stream.HasBuffered()) return Next::kRequest;
  const int fd = connection.fd();
  may_park = may_park && !stopping_.load(std::memory_order_relaxed);
  if (may_park && pool_->Crowded()) {
    return WaitFor(fd, POLLIN, 0) ? Next::kRequest : Next::kPark;
  }
  // Wait on the connection and on the pool's "crowded" signal together,
  // in short slices so that a stopping server does not sit out every idle
  // connection's keep-alive timeout.
  pollfd fds[2] = {{fd, POLLIN, 0}, {pool_->crowded_fd(), POLLIN, 0}};
  const nfds_t count = may_park && fds[1].fd >= 0 ? 2 : 1;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(options_.keep_alive_timeout_s);
  while (!stopping_.load(std::memory_order_relaxed)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    int r = ::poll(fds, count, static_cast<int>(std::min<int64_t>(left, 100)));
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && fds[0].revents != 0) return Next::kRequest;
    if (may_park && pool_->Crowded()) return Next::kPark;
  }
  return Next::kClose;
}

void Listener::ServeConnection(std::unique_ptr<Connection> connection) {
  current_peer = connection->peer;
  ConnectionStream& stream = connection->stream;
  // Called by the library once a request's head is read (not for requests
  // it cannot read, which stay "other"); captures a reference only, so the
  // std::function holds it without allocating.
  RequestHandler handler = RequestHandler::kOther;
  const std::function<void(httplib::Request&)> classify =
      [&handler](httplib::Request& req) {
        handler = ClassifyRequest(req.method, req.target);
      };

  while (connection->served < options_.keep_alive_max) {
    Next next = AwaitRequest(*connection, /*may_park=*/true);
    if (next == Next::kPark) {
      std::unique_ptr<IdleConnection> idle = std::move(connection);
      if (idle_ && idle_->Park(idle)) {
        current_peer = Peer{};
        return;  // this thread goes on to a waiting connection
      }
      connection.reset(static_cast<Connection*>(idle.release()));
      next = AwaitRequest(*connection, /*may_park=*/false);
    }
    if (next != Next::kRequest) break;
    bool last = connection->served + 1 == options_.keep_alive_max ||
                stopping_.load(std::memory_order_relaxed);
    bool closed = false;
    stream.StartRequest();
    request_started = std::chrono::steady_clock::now();
    handler = RequestHandler::kOther;
    auto started = std::chrono::steady_clock::now();
    bool ok = process_request(stream, last, closed, classify);
    ++connection->served;
    if (options_.metrics && stream.ResponseStatus() != 0) {
      std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - started;
      options_.metrics->Record(handler, stream.ResponseStatus(), took.count());
    }
    if (!ok || closed || last || stream.OverBudget()) break;
  }
  connection.reset();  // closes it
  current_peer = Peer{};
}

}  // namespace shorty
