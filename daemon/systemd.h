// shortyd under systemd, without libsystemd: readiness and status
// notifications (the sd_notify(3) datagram protocol), the service watchdog,
// and listening sockets handed over by socket activation (the
// sd_listen_fds(3) protocol: LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "shared/config.h"
#include "shared/status.h"

namespace shorty {

// The first descriptor systemd passes (SD_LISTEN_FDS_START).
constexpr int kFirstPassedFd = 3;

// Listening sockets systemd passed, by use; -1 where none was passed.
struct PassedSockets {
  int http = -1;     // a TCP socket, AF_INET or AF_INET6
  int control = -1;  // a Unix stream socket
};

// What the kernel says about a passed descriptor.
struct FdKind {
  bool socket = false;  // false: not a socket at all, or closed
  int family = 0;       // AF_UNIX, AF_INET, AF_INET6, ...
  int type = 0;         // SOCK_STREAM, SOCK_DGRAM, ...
  bool listening = false;
};

// Decides which passed descriptor is which, from LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES in `env`, for the process `pid`; `inspect` tells what a
// descriptor is. A descriptor named "http" or "control" (systemd's
// FileDescriptorName=) is that socket; one with any other name (systemd
// names a socket unit's descriptors after the unit by default) or without
// names is told by its family: Unix is the control socket, IPv4 and IPv6
// are HTTP. Nothing passed (no LISTEN_PID, another process's, or
// LISTEN_FDS=0): both -1. InvalidArgument naming the descriptor for a
// malformed LISTEN_FDS, a descriptor that is not a listening stream
// socket, a name on a socket of the wrong family, or two sockets for the
// same use. Pure; thread-safe.
Result<PassedSockets> AssignPassedSockets(
    const Environment& env, long pid,
    const std::function<FdKind(int fd)>& inspect);

// AssignPassedSockets for this process, with descriptors inspected by
// getsockopt(2). On success every passed descriptor gets FD_CLOEXEC, the two
// sockets are put in blocking mode (the listener's accept loop expects it),
// and LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed from the
// environment so that no child takes the sockets for its own. Call before
// any thread starts (it changes the environment).
Result<PassedSockets> TakePassedSockets();

// CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= wants it.
uint64_t MonotonicMicros();

// Sends notifications to the service manager at NOTIFY_SOCKET: an absolute
// path, or "@name" for an abstract socket. When the variable is unset or
// holds anything else, the notifier is disabled and sending does nothing.
class Notifier {
 public:
  explicit Notifier(const Environment& env);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  bool enabled() const { return !address_.empty(); }

  // Sends `state`, newline-separated VARIABLE=value assignments such as
  // "READY=1\nSTATUS=serving", as one datagram. Ok when disabled; IOError
  // when the datagram could not be sent within a second (never blocks for
  // longer, so a manager that stopped reading cannot stall shortyd).
  // Thread-safe.
  Status Notify(std::string_view state);

 private:
  std::string address_;  // sun_path bytes; a leading NUL for abstract
  int fd_ = -1;
};

// How often the service manager wants WATCHDOG=1: WATCHDOG_USEC, when
// WATCHDOG_PID is unset or names `pid`. Zero when the watchdog is off or
// the values are malformed. Pure; thread-safe.
std::chrono::microseconds WatchdogTimeout(const Environment& env, long pid);

// Sends WATCHDOG=1 at half the timeout from a thread of its own, but only
// while `healthy` says so: when it returns an error (logged once per
// spell), the pings stop and the service manager restarts the wedged
// daemon. `healthy` runs on the watchdog thread.
class Watchdog {
 public:
  Watchdog(Notifier* notifier, std::chrono::microseconds timeout,
           std::function<Status()> healthy);
  ~Watchdog();  // Stop()
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts pinging (the first ping at once). Does nothing when the timeout
  // is zero or the notifier disabled. Not thread-safe against Stop().
  void Start();
  // Stops pinging and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  Notifier* notifier_;
  std::chrono::microseconds timeout_;
  std::function<Status()> healthy_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace shorty
