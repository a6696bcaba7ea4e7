#include "tests/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace shorty::test {
namespace {

using Clock = std::chrono::steady_clock;

// A test writes to sockets and pipes whose other end may be gone (that is
// what some tests are about); the write should fail, not end the test.
const bool kIgnoreSigpipe = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> EnvironmentWith(
    const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    // The tests decide every shorty setting themselves.
    if (key.rfind("SHORTY_", 0) == 0) continue;
    env[key] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

pid_t Spawn(std::vector<std::string> argv,
            const std::map<std::string, std::string>& env, int in_fd,
            int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in_fd >= 0) posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<std::string> envv = EnvironmentWith(env);
  auto args = CStrings(argv);
  auto envp = CStrings(envv);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " +
                             std::strerror(rc));
  }
  return pid;
}

int WaitPid(pid_t pid, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/shorty-test-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

Run RunProgram(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env,
               const std::string& stdin_text) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = Spawn(argv, env, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Standard input is small in every test; write it whole, then close.
  if (!stdin_text.empty()) {
    (void)!write(in[1], stdin_text.data(), stdin_text.size());
  }
  close(in[1]);

  Run run;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  auto deadline = Clock::now() + std::chrono::seconds(30);
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? run.out : run.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  run.exit_code = WaitPid(pid, 1000);
  if (run.exit_code == -1) {
    kill(pid, SIGKILL);
    WaitPid(pid, 5000);
  }
  return run;
}

Daemon::Daemon(const TempDir& dir, std::vector<std::string> extra_args)
    : dir_(dir.path()),
      db_(dir.path() + "/data/shorty.db"),
      socket_(dir.path() + "/run/shortyd.sock"),
      log_path_(dir.path() + "/shortyd.log"),
      extra_args_(std::move(extra_args)) {}

Daemon::~Daemon() {
  if (pid_ > 0) Kill();
}

bool Daemon::Start(int timeout_ms) {
  std::vector<std::string> argv = {ShortydPath(), "--db",        db_,
                                   "--listen",    "127.0.0.1:0", "--socket",
                                   socket_};
  // Unless a test gives its own, no system config file is read.
  bool has_config = false;
  for (const auto& a : extra_args_) has_config |= a == "--config";
  if (!has_config) {
    WriteFile(dir_ + "/empty.toml", "");
    argv.push_back("--config");
    argv.push_back(dir_ + "/empty.toml");
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  const size_t log_start = ReadFile(log_path_).size();
  int log =
      open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = Spawn(argv, env_, devnull, log, log);
  close(log);
  close(devnull);

  static const std::regex kListening(R"(listening on port (\d+))");
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    // Only what this start wrote: the log is kept across restarts.
    std::string text = ReadFile(log_path_).substr(log_start);
    std::smatch m;
    if (std::regex_search(text, m, kListening)) {
      port_ = std::stoi(m[1]);
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int Daemon::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int rc = WaitPid(pid_, 15000);
  if (rc == -1) {
    kill(pid_, SIGKILL);
    WaitPid(pid_, 5000);
  }
  pid_ = -1;
  return rc;
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  WaitPid(pid_, 5000);
  pid_ = -1;
}

void Daemon::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int Daemon::Wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  int rc = WaitPid(pid_, timeout_ms);
  if (rc != -1) {
    pid_ = -1;
    exit_code_ = rc;
  }
  return rc;
}

std::string Daemon::log() const { return ReadFile(log_path_); }

std::string Daemon::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

Run Daemon::Shorty(std::vector<std::string> args,
                   const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv = {ShortyPath(), "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> e = env;
  // No CLI config of the machine's user leaks into a test.
  e.emplace("XDG_CONFIG_HOME", dir_ + "/xdg-config");
  return RunProgram(argv, e);
}

std::unique_ptr<httplib::Client> Daemon::Http() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  return c;
}

std::unique_ptr<httplib::Client> Daemon::Control() const {
  auto c = std::make_unique<httplib::Client>(socket_, 80);
  c->set_address_family(AF_UNIX);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  return c;
}

const char* ShortydPath() { return SHORTYD_PATH; }
const char* ShortyPath() { return SHORTY_PATH; }

}  // namespace shorty::test
