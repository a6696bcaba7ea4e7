// shortyd's own log and its access log. Log lines go to stderr, with a
// syslog priority prefix ("<3>", "<6>") when stderr is a journald stream
// and "shortyd: " otherwise; the access log writes one line per HTTP
// request to stderr or to a file, with nothing secret in it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "shared/config.h"
#include "shared/status.h"

namespace shorty {

// Syslog priorities, as journald reads them from a "<N>" prefix.
enum class Priority {
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInfo = 6,
  kDebug = 7,
};

// Whether `journal_stream` (JOURNAL_STREAM's value, "DEVICE:INODE" in
// decimal) names the file with these st_dev and st_ino: systemd sets it when
// it connects a service's stderr to journald. Pure; thread-safe.
bool IsJournalStream(std::string_view journal_stream, uint64_t device,
                     uint64_t inode);

// One log line as it is written: "<6>message\n" for journald, else
// "shortyd: message\n". A newline or other control character in `message`
// is written as "\xHH", so one call is always one line. Pure; thread-safe.
std::string FormatLogLine(Priority priority, std::string_view message,
                          bool journal);

// Decides, once, whether stderr goes to journald (JOURNAL_STREAM in `env`
// matches fstat(2) of stderr). Call before the first Log() and before any
// thread starts; later calls change the format.
void InitLog(const Environment& env);

// Writes one line to stderr in a single write(2), so lines from different
// threads never interleave. Failures are ignored. Thread-safe.
void Log(Priority priority, std::string_view message);

// What the access log records about one request.
struct AccessLogEntry {
  std::string client;      // address, or "local" for the control socket
  std::string user;        // the control socket's peer user; "" = unknown
  std::time_t time = 0;    // when the request came, Unix seconds
  std::string method;      // as received
  std::string target;      // path and query, as received
  std::string version;     // "HTTP/1.1"
  int status = 0;          // HTTP status sent
  uint64_t bytes = 0;      // body bytes sent
  std::string referer;     // Referer header, as received
  std::string user_agent;  // User-Agent header, as received
  std::chrono::microseconds duration{0};  // first byte in to last byte out
};

// The request target (or a Referer) as the access log shows it: the value
// of a query parameter whose name suggests a secret becomes "REDACTED".
// Names are compared after percent-decoding, in any case: those containing
// token, pass, secret, session, csrf, auth, credential or apikey, and key,
// sig, signature, code, otp, jwt, pw, pwd exactly. The path and every other
// query value stay as sent. Pure; thread-safe.
std::string RedactTarget(std::string_view target);

// One access log line, like Apache's combined format plus the duration:
//   CLIENT - USER [10/Oct/2026:13:55:36 +0000] "GET /x?q=1 HTTP/1.1" 302 0
//   "REFERER" "AGENT" 0.412ms
// Time is UTC; target and referer are redacted (RedactTarget). Control
// bytes, bytes from 0x7f, '"' and '\\' are written as "\xHH" in every
// field, and so are spaces outside the referer and agent, so a client can
// neither split a line nor forge one. "-" stands for an empty field. Ends in
// '\n'. Pure; thread-safe.
std::string FormatAccessLine(const AccessLogEntry& entry);

// The access log: off, stderr (at info priority, through Log()), or a file
// opened for appending. Open() may be called again (SIGHUP) to reopen the
// file after logrotate moved it or to switch where the log goes.
// Thread-safe.
class AccessLog {
 public:
  AccessLog() = default;
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // `where` is server.access_log: "" = off, "-" = stderr, else a file path,
  // created 0640 (under shortyd's umask) if absent and appended to. On
  // failure IOError naming the file, and the log keeps going where it went.
  Status Open(const std::string& where);

  // Whether requests are being logged; cheap.
  bool enabled() const { return mode_ != Mode::kOff; }

  // Appends one line; write errors are dropped (a full disk must not stop
  // redirects).
  void Write(const AccessLogEntry& entry);

 private:
  enum class Mode { kOff, kStderr, kFile };
  std::mutex mu_;
  std::atomic<Mode> mode_{Mode::kOff};  // changed under mu_
  int fd_ = -1;                         // kFile only
};

}  // namespace shorty
