#include "daemon/systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <vector>

#include "daemon/log.h"

namespace shorty {
namespace {

// More would be a misconfigured socket unit; shortyd uses two.
constexpr int kMaxPassedFds = 16;

bool ParseNumber(std::string_view text, long* out) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, *out);
  return !text.empty() && error == std::errc() && ptr == end;
}

std::string FamilyName(int family) {
  switch (family) {
    case AF_UNIX:
      return "a Unix socket";
    case AF_INET:
      return "an IPv4 socket";
    case AF_INET6:
      return "an IPv6 socket";
  }
  return "a socket of family " + std::to_string(family);
}

std::vector<std::string> SplitNames(std::string_view names) {
  std::vector<std::string> out;
  while (true) {
    const size_t colon = names.find(':');
    out.emplace_back(names.substr(0, colon));
    if (colon == std::string_view::npos) break;
    names.remove_prefix(colon + 1);
  }
  return out;
}

FdKind Inspect(int fd) {
  FdKind kind;
  int value = 0;
  socklen_t len = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0) return kind;
  kind.socket = true;
  kind.type = value;
  len = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) == 0) {
    kind.family = value;
  }
  len = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) == 0) {
    kind.listening = value != 0;
  }
  return kind;
}

Status MakeBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Status::IOError("socket activation: descriptor " +
                           std::to_string(fd) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<PassedSockets> AssignPassedSockets(
    const Environment& env, long pid,
    const std::function<FdKind(int fd)>& inspect) {
  PassedSockets passed;
  auto listen_pid = env.find("LISTEN_PID");
  auto listen_fds = env.find("LISTEN_FDS");
  long owner = 0;
  // The variables may have been inherited from a parent that was meant to
  // take the sockets; only those addressed to us count.
  if (listen_pid == env.end() || !ParseNumber(listen_pid->second, &owner) ||
      owner != pid || listen_fds == env.end()) {
    return passed;
  }
  long count = 0;
  if (!ParseNumber(listen_fds->second, &count) || count < 0 ||
      count > kMaxPassedFds) {
    return Status::InvalidArgument(
        "socket activation: LISTEN_FDS='" + listen_fds->second.substr(0, 32) +
        "' is not a number of descriptors 0.." + std::to_string(kMaxPassedFds));
  }
  std::vector<std::string> names;
  auto listen_names = env.find("LISTEN_FDNAMES");
  if (listen_names != env.end()) names = SplitNames(listen_names->second);
  // Names that do not match the descriptors one for one say nothing.
  if (names.size() != static_cast<size_t>(count)) names.clear();

  for (int i = 0; i < count; ++i) {
    const int fd = kFirstPassedFd + i;
    const std::string name = names.empty() ? "" : names[i];
    const std::string what =
        "socket activation: descriptor " + std::to_string(fd) +
        (name.empty() ? "" : " (named '" + name.substr(0, 64) + "')");
    const FdKind kind = inspect(fd);
    if (!kind.socket) {
      return Status::InvalidArgument(what +
                                     " is not a socket; pass shortyd only "
                                     "ListenStream= sockets");
    }
    if (kind.type != SOCK_STREAM || !kind.listening) {
      return Status::InvalidArgument(
          what +
          " is not a listening stream socket; use ListenStream= (not "
          "ListenDatagram= or Accept=yes) in the socket unit");
    }
    const bool unix_socket = kind.family == AF_UNIX;
    const bool tcp = kind.family == AF_INET || kind.family == AF_INET6;
    int* slot = nullptr;
    if (name == "http") {
      if (!tcp) {
        return Status::InvalidArgument(
            what + " is " + FamilyName(kind.family) +
            "; FileDescriptorName=http belongs on a ListenStream=HOST:PORT "
            "socket");
      }
      slot = &passed.http;
    } else if (name == "control") {
      if (!unix_socket) {
        return Status::InvalidArgument(
            what + " is " + FamilyName(kind.family) +
            "; FileDescriptorName=control belongs on a ListenStream=/PATH "
            "socket");
      }
      slot = &passed.control;
    } else if (tcp) {
      slot = &passed.http;
    } else if (unix_socket) {
      slot = &passed.control;
    } else {
      return Status::InvalidArgument(
          what + " is " + FamilyName(kind.family) +
          "; shortyd takes one TCP socket (HTTP) and one Unix socket "
          "(control)");
    }
    if (*slot >= 0) {
      return Status::InvalidArgument(
          what + " is a second " + (slot == &passed.http ? "HTTP" : "control") +
          " socket; shortyd serves one of each, so give the socket units one "
          "ListenStream= each");
    }
    *slot = fd;
  }
  return passed;
}

Result<PassedSockets> TakePassedSockets() {
  Environment env;
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) {
    if (const char* value = ::getenv(name)) env[name] = value;
  }
  Result<PassedSockets> passed =
      AssignPassedSockets(env, static_cast<long>(::getpid()), Inspect);
  if (!passed.ok()) return passed;
  if (passed->http >= 0 || passed->control >= 0) {
    // Assigned sockets mean LISTEN_FDS was ours and well-formed.
    long count = 0;
    ParseNumber(env["LISTEN_FDS"], &count);
    for (int fd = kFirstPassedFd; fd < kFirstPassedFd + count; ++fd) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  for (int fd : {passed->http, passed->control}) {
    if (fd < 0) continue;
    Status s = MakeBlocking(fd);
    if (!s.ok()) return s;
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return passed;
}

uint64_t MonotonicMicros() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

Notifier::Notifier(const Environment& env) {
  auto it = env.find("NOTIFY_SOCKET");
  if (it == env.end()) return;
  const std::string& where = it->second;
  sockaddr_un addr{};
  if (where.size() < 2 || where.size() > sizeof(addr.sun_path) ||
      (where[0] != '/' && where[0] != '@')) {
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  address_ = where;
  if (address_[0] == '@') address_[0] = '\0';
}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

Status Notifier::Notify(std::string_view state) {
  if (!enabled()) return Status::Ok();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  const socklen_t len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  // Never blocking: a manager that does not read its queue must not stall
  // the signal loop or the watchdog. A full queue gets a second's grace.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(1);
  ssize_t n;
  for (;;) {
    n = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&addr), len);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (n < 0) {
    return Status::IOError(
        "cannot notify the service manager at " +
        (address_[0] == '\0' ? "@" + address_.substr(1) : address_) + ": " +
        std::strerror(errno));
  }
  return Status::Ok();
}

std::chrono::microseconds WatchdogTimeout(const Environment& env, long pid) {
  auto usec = env.find("WATCHDOG_USEC");
  long timeout = 0;
  if (usec == env.end() || !ParseNumber(usec->second, &timeout) ||
      timeout <= 0) {
    return std::chrono::microseconds(0);
  }
  auto watchdog_pid = env.find("WATCHDOG_PID");
  if (watchdog_pid != env.end()) {
    long owner = 0;
    if (!ParseNumber(watchdog_pid->second, &owner) || owner != pid) {
      return std::chrono::microseconds(0);
    }
  }
  return std::chrono::microseconds(timeout);
}

Watchdog::Watchdog(Notifier* notifier, std::chrono::microseconds timeout,
                   std::function<Status()> healthy)
    : notifier_(notifier), timeout_(timeout), healthy_(std::move(healthy)) {}

Watchdog::~Watchdog() { Stop(); }

void Watchdog::Start() {
  if (timeout_.count() <= 0 || !notifier_->enabled() || thread_.joinable()) {
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void Watchdog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::Run() {
  // Half the timeout, as sd_watchdog_enabled(3) advises; capped so that an
  // absurd WATCHDOG_USEC cannot overflow the clock arithmetic below.
  const auto period = std::min<std::chrono::microseconds>(
      timeout_ / 2, std::chrono::hours(1));
  bool was_healthy = true;
  bool send_ok = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    Status health = healthy_();
    if (health.ok()) {
      Status sent = notifier_->Notify("WATCHDOG=1");
      if (!sent.ok() && send_ok) {
        Log(Priority::kWarning, "watchdog: " + sent.message());
      }
      send_ok = sent.ok();
      if (!was_healthy) {
        Log(Priority::kNotice, "watchdog: healthy again; pinging resumed");
      }
    } else if (was_healthy) {
      Log(Priority::kError,
          "watchdog: not pinging the service manager, which will restart "
          "shortyd if this lasts: " +
              health.message());
    }
    was_healthy = health.ok();
    lock.lock();
    wake_.wait_for(lock, period, [this] { return stop_; });
  }
}

}  // namespace shorty
