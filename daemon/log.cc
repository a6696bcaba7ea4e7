#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace shorty {
namespace {

std::atomic<bool> journal_log{false};

// Writes all of `text` to fd, retrying short writes and EINTR.
void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void AppendHex(unsigned char c, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += "\\x";
  *out += kHex[c >> 4];
  *out += kHex[c & 15];
}

// Copies `text`, writing control bytes, bytes from 0x7f, '"' and '\\' (and
// spaces when `space` is set) as "\xHH".
void AppendEscaped(std::string_view text, bool space, std::string* out) {
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || (space && c == ' ')) {
      AppendHex(c, out);
    } else {
      *out += ch;
    }
  }
}

// An access log field: "-" when empty, else escaped.
std::string Field(std::string_view text, bool space) {
  if (text.empty()) return "-";
  std::string out;
  AppendEscaped(text, space, &out);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query parameter name as a server reads it: '+' is a space, %HH a byte;
// lower-cased for comparing.
std::string DecodedName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < name.size() && HexValue(name[i + 1]) >= 0 &&
               HexValue(name[i + 2]) >= 0) {
      c = static_cast<char>(HexValue(name[i + 1]) * 16 + HexValue(name[i + 2]));
      i += 2;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += c;
  }
  return out;
}

// Whether a query parameter of this (decoded, lower-case) name may carry a
// secret: API tokens (?token=, ?access_token=), link passwords, anti-CSRF
// tokens, sessions, signatures and one-time codes of other services whose
// links pass through.
bool SecretName(const std::string& name) {
  static constexpr const char* kContains[] = {
      "token", "pass",       "secret", "session", "csrf",
      "auth",  "credential", "apikey", "api_key"};
  static constexpr const char* kEquals[] = {"key", "sig", "signature", "code",
                                            "otp", "jwt", "pw",        "pwd"};
  for (const char* part : kContains) {
    if (name.find(part) != std::string::npos) return true;
  }
  for (const char* whole : kEquals) {
    if (name == whole) return true;
  }
  return false;
}

}  // namespace

bool IsJournalStream(std::string_view journal_stream, uint64_t device,
                     uint64_t inode) {
  const size_t colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  auto number = [](std::string_view text, uint64_t* out) {
    const char* end = text.data() + text.size();
    auto [ptr, error] = std::from_chars(text.data(), end, *out);
    return !text.empty() && error == std::errc() && ptr == end;
  };
  uint64_t dev = 0;
  uint64_t ino = 0;
  return number(journal_stream.substr(0, colon), &dev) &&
         number(journal_stream.substr(colon + 1), &ino) && dev == device &&
         ino == inode;
}

std::string FormatLogLine(Priority priority, std::string_view message,
                          bool journal) {
  std::string line;
  if (journal) {
    line = "<" + std::to_string(static_cast<int>(priority)) + ">";
  } else {
    line = "shortyd: ";
  }
  for (char ch : message) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      AppendHex(c, &line);
    } else {
      line += ch;
    }
  }
  line += '\n';
  return line;
}

void InitLog(const Environment& env) {
  bool journal = false;
  auto it = env.find("JOURNAL_STREAM");
  struct stat st {};
  if (it != env.end() && ::fstat(STDERR_FILENO, &st) == 0) {
    journal = IsJournalStream(it->second, static_cast<uint64_t>(st.st_dev),
                              static_cast<uint64_t>(st.st_ino));
  }
  journal_log = journal;
}

void Log(Priority priority, std::string_view message) {
  WriteAll(STDERR_FILENO, FormatLogLine(priority, message, journal_log));
}

std::string RedactTarget(std::string_view target) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, question + 1));
  std::string_view query = target.substr(question + 1);
  bool first = true;
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!first) out += '&';
    first = false;
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos &&
        SecretName(DecodedName(param.substr(0, eq)))) {
      out += std::string(param.substr(0, eq)) + "=REDACTED";
    } else {
      out += std::string(param);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string FormatAccessLine(const AccessLogEntry& e) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  const std::time_t time = e.time;
  ::gmtime_r(&time, &tm);
  char when[40];
  std::snprintf(when, sizeof(when), "[%02d/%s/%04d:%02d:%02d:%02d +0000]",
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.3fms",
                static_cast<double>(e.duration.count()) / 1000.0);

  std::string line = Field(e.client, true);
  line += " - ";
  line += Field(e.user, true);
  line += ' ';
  line += when;
  line += " \"";
  line += Field(e.method, true);
  line += ' ';
  line += Field(RedactTarget(e.target), true);
  line += ' ';
  line += Field(e.version, true);
  line += "\" ";
  line += std::to_string(e.status);
  line += ' ';
  line += std::to_string(e.bytes);
  line += " \"";
  line += Field(RedactTarget(e.referer), false);
  line += "\" \"";
  line += Field(e.user_agent, false);
  line += "\" ";
  line += duration;
  line += '\n';
  return line;
}

AccessLog::~AccessLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status AccessLog::Open(const std::string& where) {
  int fd = -1;
  Mode mode = Mode::kOff;
  if (where == "-") {
    mode = Mode::kStderr;
  } else if (!where.empty()) {
    fd = ::open(where.c_str(),
                O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
      return Status::IOError("server.access_log: cannot open " + where + ": " +
                             std::strerror(errno) +
                             "; create its directory or choose another file");
    }
    mode = Mode::kFile;
  }
  int old = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = fd_;
    fd_ = fd;
    mode_ = mode;
  }
  if (old >= 0) ::close(old);
  return Status::Ok();
}

void AccessLog::Write(const AccessLogEntry& entry) {
  if (!enabled()) return;
  std::string line = FormatAccessLine(entry);
  std::lock_guard<std::mutex> lock(mu_);
  if (mode_ == Mode::kStderr) {
    line.pop_back();  // Log() ends the line itself
    Log(Priority::kInfo, line);
  } else if (mode_ == Mode::kFile) {
    WriteAll(fd_, line);
  }
}

}  // namespace shorty
