// shortyd under systemd's protocols, with no systemd running: sockets passed
// by socket activation (through systemd-socket-activate, and by this test
// holding the sockets the way systemd does), sd_notify readiness, reload,
// stop and watchdog messages on a datagram socket of the test's own,
// journald priority prefixes, the access log, and the CLI's choice of
// socket.
#include "daemon/systemd.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/log.h"
#include "shared/config.h"
#include "tests/harness.h"

extern char** environ;

namespace shorty::test {
namespace {

using Clock = std::chrono::steady_clock;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------
// Sockets and processes the way systemd would handle them.

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }

  // The next datagram, or "" after timeout_ms.
  std::string Next(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  // The first datagram with `part` in it, skipping others (kept in
  // skipped()); "" if none came within timeout_ms.
  std::string WaitFor(const std::string& part, int timeout_ms = 10000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      std::string message = Next(static_cast<int>(left.count()) + 1);
      if (message.empty()) continue;
      if (Contains(message, part)) return message;
      skipped_.push_back(message);
    }
    return "";
  }
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> skipped_;
};

// A listening TCP socket on 127.0.0.1 with a free port.
int ListenTcp(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

int UnixSocket(const std::string& path, int type, bool listening) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  if (listening) REQUIRE(listen(fd, 16) == 0);
  return fd;
}

// A port nothing listens on right now.
int FreePort() {
  int port = 0;
  int fd = ListenTcp(&port);
  close(fd);
  return port;
}

bool Listening(int fd) {
  int value = 0;
  socklen_t len = sizeof(value);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) == 0 &&
         value == 1;
}

bool IsSocketFile(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

int ConnectTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads what the peer sends until it closes (or 10 s pass).
std::string ReadAll(int fd) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawExchange(int port, const std::string& request) {
  int fd = ConnectTcp(port);
  REQUIRE(fd >= 0);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply = ReadAll(fd);
  close(fd);
  return reply;
}

// The test's environment without shorty's or systemd's own variables, plus
// `extra`.
std::vector<std::string> ChildEnvironment(
    const std::map<std::string, std::string>& extra) {
  static const std::set<std::string> kDropped = {
      "LISTEN_PID",    "LISTEN_FDS",   "LISTEN_FDNAMES", "NOTIFY_SOCKET",
      "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "STATE_DIRECTORY"};
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    if (key.rfind("SHORTY_", 0) == 0 || kDropped.count(key)) continue;
    env[key] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Starts argv with `passed` as descriptors 3, 4, ... (as systemd passes
// them), stdin from /dev/null and stdout and stderr appended to log_path.
pid_t SpawnWithSockets(std::vector<std::string> argv,
                       const std::map<std::string, std::string>& env,
                       const std::vector<int>& passed,
                       const std::string& log_path) {
  // Copies above the target numbers, so no dup2 has source == target
  // (which would keep FD_CLOEXEC on some libcs).
  std::vector<int> high;
  for (int fd : passed) high.push_back(fcntl(fd, F_DUPFD_CLOEXEC, 100));
  int log =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, devnull, 0);
  posix_spawn_file_actions_adddup2(&actions, log, 1);
  posix_spawn_file_actions_adddup2(&actions, log, 2);
  for (size_t i = 0; i < high.size(); ++i) {
    posix_spawn_file_actions_adddup2(&actions, high[i],
                                     kFirstPassedFd + static_cast<int>(i));
  }
  std::vector<std::string> envv = ChildEnvironment(env);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : envv) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  for (int fd : high) close(fd);
  close(log);
  close(devnull);
  REQUIRE_MESSAGE(rc == 0, "cannot start ", argv[0], ": ", strerror(rc));
  return pid;
}

// shortyd run through a shell that sets LISTEN_PID to its own pid and execs
// it, the way systemd addresses passed sockets to the process it starts.
std::vector<std::string> WithListenPid(std::vector<std::string> shortyd) {
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "LISTEN_PID=$$ exec \"$0\" \"$@\""};
  argv.insert(argv.end(), shortyd.begin(), shortyd.end());
  return argv;
}

int WaitExit(pid_t pid, int timeout_ms = 15000) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Waits until the file at `path` holds `part`, from byte `from` on.
bool WaitForText(const std::string& path, const std::string& part,
                 size_t from = 0, int timeout_ms = 10000) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    std::string text = ReadFile(path);
    if (text.size() > from && Contains(text.substr(from), part)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::unique_ptr<httplib::Client> HttpTo(int port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  return c;
}

std::unique_ptr<httplib::Client> ControlAt(const std::string& path) {
  auto c = std::make_unique<httplib::Client>(path, 80);
  c->set_address_family(AF_UNIX);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  return c;
}

std::vector<std::string> ShortydArgs(const TempDir& dir) {
  WriteFile(dir / "empty.toml", "");
  return {ShortydPath(),          "--config", dir / "empty.toml", "--db",
          dir / "data/shorty.db", "--socket", dir / "own.sock"};
}

// ---------------------------------------------------------------------------
// The pure parts, by table.

FdKind Tcp() { return {true, AF_INET, SOCK_STREAM, true}; }
FdKind Tcp6() { return {true, AF_INET6, SOCK_STREAM, true}; }
FdKind Unix() { return {true, AF_UNIX, SOCK_STREAM, true}; }

TEST_CASE("passed sockets are told apart by name, then by family") {
  struct Case {
    const char* name;
    Environment env;
    std::vector<FdKind> fds;  // descriptors 3, 4, ...
    int http;                 // expected; -2 = an error
    int control;
    const char* error_part;
  };
  const long pid = 4242;
  const Case cases[] = {
      {"nothing passed", {}, {}, -1, -1, ""},
      {"another process's sockets",
       {{"LISTEN_PID", "4243"}, {"LISTEN_FDS", "2"}},
       {Tcp(), Unix()},
       -1,
       -1,
       ""},
      {"malformed LISTEN_PID",
       {{"LISTEN_PID", "42x"}, {"LISTEN_FDS", "2"}},
       {Tcp(), Unix()},
       -1,
       -1,
       ""},
      {"zero descriptors",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "0"}},
       {},
       -1,
       -1,
       ""},
      {"named",
       {{"LISTEN_PID", "4242"},
        {"LISTEN_FDS", "2"},
        {"LISTEN_FDNAMES", "control:http"}},
       {Unix(), Tcp()},
       4,
       3,
       ""},
      {"unnamed, by family",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "2"}},
       {Tcp6(), Unix()},
       3,
       4,
       ""},
      {"unit names, by family",
       {{"LISTEN_PID", "4242"},
        {"LISTEN_FDS", "2"},
        {"LISTEN_FDNAMES", "shortyd.socket:shortyd.socket"}},
       {Unix(), Tcp()},
       4,
       3,
       ""},
      {"names not one per descriptor",
       {{"LISTEN_PID", "4242"},
        {"LISTEN_FDS", "2"},
        {"LISTEN_FDNAMES", "http"}},
       {Unix(), Tcp()},
       4,
       3,
       ""},
      {"only the control socket",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {Unix()},
       -1,
       3,
       ""},
      {"only HTTP",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {Tcp()},
       3,
       -1,
       ""},
      {"http on a Unix socket",
       {{"LISTEN_PID", "4242"},
        {"LISTEN_FDS", "1"},
        {"LISTEN_FDNAMES", "http"}},
       {Unix()},
       -2,
       -2,
       "FileDescriptorName=http"},
      {"control on TCP",
       {{"LISTEN_PID", "4242"},
        {"LISTEN_FDS", "1"},
        {"LISTEN_FDNAMES", "control"}},
       {Tcp()},
       -2,
       -2,
       "FileDescriptorName=control"},
      {"a datagram socket",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {{true, AF_UNIX, SOCK_DGRAM, false}},
       -2,
       -2,
       "not a listening stream socket"},
      {"a socket not listening",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {{true, AF_INET, SOCK_STREAM, false}},
       -2,
       -2,
       "not a listening stream socket"},
      {"not a socket",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {{}},
       -2,
       -2,
       "is not a socket"},
      {"two HTTP sockets",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "2"}},
       {Tcp(), Tcp6()},
       -2,
       -2,
       "second HTTP socket"},
      {"a netlink socket",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "1"}},
       {{true, AF_NETLINK, SOCK_STREAM, true}},
       -2,
       -2,
       "one TCP socket"},
      {"LISTEN_FDS not a number",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "two"}},
       {},
       -2,
       -2,
       "LISTEN_FDS"},
      {"LISTEN_FDS absurd",
       {{"LISTEN_PID", "4242"}, {"LISTEN_FDS", "100000"}},
       {},
       -2,
       -2,
       "LISTEN_FDS"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::vector<int> asked;
    auto inspect = [&c, &asked](int fd) {
      asked.push_back(fd);
      const size_t i = static_cast<size_t>(fd - kFirstPassedFd);
      return i < c.fds.size() ? c.fds[i] : FdKind{};
    };
    Result<PassedSockets> got = AssignPassedSockets(c.env, pid, inspect);
    if (c.http == -2) {
      REQUIRE_FALSE(got.ok());
      CHECK(Contains(got.status().message(), c.error_part));
      continue;
    }
    REQUIRE_MESSAGE(got.ok(), got.status().message());
    CHECK(got->http == c.http);
    CHECK(got->control == c.control);
    // Descriptors not addressed to us are not even looked at.
    if (c.http == -1 && c.control == -1) CHECK(asked.empty());
  }
}

TEST_CASE("the watchdog timeout is ours only when WATCHDOG_PID says so") {
  using std::chrono::microseconds;
  CHECK(WatchdogTimeout({}, 7) == microseconds(0));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "30000000"}}, 7) ==
        microseconds(30000000));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "200000"}, {"WATCHDOG_PID", "7"}},
                        7) == microseconds(200000));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "200000"}, {"WATCHDOG_PID", "8"}},
                        7) == microseconds(0));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "soon"}}, 7) == microseconds(0));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "-5"}}, 7) == microseconds(0));
  CHECK(WatchdogTimeout({{"WATCHDOG_USEC", "0"}}, 7) == microseconds(0));
}

TEST_CASE("the watchdog pings only while the daemon is healthy") {
  TempDir dir;
  NotifySocket manager(dir / "notify.sock");
  Notifier notifier(Environment{{"NOTIFY_SOCKET", manager.path()}});
  REQUIRE(notifier.enabled());
  std::atomic<bool> healthy{true};
  Watchdog watchdog(&notifier, std::chrono::milliseconds(100), [&healthy] {
    return healthy ? Status::Ok() : Status::Unavailable("wedged");
  });
  watchdog.Start();
  CHECK(manager.Next(1000) == "WATCHDOG=1");
  CHECK(manager.Next(1000) == "WATCHDOG=1");
  healthy = false;
  // One ping may have been on its way; then silence.
  manager.Next(150);
  while (!manager.Next(10).empty()) {
  }
  CHECK(manager.Next(400).empty());
  healthy = true;
  CHECK(manager.Next(1000) == "WATCHDOG=1");
  watchdog.Stop();
  while (!manager.Next(10).empty()) {
  }
  CHECK(manager.Next(300).empty());
}

TEST_CASE("notifications reach abstract sockets; bad addresses are off") {
  CHECK_FALSE(Notifier(Environment{}).enabled());
  CHECK_FALSE(Notifier(Environment{{"NOTIFY_SOCKET", ""}}).enabled());
  CHECK_FALSE(
      Notifier(Environment{{"NOTIFY_SOCKET", "relative/path"}}).enabled());
  CHECK_FALSE(
      Notifier(Environment{{"NOTIFY_SOCKET", "/" + std::string(200, 'x')}})
          .enabled());
  CHECK(Notifier(Environment{}).Notify("READY=1").ok());

  const std::string name = "shorty-systemd-test-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                      name.size())) == 0);
  Notifier notifier(Environment{{"NOTIFY_SOCKET", "@" + name}});
  REQUIRE(notifier.enabled());
  REQUIRE(notifier.Notify("READY=1\nSTATUS=abstract").ok());
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) ==
        "READY=1\nSTATUS=abstract");
  close(fd);
  // Nobody listening: an error to report, not a crash.
  CHECK_FALSE(notifier.Notify("READY=1").ok());
}

TEST_CASE("a manager that stops reading cannot stall shortyd") {
  TempDir dir;
  NotifySocket manager(dir / "notify.sock");  // never read below
  Notifier notifier(Environment{{"NOTIFY_SOCKET", manager.path()}});
  Status last = Status::Ok();
  auto start = Clock::now();
  for (int i = 0; i < 5000 && last.ok(); ++i) {
    last = notifier.Notify("WATCHDOG=1");
  }
  CHECK_FALSE(last.ok());
  CHECK(Contains(last.message(),
                 "cannot notify the service manager at " + manager.path()));
  CHECK(Clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("journald streams are recognised by device and inode") {
  CHECK(IsJournalStream("2049:1234", 2049, 1234));
  CHECK_FALSE(IsJournalStream("2049:1234", 2049, 1235));
  CHECK_FALSE(IsJournalStream("2048:1234", 2049, 1234));
  CHECK_FALSE(IsJournalStream("", 0, 0));
  CHECK_FALSE(IsJournalStream("2049", 2049, 0));
  CHECK_FALSE(IsJournalStream("2049:1234x", 2049, 1234));
  CHECK_FALSE(IsJournalStream(":", 0, 0));

  CHECK(FormatLogLine(Priority::kInfo, "listening", true) == "<6>listening\n");
  CHECK(FormatLogLine(Priority::kError, "bad", true) == "<3>bad\n");
  CHECK(FormatLogLine(Priority::kWarning, "hm", false) == "shortyd: hm\n");
  // One call, one line, whatever the message holds.
  CHECK(FormatLogLine(Priority::kInfo, "a\nb\rc\x1b", true) ==
        "<6>a\\x0ab\\x0dc\\x1b\n");
}

TEST_CASE("access log lines hide secrets and cannot be split or forged") {
  const std::pair<const char*, const char*> targets[] = {
      {"/wiki", "/wiki"},
      {"/wiki?q=1&lang=en", "/wiki?q=1&lang=en"},
      {"/-/api/v1/links?token=abc", "/-/api/v1/links?token=REDACTED"},
      {"/x?access_token=abc&q=2", "/x?access_token=REDACTED&q=2"},
      {"/x?TOKEN=abc", "/x?TOKEN=REDACTED"},
      {"/x?%74oken=abc", "/x?%74oken=REDACTED"},
      {"/x?password=hunter2", "/x?password=REDACTED"},
      {"/x?csrf=1&session_id=2&key=3&code=4&sig=5",
       "/x?csrf=REDACTED&session_id=REDACTED&key=REDACTED&code=REDACTED&"
       "sig=REDACTED"},
      {"/x?monkey=banana&token", "/x?monkey=banana&token"},
      {"/x?a=1&&token=2&", "/x?a=1&&token=REDACTED&"},
      {"/x?", "/x?"},
  };
  for (const auto& [in, out] : targets) {
    CAPTURE(in);
    CHECK(RedactTarget(in) == out);
  }

  AccessLogEntry e;
  e.client = "192.0.2.7";
  e.time = 1790000000;  // 2026-09-21T14:13:20Z
  e.method = "GET";
  e.target = "/a\x01\"b c?token=secret";
  e.version = "HTTP/1.1";
  e.status = 302;
  e.bytes = 17;
  e.user_agent = "curl/8 \"x\"\n\x7f\xc3\xa9";
  e.duration = std::chrono::microseconds(1234);
  CHECK(FormatAccessLine(e) ==
        "192.0.2.7 - - [21/Sep/2026:14:13:20 +0000] "
        "\"GET /a\\x01\\x22b\\x20c?token=REDACTED HTTP/1.1\" 302 17 \"-\" "
        "\"curl/8 \\x22x\\x22\\x0a\\x7f\\xc3\\xa9\" 1.234ms\n");

  AccessLogEntry local;
  local.client = "local";
  local.user = "ada";
  local.method = "POST";
  local.target = "/-/api/v1/links";
  local.version = "HTTP/1.1";
  local.status = 201;
  local.referer = "https://go.example.com/-/?token=x";
  CHECK(FormatAccessLine(local) ==
        "local - ada [01/Jan/1970:00:00:00 +0000] \"POST /-/api/v1/links "
        "HTTP/1.1\" 201 0 \"https://go.example.com/-/?token=REDACTED\" \"-\" "
        "0.000ms\n");
}

TEST_CASE("the CLI reaches the system daemon when the user runs none") {
  const Environment user = {{"XDG_RUNTIME_DIR", "/run/user/1000"}};
  const std::string own = "/run/user/1000/shorty/shortyd.sock";
  struct Case {
    const char* name;
    Environment env;
    unsigned uid;
    std::set<std::string> present;
    std::string expected;
  };
  const Case cases[] = {
      {"only the system daemon",
       user,
       1000,
       {kSystemSocketPath},
       kSystemSocketPath},
      {"the user's own daemon wins", user, 1000, {own, kSystemSocketPath}, own},
      {"only the user's own", user, 1000, {own}, own},
      {"neither: the user's own, for the hint", user, 1000, {}, own},
      {"root always uses the system one", user, 0, {}, kSystemSocketPath},
      {"no runtime directory",
       {},
       1000,
       {kSystemSocketPath},
       kSystemSocketPath},
      {"no runtime directory, no system daemon",
       {},
       1000,
       {},
       "/tmp/shorty-1000/shortyd.sock"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto exists = [&c](const std::string& path) {
      return c.present.count(path) > 0;
    };
    CHECK(ClientSocketPath(c.env, c.uid, exists) == c.expected);
  }
}

TEST_CASE("systemd's StateDirectory= is where the database goes") {
  CHECK(DefaultDatabasePath({{"STATE_DIRECTORY", "/var/lib/shorty"}}, 999) ==
        "/var/lib/shorty/shorty.db");
  CHECK(DefaultDatabasePath(
            {{"STATE_DIRECTORY", "/var/lib/shorty:/var/lib/other"}}, 999) ==
        "/var/lib/shorty/shorty.db");
  CHECK(DefaultDatabasePath(
            {{"STATE_DIRECTORY", "relative"}, {"HOME", "/home/ada"}}, 999) ==
        "/home/ada/.local/share/shorty/shorty.db");
}

TEST_CASE("server.access_log must be off, '-' or an absolute path") {
  DaemonConfig config;
  CHECK(SetDaemonSetting("server.access_log", "-", "", &config).ok());
  CHECK(config.access_log == "-");
  CHECK(SetDaemonSetting("server.access_log", "/var/log/shorty/access.log", "",
                         &config)
            .ok());
  CHECK(SetDaemonSetting("server.access_log", "", "", &config).ok());
  CHECK(config.access_log.empty());
  Status relative = SetDaemonSetting("server.access_log", "access.log",
                                     "SHORTY_SERVER_ACCESS_LOG", &config);
  CHECK(Contains(relative.message(),
                 "SHORTY_SERVER_ACCESS_LOG: server.access_log: 'access.log' "
                 "is not an absolute path"));
  CHECK_FALSE(
      SetDaemonSetting("server.access_log", "/tmp/a\nb", "", &config).ok());
  Status file =
      ParseDaemonConfig("[server]\naccess_log = 5\n", "x.toml", &config);
  CHECK(Contains(file.message(),
                 "x.toml:2: server.access_log: expected a "
                 "string"));
}

// ---------------------------------------------------------------------------
// The real shortyd.

TEST_CASE("socket activation through systemd-socket-activate") {
  TempDir dir;
  const int port = FreePort();
  const std::string control = dir / "control.sock";
  const std::string log = dir / "activate.log";
  std::vector<std::string> argv = {"/usr/bin/systemd-socket-activate",
                                   "-l",
                                   "127.0.0.1:" + std::to_string(port),
                                   "-l",
                                   control,
                                   "--fdname=http:control"};
  std::vector<std::string> shortyd = ShortydArgs(dir);
  shortyd.push_back("--listen");
  shortyd.push_back("127.0.0.1:1");  // must be ignored
  argv.insert(argv.end(), shortyd.begin(), shortyd.end());

  for (int round = 1; round <= 2; ++round) {
    CAPTURE(round);
    const size_t log_start = ReadFile(log).size();
    pid_t pid = SpawnWithSockets(argv, {}, {}, log);
    // systemd-socket-activate binds, then starts shortyd at the first
    // connection, which shortyd then answers.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    int probe = -1;
    while (probe < 0 && Clock::now() < deadline) {
      probe = ConnectTcp(port);
      if (probe < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE_MESSAGE(probe >= 0, ReadFile(log));
    const std::string request =
        "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send(probe, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply = ReadAll(probe);
    close(probe);
    CHECK_MESSAGE(reply.rfind("HTTP/1.1 200", 0) == 0, ReadFile(log));

    REQUIRE(WaitForText(log,
                        "listening on port " + std::to_string(port) +
                            " (127.0.0.1:" + std::to_string(port) +
                            ", socket from systemd",
                        log_start));
    CHECK(WaitForText(log,
                      "control socket " + control +
                          " (socket from "
                          "systemd)",
                      log_start));
    CHECK_FALSE(IsSocketFile(dir / "own.sock"));

    // The CLI over the passed control socket; links are named after the
    // passed HTTP socket's address.
    Run add =
        RunProgram({ShortyPath(), "--socket", control, "add",
                    "https://example.com/activated-" + std::to_string(round)},
                   {{"XDG_CONFIG_HOME", dir / "xdg"}});
    CHECK_MESSAGE(add.exit_code == 0, add.err);
    CHECK(Contains(add.out, "http://127.0.0.1:" + std::to_string(port) + "/"));
    auto status = ControlAt(control)->Get("/-/api/v1/status");
    REQUIRE(status);
    CHECK(status->status == 200);
    CHECK(Contains(status->body, "\"links\":" + std::to_string(round)));

    kill(pid, SIGTERM);
    CHECK(WaitExit(pid) == 0);
    // The socket file is systemd's: shortyd never removes it.
    CHECK(IsSocketFile(control));
  }
}

TEST_CASE(
    "passed sockets are served, never shut down, and serve the next "
    "shortyd") {
  TempDir dir;
  int port = 0;
  const int http = ListenTcp(&port);
  const std::string control_path = dir / "control.sock";
  const int control = UnixSocket(control_path, SOCK_STREAM, true);
  const std::string log = dir / "shortyd.log";
  std::vector<std::string> shortyd = ShortydArgs(dir);
  shortyd.push_back("--listen");
  shortyd.push_back("127.0.0.1:1");
  const std::map<std::string, std::string> env = {
      {"LISTEN_FDS", "2"}, {"LISTEN_FDNAMES", "http:control"}};

  pid_t pid =
      SpawnWithSockets(WithListenPid(shortyd), env, {http, control}, log);
  REQUIRE_MESSAGE(
      WaitForText(log, "listening on port " + std::to_string(port) + " ("),
      ReadFile(log));
  auto healthy = HttpTo(port)->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  auto status = ControlAt(control_path)->Get("/-/api/v1/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  // Nothing was bound at server.socket.
  CHECK_FALSE(IsSocketFile(dir / "own.sock"));

  kill(pid, SIGTERM);
  REQUIRE(WaitExit(pid) == 0);
  CHECK(Contains(ReadFile(log), "stopped"));

  // systemd's copies still listen: shortyd neither shut them down nor
  // unlinked the socket file. A client that comes now waits in the backlog.
  CHECK(Listening(http));
  CHECK(Listening(control));
  CHECK(IsSocketFile(control_path));
  const int waiting = ConnectTcp(port);
  REQUIRE(waiting >= 0);
  const std::string request =
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  send(waiting, request.data(), request.size(), MSG_NOSIGNAL);

  // The next shortyd answers it.
  const size_t log_start = ReadFile(log).size();
  pid = SpawnWithSockets(WithListenPid(shortyd), env, {http, control}, log);
  CHECK(ReadAll(waiting).rfind("HTTP/1.1 200", 0) == 0);
  close(waiting);
  REQUIRE(WaitForText(log, "listening on port", log_start));
  auto again = ControlAt(control_path)->Get("/-/api/v1/status");
  REQUIRE(again);
  CHECK(again->status == 200);
  kill(pid, SIGTERM);
  CHECK(WaitExit(pid) == 0);
  CHECK(Listening(http));
  close(http);
  close(control);
}

TEST_CASE("with only the control socket passed, HTTP binds server.listen") {
  TempDir dir;
  const std::string control_path = dir / "control.sock";
  const int control = UnixSocket(control_path, SOCK_STREAM, true);
  const std::string log = dir / "shortyd.log";
  std::vector<std::string> shortyd = ShortydArgs(dir);
  shortyd.push_back("--listen");
  shortyd.push_back("127.0.0.1:0");
  pid_t pid = SpawnWithSockets(WithListenPid(shortyd), {{"LISTEN_FDS", "1"}},
                               {control}, log);
  REQUIRE_MESSAGE(WaitForText(log, "listening on port"), ReadFile(log));
  std::smatch m;
  const std::string text = ReadFile(log);
  REQUIRE(std::regex_search(
      text, m,
      std::regex(R"(listening on port (\d+) \(127\.0\.0\.1:(\d+)\))")));
  CHECK(m[1] == m[2]);
  CHECK(Contains(text, control_path + " (socket from systemd)"));
  auto healthy = HttpTo(std::stoi(m[1]))->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  kill(pid, SIGTERM);
  CHECK(WaitExit(pid) == 0);
  CHECK(IsSocketFile(control_path));
  close(control);
}

TEST_CASE("a passed descriptor of the wrong kind stops shortyd with exit 1") {
  TempDir dir;
  const std::string log = dir / "shortyd.log";
  SUBCASE("a datagram socket") {
    const int dgram = UnixSocket(dir / "dgram.sock", SOCK_DGRAM, false);
    pid_t pid = SpawnWithSockets(WithListenPid(ShortydArgs(dir)),
                                 {{"LISTEN_FDS", "1"}}, {dgram}, log);
    CHECK(WaitExit(pid) == 1);
    CHECK(Contains(ReadFile(log),
                   "descriptor 3 is not a listening stream socket"));
    close(dgram);
  }
  SUBCASE("http named on a Unix socket") {
    const int unix_socket = UnixSocket(dir / "c.sock", SOCK_STREAM, true);
    pid_t pid = SpawnWithSockets(
        WithListenPid(ShortydArgs(dir)),
        {{"LISTEN_FDS", "1"}, {"LISTEN_FDNAMES", "http"}}, {unix_socket}, log);
    CHECK(WaitExit(pid) == 1);
    CHECK(Contains(ReadFile(log), "FileDescriptorName=http belongs on"));
    close(unix_socket);
  }
  // Nothing was opened: no database file.
  CHECK_FALSE(IsSocketFile(dir / "own.sock"));
  struct stat st {};
  CHECK(stat((dir / "data/shorty.db").c_str(), &st) != 0);
}

TEST_CASE("sd_notify: ready, reloading, reload refused, watchdog, stopping") {
  TempDir dir;
  NotifySocket manager(dir / "notify.sock");
  WriteFile(dir / "shortyd.toml", "[links]\nslug_length = 7\n");
  Daemon d(dir, {"--config", dir / "shortyd.toml"});
  d.set_env({{"NOTIFY_SOCKET", manager.path()}, {"WATCHDOG_USEC", "200000"}});
  REQUIRE_MESSAGE(d.Start(), d.log());

  std::string ready = manager.WaitFor("READY=1");
  REQUIRE_MESSAGE(!ready.empty(), d.log());
  // Once ready, the port answers at once.
  auto http = d.Http();
  http->set_connection_timeout(0, 200000);
  auto healthy = http->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  CHECK(Contains(ready, "STATUS=serving 0 links on 127.0.0.1:" +
                            std::to_string(d.port())));
  CHECK(d.Shorty({"add", "https://example.com/a"}).exit_code == 0);

  // The watchdog: WATCHDOG=1 every 100 ms.
  auto first = Clock::now();
  for (int i = 0; i < 4; ++i)
    REQUIRE(!manager.WaitFor("WATCHDOG=1", 1000).empty());
  CHECK(Clock::now() - first < std::chrono::seconds(3));

  // A reload: RELOADING=1 with the monotonic time it began, then READY=1.
  const uint64_t before = MonotonicMicros();
  d.Signal(SIGHUP);
  std::string reloading = manager.WaitFor("RELOADING=1");
  const uint64_t after = MonotonicMicros();
  REQUIRE_MESSAGE(!reloading.empty(), d.log());
  std::smatch m;
  REQUIRE(
      std::regex_search(reloading, m, std::regex(R"(MONOTONIC_USEC=(\d+))")));
  const uint64_t at = std::stoull(m[1]);
  CHECK(at >= before);
  CHECK(at <= after);
  std::string reloaded = manager.WaitFor("READY=1");
  CHECK(Contains(reloaded, "STATUS=serving 1 links"));
  CHECK(WaitForText(d.log_path(), "configuration reloaded"));

  // A refused reload still ends in READY=1, and says why.
  WriteFile(dir / "shortyd.toml", "[links]\nslug_length = \"long\"\n");
  d.Signal(SIGHUP);
  REQUIRE(!manager.WaitFor("RELOADING=1").empty());
  std::string refused = manager.WaitFor("READY=1");
  CHECK(Contains(refused, "reload refused"));
  CHECK(Contains(refused, "slug_length"));

  // Stopping.
  CHECK(d.Stop() == 0);
  std::string stopping = manager.WaitFor("STOPPING=1", 2000);
  CHECK(Contains(stopping, "STATUS=draining"));
  for (const std::string& message : manager.skipped()) {
    // Every datagram is VARIABLE=value lines.
    CHECK(std::regex_match(message, std::regex(R"(([A-Z_]+=[^\n]*\n?)+)")));
  }
}

TEST_CASE("no watchdog pings when WATCHDOG_PID names another process") {
  TempDir dir;
  NotifySocket manager(dir / "notify.sock");
  Daemon d(dir);
  d.set_env({{"NOTIFY_SOCKET", manager.path()},
             {"WATCHDOG_USEC", "100000"},
             {"WATCHDOG_PID", "1"}});
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(!manager.WaitFor("READY=1").empty());
  CHECK(manager.WaitFor("WATCHDOG=1", 600).empty());
  CHECK(d.Stop() == 0);
}

// The dev:ino of a file, as systemd writes it into JOURNAL_STREAM.
std::string DeviceInode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" +
         std::to_string(static_cast<uint64_t>(st.st_ino));
}

TEST_CASE("under journald, log lines carry syslog priorities") {
  TempDir dir;
  Daemon d(dir);
  WriteFile(d.log_path(), "");
  const std::map<std::string, std::string> env = {
      {"JOURNAL_STREAM", DeviceInode(d.log_path())},
      {"SHORTY_SERVER_ACCESS_LOG", "-"}};
  d.set_env(env);
  REQUIRE_MESSAGE(d.Start(), d.log());
  CHECK(Contains(d.log(), "<6>listening on port " + std::to_string(d.port())));
  auto r = d.Http()->Get("/-/healthy");
  REQUIRE(r);
  CHECK(WaitForText(d.log_path(), "<6>127.0.0.1 - - ["));

  // A second shortyd on the same database cannot start: an error.
  Daemon second(dir);
  second.set_env(env);
  CHECK_FALSE(second.Start());
  CHECK(Contains(second.log(), "<3>"));

  CHECK(d.Stop() == 0);
  const std::string text = d.log();
  CHECK(Contains(text, "<6>stopped"));
  CHECK_FALSE(Contains(text, "shortyd: "));
  // Every line has its priority.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(std::regex_search(line, std::regex("^<[3-7]>")));
  }
}

TEST_CASE("not under journald, log lines stay plain") {
  TempDir dir;
  Daemon d(dir);
  WriteFile(d.log_path(), "");
  // Another file's device and inode: stderr is not the journal.
  WriteFile(dir / "other", "");
  d.set_env({{"JOURNAL_STREAM", DeviceInode(dir / "other")}});
  REQUIRE_MESSAGE(d.Start(), d.log());
  CHECK(Contains(d.log(), "shortyd: listening on port"));
  CHECK_FALSE(Contains(d.log(), "<6>"));
  CHECK(d.Stop() == 0);
}

TEST_CASE("the access log: one safe line per request, reopened on SIGHUP") {
  TempDir dir;
  const std::string access = dir / "access.log";
  WriteFile(dir / "shortyd.toml",
            "[server]\naccess_log = \"" + access + "\"\n");
  Daemon d(dir, {"--config", dir / "shortyd.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());

  auto c = d.Http();
  auto r = c->Get("/-/healthy?token=secret-in-query&q=kept",
                  {{"Authorization", "Bearer sekrit-bearer"},
                   {"Cookie", "shorty_session=cookie-value"},
                   {"User-Agent", "agent \"quoted\""}});
  REQUIRE(r);
  std::string reply =
      RawExchange(d.port(),
                  "GET /a\x01z\"q HTTP/1.1\r\nHost: x\r\nUser-Agent: "
                  "ua\x1b[31m\r\nConnection: close\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 404", 0) == 0);
  auto status = d.Control()->Get("/-/api/v1/status");
  REQUIRE(status);
  REQUIRE(WaitForText(access, "/-/api/v1/status"));

  const std::string text = ReadFile(access);
  CHECK_FALSE(Contains(text, "secret-in-query"));
  CHECK_FALSE(Contains(text, "sekrit-bearer"));
  CHECK_FALSE(Contains(text, "Bearer"));
  CHECK_FALSE(Contains(text, "cookie-value"));
  CHECK(
      Contains(text, "\"GET /-/healthy?token=REDACTED&q=kept HTTP/1.1\" 200"));
  CHECK(Contains(text, "\"agent \\x22quoted\\x22\""));
  CHECK(Contains(text, "\"GET /a\\x01z\\x22q HTTP/1.1\" 404"));
  CHECK(Contains(text, "\"ua\\x1b[31m\""));
  CHECK(Contains(text, "local - "));
  for (char raw : {'\x01', '\x1b', '\r'})
    CHECK(text.find(raw) == std::string::npos);
  const std::regex line_format(
      R"(^\S+ - \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] )"
      R"("\S+ \S+ \S+" \d{3} \d+ "[^"]*" "[^"]*" \d+\.\d{3}ms$)");
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    CAPTURE(line);
    CHECK(std::regex_match(line, line_format));
  }
  CHECK(count == 3);

  // logrotate moves the file away and sends SIGHUP; shortyd starts a new one.
  REQUIRE(rename(access.c_str(), (access + ".1").c_str()) == 0);
  const size_t log_start = d.log().size();
  d.Signal(SIGHUP);
  REQUIRE(WaitForText(d.log_path(), "configuration reloaded", log_start));
  REQUIRE(d.Http()->Get("/-/ready"));
  CHECK(WaitForText(access, "\"GET /-/ready HTTP/1.1\" 200"));
  CHECK_FALSE(Contains(ReadFile(access + ".1"), "/-/ready"));

  // A log that cannot be opened refuses the reload and keeps the old one.
  WriteFile(dir / "shortyd.toml",
            "[server]\naccess_log = \"" + dir / "missing/access.log" + "\"\n");
  d.Signal(SIGHUP);
  REQUIRE(WaitForText(d.log_path(), "reload refused", log_start));
  CHECK(Contains(d.log(), "server.access_log: cannot open"));
  REQUIRE(d.Http()->Get("/-/healthy"));
  CHECK(WaitForText(access, "\"GET /-/healthy HTTP/1.1\" 200"));
  CHECK(d.Stop() == 0);
}

TEST_CASE("an access log that cannot be opened stops shortyd at start") {
  TempDir dir;
  const std::string log = dir / "shortyd.log";
  pid_t pid = SpawnWithSockets(
      ShortydArgs(dir),
      {{"SHORTY_SERVER_ACCESS_LOG", dir / "missing/access.log"}}, {}, log);
  CHECK(WaitExit(pid) == 1);
  CHECK(Contains(ReadFile(log), "server.access_log: cannot open " +
                                    dir / "missing/access.log"));
}

}  // namespace
}  // namespace shorty::test
