// What integration tests need to drive the real programs: a temporary
// directory, a shortyd process on port 0 and a private socket, the shorty
// binary run as a user would run it, and an HTTP client.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace shorty::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion with extra environment variables and
// optional standard input; kills it after 30 s.
Run RunProgram(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env = {},
               const std::string& stdin_text = "");

// A shortyd on 127.0.0.1:0 with its database and control socket in `dir`.
class Daemon {
 public:
  explicit Daemon(const TempDir& dir, std::vector<std::string> extra_args = {});
  ~Daemon();  // SIGKILL if still running

  // Environment variables for shortyd besides the test's own (SHORTY_*
  // are never inherited); takes effect at the next Start().
  void set_env(std::map<std::string, std::string> env) {
    env_ = std::move(env);
  }

  // Starts shortyd and waits until it listens; false (with log()) if it
  // exited (exit_code() then says how) or took longer than `timeout_ms`.
  bool Start(int timeout_ms = 10000);
  // How shortyd exited when Start() saw it exit, or Wait() did; -1 before.
  int exit_code() const { return exit_code_; }
  // SIGTERM and wait; returns the exit code.
  int Stop();
  // SIGKILL and wait.
  void Kill();
  // Sends a signal.
  void Signal(int sig);
  // Waits for the process to exit on its own; its exit code, or -1 after
  // the timeout.
  int Wait(int timeout_ms = 10000);

  int port() const { return port_; }
  const std::string& socket() const { return socket_; }
  const std::string& db() const { return db_; }
  std::string log() const;
  // The file shortyd's stdout and stderr go to, appended to at each start.
  const std::string& log_path() const { return log_path_; }
  std::string base_url() const;

  // The shorty CLI pointed at this daemon's control socket.
  Run Shorty(std::vector<std::string> args,
             const std::map<std::string, std::string>& env = {}) const;

  // An HTTP client to the daemon's TCP listener.
  std::unique_ptr<httplib::Client> Http() const;
  // An HTTP client over the control socket.
  std::unique_ptr<httplib::Client> Control() const;

 private:
  std::string dir_;
  std::string db_;
  std::string socket_;
  std::string log_path_;
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

// Paths of the programs under test, set by CMake.
const char* ShortydPath();
const char* ShortyPath();

}  // namespace shorty::test
