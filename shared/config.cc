#include "shared/config.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <utility>

// The only file that includes toml++ (STYLE.md: one header per dependency).
#include <toml++/toml.h>

#include "shared/timeparse.h"

namespace shorty {
namespace {

// A Unix socket path must fit sockaddr_un::sun_path (108 bytes on Linux)
// with its terminating NUL; checking here gives a clear message instead of
// a failed bind later.
constexpr size_t kMaxSocketPath = 107;

// ---------------------------------------------------------------------------
// Small text helpers.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlpha(char c) { return IsLower(c) || (c >= 'A' && c <= 'Z'); }
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
char ToUpper(char c) { return IsLower(c) ? c - 'a' + 'A' : c; }

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ToLower);
  return out;
}

std::string Quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsDigit);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view LastPart(std::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

// "; did you mean 'server.listen'?" for a near miss (at most two edits) or a
// key put in the wrong section; "" when nothing is close.
std::string Suggestion(std::string_view name,
                       const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_distance = 3;
  for (const std::string& candidate : candidates) {
    // Case-insensitive, so that LISTEN finds listen.
    const size_t distance = EditDistance(Lower(name), Lower(candidate));
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best == nullptr) {
    for (const std::string& candidate : candidates) {
      if (LastPart(candidate) == LastPart(name)) {
        best = &candidate;
        break;
      }
    }
  }
  return best == nullptr ? "" : "; did you mean " + Quoted(*best) + "?";
}

// "/run/user/1000" + "shorty/shortyd.sock", whether or not the directory
// ends in a slash.
std::string JoinPath(std::string_view dir, std::string_view rest) {
  while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
  return std::string(dir) + "/" + std::string(rest);
}

// The XDG base directory spec says relative paths in XDG_* are invalid and
// must be ignored.
std::string AbsoluteVariable(const Environment& env, const char* name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty() || it->second[0] != '/') return "";
  return it->second;
}

std::string Variable(const Environment& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

// ---------------------------------------------------------------------------
// Addresses and URLs.

bool IsHostName(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '.' || c == '-';
  });
}

bool IsIpv6Literal(std::string_view host) {
  return host.find(':') != std::string_view::npos &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return IsDigit(c) || (ToLower(c) >= 'a' && ToLower(c) <= 'f') ||
                  c == ':' || c == '.';
         });
}

// Splits "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT". On failure the message
// says what is wrong without repeating the text; callers add it.
Status SplitHostPort(std::string_view text, HostPort* out, bool* has_port) {
  std::string_view host;
  std::string_view rest;  // ":PORT" or ""
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("has no closing ']'");
    }
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (!IsIpv6Literal(host)) {
      return Status::InvalidArgument("has an invalid IPv6 address " +
                                     Quoted(host));
    }
    if (!rest.empty() && rest[0] != ':') {
      return Status::InvalidArgument("has " + Quoted(rest) +
                                     " after ']' where ':PORT' belongs");
    }
  } else {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? "" : text.substr(colon);
    if (rest.find(':', 1) != std::string_view::npos) {
      return Status::InvalidArgument(
          "has more than one ':'; put an IPv6 address in brackets, as in "
          "[::1]:8080");
    }
    if (host.empty()) {
      return Status::InvalidArgument(
          "has no host; use 127.0.0.1 for this machine only or 0.0.0.0 for "
          "every interface");
    }
    if (!IsHostName(host)) {
      return Status::InvalidArgument(
          "has an invalid host " + Quoted(host) +
          "; use a name or an IP address (letters, digits, '.' and '-')");
    }
  }
  *has_port = !rest.empty();
  out->host = std::string(host);
  out->port = 0;
  if (*has_port) {
    const std::string_view port = rest.substr(1);
    int number = 0;
    std::from_chars(port.data(), port.data() + port.size(), number);
    if (!AllDigits(port) || port.size() > 5 || number > 65535) {
      return Status::InvalidArgument("has port " + Quoted(port) +
                                     "; a port is a number 0..65535");
    }
    out->port = number;
  }
  return Status::Ok();
}

// "https://go.example.com/" -> "https://go.example.com": scheme and host
// lower-cased, no trailing slash. With `allow_path` a path prefix is kept
// (the CLI may reach the daemon behind a reverse proxy at /shorty);
// without it only "/" may follow the host, since short URLs are BASE/SLUG.
Result<std::string> NormalizeBaseUrl(std::string_view url, bool allow_path) {
  const std::string hint =
      allow_path ? "use http://HOST[:PORT][/PATH] or https://..."
                 : "use http://HOST[:PORT] or https://HOST[:PORT]";
  auto error = [&](const std::string& what) {
    return Status::InvalidArgument(Quoted(url) + " " + what);
  };
  const size_t separator = url.find("://");
  if (separator == std::string_view::npos) {
    return error("is not a URL; " + hint);
  }
  const std::string scheme = Lower(url.substr(0, separator));
  if (scheme != "http" && scheme != "https") {
    return error("has scheme " + Quoted(scheme) + "; " + hint);
  }
  const std::string_view rest = url.substr(separator + 3);
  const size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos
                              ? std::string_view()
                              : rest.substr(authority_end);
  if (authority.empty()) return error("has no host; " + hint);
  if (authority.find('@') != std::string_view::npos) {
    return error("has a user name; " + hint);
  }
  HostPort host_port;
  bool has_port = false;
  Status split = SplitHostPort(authority, &host_port, &has_port);
  if (!split.ok()) return error(split.message());
  if (has_port && host_port.port == 0) {
    return error("has port 0; a URL needs the real port (1..65535)");
  }
  if (tail.find_first_of("?#") != std::string_view::npos) {
    return error("has a query or fragment; " + hint);
  }
  while (!tail.empty() && tail.back() == '/') tail.remove_suffix(1);
  if (!allow_path && !tail.empty()) {
    return error("has a path; " + hint + ", as short URLs are PUBLIC_URL/SLUG");
  }
  if (tail.find_first_of(" \t\r\n") != std::string_view::npos) {
    return error("has white space in its path; " + hint);
  }
  return scheme + "://" + Lower(authority) + std::string(tail);
}

// "250ms", "1s", "1s500ms", "2m": a sum of whole numbers with units, in
// milliseconds. Unlike ParseDuration this knows "ms", as flush intervals
// are often below a second.
Result<int64_t> ParseMilliseconds(std::string_view text) {
  const Status not_understood = Status::InvalidArgument(
      Quoted(text) +
      " is not understood; use a number and a unit such as \"1s\" or "
      "\"250ms\"");
  // Far above any accepted value and far below int64 overflow.
  constexpr int64_t kCap = int64_t{1} << 40;
  if (text.empty()) return not_understood;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    const size_t digits = i;
    while (i < text.size() && IsDigit(text[i])) {
      number = std::min(kCap, number * 10 + (text[i] - '0'));
      ++i;
    }
    const size_t unit_start = i;
    while (i < text.size() && IsLower(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t scale = 0;
    if (unit == "ms") scale = 1;
    if (unit == "s") scale = 1000;
    if (unit == "m") scale = 60 * 1000;
    if (unit == "h") scale = 3600 * 1000;
    if (digits == unit_start || scale == 0) return not_understood;
    total = std::min(kCap, total + number * scale);
  }
  return total;
}

// ---------------------------------------------------------------------------
// Checks of single values, shared by the setters (file, environment, flags)
// and by ValidateDaemonConfig. Messages name neither key nor origin.

Status CheckRange(int64_t value, int64_t low, int64_t high) {
  if (value >= low && value <= high) return Status::Ok();
  return Status::InvalidArgument("must be " + std::to_string(low) + ".." +
                                 std::to_string(high) + ", not " +
                                 std::to_string(value));
}

Status CheckListen(std::string_view listen) {
  return ParseHostPort(listen).status();
}

Status CheckSocketPath(std::string_view path) {
  if (path.size() <= kMaxSocketPath) return Status::Ok();
  return Status::InvalidArgument(
      "is " + std::to_string(path.size()) +
      " bytes long; a Unix socket path can have at most " +
      std::to_string(kMaxSocketPath) + ", so choose a shorter one");
}

Status CheckAccessLog(const std::string& value) {
  if (value.empty() || value == "-") return Status::Ok();
  if (value[0] != '/') {
    return Status::InvalidArgument(
        Quoted(value) +
        " is not an absolute path; use one such as "
        "\"/var/log/shorty/access.log\", \"-\" for shortyd's own log, or "
        "\"\" for none");
  }
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(
          "contains a control character; give a plain file path");
    }
  }
  return Status::Ok();
}

Status CheckSynchronous(std::string_view value) {
  if (value == "normal" || value == "full") return Status::Ok();
  return Status::InvalidArgument("must be \"normal\" or \"full\", not \"" +
                                 std::string(value) + "\"");
}

Status CheckBackend(std::string_view value) {
  if (value == "sqlite" || value == "postgres") return Status::Ok();
  return Status::InvalidArgument("must be \"sqlite\" or \"postgres\", not \"" +
                                 std::string(value) + "\"");
}

// A connection string may hold a password, so no message repeats it.
Status CheckConninfo(std::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(
          "contains a control character; write the connection string on "
          "one line, e.g. \"host=db.example.com dbname=shorty user=shorty\"");
    }
  }
  return Status::Ok();
}

Status CheckPostgresWait(int64_t milliseconds) {
  if (milliseconds >= 0 && milliseconds <= 600000) return Status::Ok();
  return Status::InvalidArgument("must be 0s..10m, not " +
                                 std::to_string(milliseconds) + "ms");
}

Status CheckDefaultStatus(int64_t status) {
  if (status == 301 || status == 302 || status == 307 || status == 308) {
    return Status::Ok();
  }
  return Status::InvalidArgument("must be 301, 302, 307 or 308, not " +
                                 std::to_string(status));
}

Status CheckSchemes(const std::vector<std::string>& schemes) {
  if (schemes.empty()) {
    return Status::InvalidArgument(
        "lists no scheme, so no link could be created; use at least one, "
        "e.g. [\"http\", \"https\"]");
  }
  // These run code in the visitor's browser or read their files: a short
  // link must never be able to point at them.
  static constexpr const char* kUnsafe[] = {"javascript", "data", "vbscript",
                                            "file"};
  for (const std::string& scheme : schemes) {
    const bool well_formed =
        !scheme.empty() && IsLower(scheme[0]) &&
        std::all_of(scheme.begin(), scheme.end(), [](char c) {
          return IsLower(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
        });
    if (!well_formed) {
      return Status::InvalidArgument(
          Quoted(scheme) +
          " is not a scheme; write it in lower case, starting with a letter "
          "(letters, digits, '+', '-', '.'), e.g. \"https\"");
    }
    for (const char* unsafe : kUnsafe) {
      if (scheme == unsafe) {
        return Status::InvalidArgument(
            Quoted(scheme) +
            " is unsafe (it can run code or read local files); remove it");
      }
    }
  }
  return Status::Ok();
}

Status CheckFlushInterval(int64_t milliseconds) {
  if (milliseconds >= 10 && milliseconds <= 60000) return Status::Ok();
  return Status::InvalidArgument("must be 10ms..60s, not " +
                                 std::to_string(milliseconds) + "ms");
}

Status CheckRetention(int64_t seconds) {
  if (seconds >= 86400 && seconds <= 3650 * 86400) return Status::Ok();
  return Status::InvalidArgument("must be 1d..3650d, not " +
                                 std::to_string(seconds) + "s");
}

Status CheckToken(std::string_view token) {
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Status::InvalidArgument(
          "contains white space or control characters; paste the token "
          "exactly as 'shorty token create' printed it");
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The settings table.

// How a setting is written; decides how a TOML node or a text (environment,
// flag) is read before the setting's own check runs.
enum class Kind { kString, kInteger, kBoolean, kStringList };

// A value read according to its setting's Kind; only that member is set.
struct Value {
  std::string text;
  int64_t number = 0;
  bool flag = false;
  std::vector<std::string> list;
};

template <typename Config>
struct Setting {
  const char* key;  // "section.key", or "key" at the top level
  Kind kind;
  const char* example;  // a valid TOML value, for type errors
  const char* description;
  // Checks the value and stores it on success; leaves *config alone on
  // failure, with a message that names neither key nor origin.
  Status (*set)(const Value& value, Config* config);
};

// Most of the Setting::set functions: check, then store.
template <typename T, typename Check>
Status CheckAndStore(const T& value, Check check, T* field) {
  Status status = check(value);
  if (status.ok()) *field = value;
  return status;
}

const Setting<DaemonConfig> kDaemonSettings[] = {
    {"server.listen", Kind::kString, "\"127.0.0.1:8080\"",
     "HOST:PORT the HTTP server listens on; port 0 picks a free port",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckListen, &c->listen);
     }},
    {"server.socket", Kind::kString, "\"/run/shorty/shortyd.sock\"",
     "path of the control socket the CLI talks to; \"\" for the default",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckSocketPath, &c->socket);
     }},
    {"server.public_url", Kind::kString, "\"https://go.example.com\"",
     "base of the short URLs shown to people; \"\" for http://LISTEN",
     [](const Value& v, DaemonConfig* c) {
       if (v.text.empty()) {
         c->public_url.clear();
         return Status::Ok();
       }
       Result<std::string> url = NormalizeBaseUrl(v.text, false);
       if (url.ok()) c->public_url = *url;
       return url.status();
     }},
    {"server.threads", Kind::kInteger, "64", "HTTP worker threads, 1..1024",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 1, 1024);
       if (status.ok()) c->threads = static_cast<int>(v.number);
       return status;
     }},
    {"server.access_log", Kind::kString, "\"/var/log/shorty/access.log\"",
     "one line per HTTP request: \"\" = off, \"-\" = shortyd's log, or a file",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckAccessLog, &c->access_log);
     }},
    {"server.metrics_public", Kind::kBoolean, "false",
     "serve /-/metrics over HTTP without a token",
     [](const Value& v, DaemonConfig* c) {
       c->metrics_public = v.flag;
       return Status::Ok();
     }},
    {"storage.backend", Kind::kString, "\"sqlite\"",
     "where links are kept: \"sqlite\" (one file) or \"postgres\" (shared by "
     "several nodes)",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckBackend, &c->backend);
     }},
    {"storage.path", Kind::kString, "\"/var/lib/shorty/shorty.db\"",
     "SQLite database file; \"\" for the default",
     [](const Value& v, DaemonConfig* c) {
       c->path = v.text;
       return Status::Ok();
     }},
    {"storage.synchronous", Kind::kString, "\"normal\"",
     "\"full\" also survives power loss; \"normal\" survives a crash",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckSynchronous, &c->synchronous);
     }},
    {"storage.postgres", Kind::kString,
     "\"host=db.example.com dbname=shorty user=shorty\"",
     "libpq connection string of the PostgreSQL primary (backend "
     "\"postgres\")",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckConninfo, &c->postgres);
     }},
    {"storage.postgres_read", Kind::kString,
     "\"host=replica.example.com dbname=shorty user=shorty\"",
     "libpq connection string for reads, e.g. a streaming replica; \"\" = "
     "the primary",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.text, CheckConninfo, &c->postgres_read);
     }},
    {"storage.postgres_connections", Kind::kInteger, "8",
     "PostgreSQL connections in each pool, 1..64",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 1, 64);
       if (status.ok()) c->postgres_connections = static_cast<int>(v.number);
       return status;
     }},
    {"storage.postgres_wait", Kind::kString, "\"60s\"",
     "how long shortyd waits at start for PostgreSQL to answer, 0s..10m",
     [](const Value& v, DaemonConfig* c) {
       Result<int64_t> ms = ParseMilliseconds(v.text);
       if (!ms.ok()) return ms.status();
       return CheckAndStore(*ms, CheckPostgresWait, &c->postgres_wait_ms);
     }},
    {"links.default_status", Kind::kInteger, "302",
     "redirect status of new links: 301, 302, 307 or 308",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckDefaultStatus(v.number);
       if (status.ok()) c->default_status = static_cast<int>(v.number);
       return status;
     }},
    {"links.slug_length", Kind::kInteger, "6",
     "length of generated slugs, 4..32",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 4, 32);
       if (status.ok()) c->slug_length = static_cast<int>(v.number);
       return status;
     }},
    {"links.case_sensitive", Kind::kBoolean, "false",
     "whether /Abc and /abc are different links",
     [](const Value& v, DaemonConfig* c) {
       c->case_sensitive = v.flag;
       return Status::Ok();
     }},
    {"links.schemes", Kind::kStringList, "[\"http\", \"https\"]",
     "URL schemes a link may point at",
     [](const Value& v, DaemonConfig* c) {
       return CheckAndStore(v.list, CheckSchemes, &c->schemes);
     }},
    {"links.blocklist_file", Kind::kString, "\"/etc/shorty/blocklist.txt\"",
     "file of hosts and domains no link may point at; \"\" = none",
     [](const Value& v, DaemonConfig* c) {
       c->blocklist_file = v.text;
       return Status::Ok();
     }},
    {"visits.flush_interval", Kind::kString, "\"1s\" or \"250ms\"",
     "how often visit counts are written, 10ms..60s",
     [](const Value& v, DaemonConfig* c) {
       Result<int64_t> ms = ParseMilliseconds(v.text);
       if (!ms.ok()) return ms.status();
       return CheckAndStore(*ms, CheckFlushInterval, &c->flush_interval_ms);
     }},
    {"visits.retention", Kind::kString, "\"90d\"",
     "how long visits are kept by the hour before they are kept by the day, "
     "1d..3650d",
     [](const Value& v, DaemonConfig* c) {
       Result<int64_t> seconds = ParseDuration(v.text);
       if (!seconds.ok()) return seconds.status();
       return CheckAndStore(*seconds, CheckRetention, &c->visit_retention_s);
     }},
    {"cache.entries", Kind::kInteger, "10000",
     "links the redirect cache holds, 0..10000000; 0 = no cache",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 0, 10000000);
       if (status.ok()) c->cache_entries = v.number;
       return status;
     }},
    {"limits.create_per_minute", Kind::kInteger, "60",
     "links created a minute per client; 0 = no limit",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 0, 1000000);
       if (status.ok()) c->create_per_minute = static_cast<int>(v.number);
       return status;
     }},
    {"limits.signin_per_minute", Kind::kInteger, "60",
     "sign-in attempts a minute per client; 0 = no limit",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 0, 1000000);
       if (status.ok()) c->signin_per_minute = static_cast<int>(v.number);
       return status;
     }},
    {"limits.password_per_minute", Kind::kInteger, "60",
     "password attempts on protected links a minute per client; 0 = no limit",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 0, 1000000);
       if (status.ok()) c->password_per_minute = static_cast<int>(v.number);
       return status;
     }},
    {"limits.not_found_per_minute", Kind::kInteger, "60",
     "visits to unknown slugs a minute per client; 0 = no limit",
     [](const Value& v, DaemonConfig* c) {
       Status status = CheckRange(v.number, 0, 1000000);
       if (status.ok()) c->not_found_per_minute = static_cast<int>(v.number);
       return status;
     }},
    {"web.trusted_header", Kind::kString, "\"X-Forwarded-User\"",
     "header naming the user, set by an authenticating proxy; \"\" = off",
     [](const Value& v, DaemonConfig* c) {
       for (char ch : v.text) {
         bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-';
         if (!ok) {
           return Status::InvalidArgument(
               "a header name is letters, digits and '-'");
         }
       }
       c->trusted_header = v.text;
       return Status::Ok();
     }},
    {"web.trusted_proxies", Kind::kStringList, "[\"127.0.0.1\"]",
     "addresses of the proxies whose trusted_header is believed",
     [](const Value& v, DaemonConfig* c) {
       for (const std::string& address : v.list) {
         bool ok = !address.empty() && address.size() <= 45;
         for (char ch : address) {
           ok = ok && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                       (ch >= 'A' && ch <= 'F') || ch == '.' || ch == ':');
         }
         if (!ok) {
           return Status::InvalidArgument(
               "'" + address +
               "' is not an IP address; list addresses such as \"127.0.0.1\"");
         }
       }
       c->trusted_proxies = v.list;
       return Status::Ok();
     }},
    {"web.trusted_scope", Kind::kString, "\"write\"",
     "what a user signed in by the proxy may do: read, write or admin",
     [](const Value& v, DaemonConfig* c) {
       if (v.text != "read" && v.text != "write" && v.text != "admin") {
         return Status::InvalidArgument("must be read, write or admin");
       }
       c->trusted_scope = v.text;
       return Status::Ok();
     }},
};

const Setting<ClientConfig> kClientSettings[] = {
    {"server", Kind::kString, "\"https://go.example.com\"",
     "URL of the daemon; \"\" to use the control socket",
     [](const Value& v, ClientConfig* c) {
       if (v.text.empty()) {
         c->server.clear();
         return Status::Ok();
       }
       Result<std::string> url = NormalizeBaseUrl(v.text, true);
       if (url.ok()) c->server = *url;
       return url.status();
     }},
    {"token", Kind::kString, "\"...\"", "API token for the server",
     [](const Value& v, ClientConfig* c) {
       return CheckAndStore(v.text, CheckToken, &c->token);
     }},
    {"socket", Kind::kString, "\"/run/shorty/shortyd.sock\"",
     "path of the daemon's control socket; \"\" for the default",
     [](const Value& v, ClientConfig* c) {
       return CheckAndStore(v.text, CheckSocketPath, &c->socket);
     }},
};

template <typename Config, size_t N>
const Setting<Config>* FindSetting(const Setting<Config> (&settings)[N],
                                   std::string_view key) {
  for (const Setting<Config>& setting : settings) {
    if (key == setting.key) return &setting;
  }
  return nullptr;
}

template <typename Config, size_t N>
std::vector<std::string> SettingKeys(const Setting<Config> (&settings)[N]) {
  std::vector<std::string> keys;
  for (const Setting<Config>& setting : settings) keys.push_back(setting.key);
  return keys;
}

// The sections ("server", "links", ...) in table order.
template <typename Config, size_t N>
std::vector<std::string> Sections(const Setting<Config> (&settings)[N]) {
  std::vector<std::string> sections;
  for (const Setting<Config>& setting : settings) {
    const std::string_view key = setting.key;
    const size_t dot = key.find('.');
    if (dot == std::string_view::npos) continue;
    std::string section(key.substr(0, dot));
    if (std::find(sections.begin(), sections.end(), section) ==
        sections.end()) {
      sections.push_back(std::move(section));
    }
  }
  return sections;
}

// "server.listen" -> "SHORTY_SERVER_LISTEN".
std::string EnvironmentName(std::string_view key) {
  std::string name = "SHORTY_";
  for (char c : key) name += c == '.' ? '_' : ToUpper(c);
  return name;
}

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "a string";
    case Kind::kInteger:
      return "a whole number";
    case Kind::kBoolean:
      return "true or false";
    case Kind::kStringList:
      return "an array of strings";
  }
  return "";
}

// Reads a value as an environment variable or a flag gives it.
Status ReadText(std::string_view text, Kind kind, Value* value) {
  switch (kind) {
    case Kind::kString:
      value->text = std::string(text);
      return Status::Ok();
    case Kind::kInteger: {
      const char* end = text.data() + text.size();
      auto [ptr, error] = std::from_chars(text.data(), end, value->number);
      if (text.empty() || error != std::errc() || ptr != end) {
        return Status::InvalidArgument("expected a whole number, not " +
                                       Quoted(text));
      }
      return Status::Ok();
    }
    case Kind::kBoolean: {
      // Environment variables are often set with 1/0 or yes/no.
      const std::string word = Lower(text);
      if (word == "true" || word == "1" || word == "yes" || word == "on") {
        value->flag = true;
      } else if (word == "false" || word == "0" || word == "no" ||
                 word == "off") {
        value->flag = false;
      } else {
        return Status::InvalidArgument("expected true or false, not " +
                                       Quoted(text));
      }
      return Status::Ok();
    }
    case Kind::kStringList: {
      // "http, https": comma-separated, blanks around items ignored. An
      // empty text is an empty list, which the setting may refuse.
      value->list.clear();
      if (Trim(text).empty()) return Status::Ok();
      size_t start = 0;
      while (true) {
        const size_t comma = text.find(',', start);
        value->list.emplace_back(Trim(text.substr(start, comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      return Status::Ok();
    }
  }
  return Status::Internal("unknown kind of setting");
}

// Reads a value from the TOML file; the error names the expected type and
// shows an example line.
template <typename Config>
Status ReadNode(const toml::node& node, const Setting<Config>& setting,
                Value* value) {
  bool ok = false;
  switch (setting.kind) {
    case Kind::kString:
      if (const auto* s = node.as_string()) {
        value->text = s->get();
        ok = true;
      }
      break;
    case Kind::kInteger:
      if (const auto* i = node.as_integer()) {
        value->number = i->get();
        ok = true;
      }
      break;
    case Kind::kBoolean:
      if (const auto* b = node.as_boolean()) {
        value->flag = b->get();
        ok = true;
      }
      break;
    case Kind::kStringList:
      if (const auto* array = node.as_array()) {
        ok = true;
        value->list.clear();
        for (const toml::node& element : *array) {
          const auto* s = element.as_string();
          if (s == nullptr) {
            ok = false;
            break;
          }
          value->list.push_back(s->get());
        }
      }
      break;
  }
  if (ok) return Status::Ok();
  return Status::InvalidArgument(
      "expected " + KindName(setting.kind) + ", e.g. " +
      std::string(LastPart(setting.key)) + " = " + setting.example);
}

// "FILE:LINE: " or "FILE: " when toml++ knows no line.
std::string Location(std::string_view source, uint32_t line) {
  std::string out(source);
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": ";
}

// toml++ says "Error while parsing key-value pair: expected value"; after
// "FILE:LINE: " that reads better as "invalid TOML in key-value pair: ...".
std::string SyntaxError(std::string_view description) {
  constexpr std::string_view kPrefix = "Error while parsing ";
  if (description.substr(0, kPrefix.size()) == kPrefix) {
    return "invalid TOML in " + std::string(description.substr(kPrefix.size()));
  }
  return "invalid TOML: " + std::string(description);
}

// A key of the document with where it was written.
struct Entry {
  uint32_t line;
  std::string key;  // dotted: "server.listen"
  const toml::node* node;
};

// Flattens the document into settings and leftovers (unknown keys, or
// known sections written as something other than a table). Known sections
// are descended into; anything else is one entry.
template <typename Config, size_t N>
void CollectEntries(const toml::table& table, const std::string& prefix,
                    const Setting<Config> (&settings)[N],
                    const std::vector<std::string>& sections,
                    std::vector<Entry>* entries) {
  for (auto&& [key, node] : table) {
    const std::string path = prefix + std::string(key.str());
    const bool is_section =
        std::find(sections.begin(), sections.end(), path) != sections.end();
    if (is_section && node.is_table() &&
        FindSetting(settings, path) == nullptr) {
      CollectEntries(*node.as_table(), path + ".", settings, sections, entries);
      continue;
    }
    uint32_t line = key.source().begin.line;
    if (line == 0) line = node.source().begin.line;
    entries->push_back({line, path, &node});
  }
}

// Parses TOML `text` and applies each setting it names to a copy of
// *config, so that *config changes only when the whole file is good.
template <typename Config, size_t N>
Status ParseConfigFile(std::string_view text, std::string_view source,
                       const Setting<Config> (&settings)[N], Config* config) {
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(text, std::string_view());
  } catch (const toml::parse_error& error) {
    return Status::InvalidArgument(Location(source, error.source().begin.line) +
                                   SyntaxError(error.description()));
  } catch (const std::exception& error) {
    return Status::Internal(Location(source, 0) + error.what());
  }
#else
  toml::parse_result result = toml::parse(text, std::string_view());
  if (!result) {
    return Status::InvalidArgument(
        Location(source, result.error().source().begin.line) +
        SyntaxError(result.error().description()));
  }
  root = std::move(result).table();
#endif

  const std::vector<std::string> sections = Sections(settings);
  std::vector<Entry> entries;
  CollectEntries(root, "", settings, sections, &entries);
  // toml++ orders keys by name; report problems in file order instead, so
  // the first message is about the first bad line.
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const Entry& a, const Entry& b) { return a.line < b.line; });

  Config copy = *config;
  for (const Entry& entry : entries) {
    const std::string where = Location(source, entry.line);
    const Setting<Config>* setting = FindSetting(settings, entry.key);
    if (setting == nullptr) {
      if (std::find(sections.begin(), sections.end(), entry.key) !=
          sections.end()) {
        return Status::InvalidArgument(
            where + entry.key + ": expected a table; write [" + entry.key +
            "] and put its keys on the lines below it");
      }
      if (entry.node->is_table() && !sections.empty()) {
        std::vector<std::string> bracketed;
        for (const std::string& section : sections) {
          bracketed.push_back("[" + section + "]");
        }
        const std::string name = "[" + entry.key + "]";
        return Status::InvalidArgument(where + "unknown section " +
                                       Quoted(name) +
                                       Suggestion(name, bracketed));
      }
      return Status::InvalidArgument(
          where + "unknown key " + Quoted(entry.key) +
          Suggestion(entry.key, SettingKeys(settings)));
    }
    Value value;
    Status status = ReadNode(*entry.node, *setting, &value);
    if (status.ok()) status = setting->set(value, &copy);
    if (!status.ok()) {
      return Status::InvalidArgument(where + entry.key + ": " +
                                     status.message());
    }
  }
  *config = std::move(copy);
  return Status::Ok();
}

// Prefixes a setting's message with where the value came from.
std::string Origin(std::string_view origin, std::string_view key) {
  if (origin.empty() || origin == key) return std::string(key) + ": ";
  return std::string(origin) + ": " + std::string(key) + ": ";
}

}  // namespace

std::vector<DaemonSettingInfo> DaemonSettings() {
  std::vector<DaemonSettingInfo> out;
  for (const Setting<DaemonConfig>& setting : kDaemonSettings) {
    out.push_back(
        {setting.key, EnvironmentName(setting.key), setting.description});
  }
  return out;
}

Status ParseDaemonConfig(std::string_view text, std::string_view source,
                         DaemonConfig* config) {
  return ParseConfigFile(text, source, kDaemonSettings, config);
}

Status SetDaemonSetting(std::string_view key, std::string_view value,
                        std::string_view origin, DaemonConfig* config) {
  const Setting<DaemonConfig>* setting = FindSetting(kDaemonSettings, key);
  if (setting == nullptr) {
    const std::string prefix =
        origin.empty() || origin == key ? "" : std::string(origin) + ": ";
    return Status::InvalidArgument(
        prefix + "unknown setting " + Quoted(key) +
        Suggestion(key, SettingKeys(kDaemonSettings)));
  }
  Value parsed;
  Status status = ReadText(value, setting->kind, &parsed);
  if (status.ok()) status = setting->set(parsed, config);
  if (!status.ok()) {
    return Status::InvalidArgument(Origin(origin, key) + status.message());
  }
  return Status::Ok();
}

Status ApplyDaemonEnvironment(const Environment& env, DaemonConfig* config) {
  DaemonConfig copy = *config;
  for (const Setting<DaemonConfig>& setting : kDaemonSettings) {
    const std::string name = EnvironmentName(setting.key);
    auto it = env.find(name);
    if (it == env.end()) continue;
    Status status = SetDaemonSetting(setting.key, it->second, name, &copy);
    if (!status.ok()) return status;
  }
  *config = std::move(copy);
  return Status::Ok();
}

Status ValidateDaemonConfig(const DaemonConfig& config) {
  auto check = [](const char* key, const Status& status) {
    return status.ok() ? status
                       : Status::InvalidArgument(std::string(key) + ": " +
                                                 status.message());
  };
  const std::pair<const char*, Status> checks[] = {
      {"server.listen", CheckListen(config.listen)},
      {"server.socket", CheckSocketPath(config.socket)},
      {"server.public_url",
       config.public_url.empty()
           ? Status::Ok()
           : NormalizeBaseUrl(config.public_url, false).status()},
      {"server.threads", CheckRange(config.threads, 1, 1024)},
      {"server.access_log", CheckAccessLog(config.access_log)},
      {"storage.backend", CheckBackend(config.backend)},
      {"storage.synchronous", CheckSynchronous(config.synchronous)},
      {"storage.postgres", CheckConninfo(config.postgres)},
      {"storage.postgres_read", CheckConninfo(config.postgres_read)},
      {"storage.postgres_connections",
       CheckRange(config.postgres_connections, 1, 64)},
      {"storage.postgres_wait", CheckPostgresWait(config.postgres_wait_ms)},
      {"links.default_status", CheckDefaultStatus(config.default_status)},
      {"links.slug_length", CheckRange(config.slug_length, 4, 32)},
      {"links.schemes", CheckSchemes(config.schemes)},
      {"visits.flush_interval", CheckFlushInterval(config.flush_interval_ms)},
      {"visits.retention", CheckRetention(config.visit_retention_s)},
      {"cache.entries", CheckRange(config.cache_entries, 0, 10000000)},
  };
  for (const auto& [key, status] : checks) {
    if (!status.ok()) return check(key, status);
  }
  if (config.backend == "postgres" && config.postgres.empty()) {
    return Status::InvalidArgument(
        "storage.postgres: must be set when storage.backend is \"postgres\": "
        "give the primary's libpq connection string, e.g. postgres = "
        "\"host=db.example.com dbname=shorty user=shorty\" (keep the "
        "password in ~/.pgpass or PGPASSFILE), or SHORTY_STORAGE_POSTGRES");
  }
  if (config.backend != "postgres") {
    const char* unused = !config.postgres.empty() ? "storage.postgres"
                         : !config.postgres_read.empty()
                             ? "storage.postgres_read"
                             : nullptr;
    if (unused != nullptr) {
      return Status::InvalidArgument(
          std::string(unused) + ": is set, but storage.backend is \"" +
          config.backend +
          "\", so it would not be used; set backend = \"postgres\" to keep "
          "links in PostgreSQL, or remove it");
    }
  }
  // The default public URL is http://LISTEN; with a wildcard address that
  // would hand out links no browser can follow.
  Result<HostPort> listen = ParseHostPort(config.listen);
  if (config.public_url.empty() &&
      (listen->host == "0.0.0.0" || listen->host == "::")) {
    return Status::InvalidArgument(
        "server.public_url: must be set when server.listen is " +
        config.listen +
        " (every interface), so short URLs name a reachable host, e.g. "
        "public_url = \"https://go.example.com\"");
  }
  return Status::Ok();
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const std::string hint = "use HOST:PORT such as 127.0.0.1:8080 or [::1]:8080";
  if (text.empty()) {
    return Status::InvalidArgument("address is empty; " + hint);
  }
  HostPort host_port;
  bool has_port = false;
  Status status = SplitHostPort(text, &host_port, &has_port);
  if (!status.ok()) {
    return Status::InvalidArgument(Quoted(text) + " " + status.message());
  }
  if (!has_port) {
    return Status::InvalidArgument(Quoted(text) + " has no port; " + hint);
  }
  return host_port;
}

std::string DefaultSocketPath(const Environment& env, unsigned uid) {
  // Root gets /run/shorty even when XDG_RUNTIME_DIR is set (sudo, su -), so
  // that a daemon started by systemd and a root shell find the same socket.
  if (uid == 0) return "/run/shorty/shortyd.sock";
  const std::string runtime = AbsoluteVariable(env, "XDG_RUNTIME_DIR");
  if (!runtime.empty()) return JoinPath(runtime, "shorty/shortyd.sock");
  return "/tmp/shorty-" + std::to_string(uid) + "/shortyd.sock";
}

std::string ClientSocketPath(
    const Environment& env, unsigned uid,
    const std::function<bool(const std::string&)>& exists) {
  const std::string own = DefaultSocketPath(env, uid);
  if (own != kSystemSocketPath && !exists(own) && exists(kSystemSocketPath)) {
    return kSystemSocketPath;
  }
  return own;
}

std::string DefaultDatabasePath(const Environment& env, unsigned uid) {
  // systemd's StateDirectory= (e.g. /var/lib/shorty for User=shorty).
  const std::string state = AbsoluteVariable(env, "STATE_DIRECTORY");
  if (!state.empty()) {
    return JoinPath(std::string_view(state).substr(0, state.find(':')),
                    "shorty.db");
  }
  if (uid == 0) return "/var/lib/shorty/shorty.db";
  const std::string data = AbsoluteVariable(env, "XDG_DATA_HOME");
  if (!data.empty()) return JoinPath(data, "shorty/shorty.db");
  const std::string home = Variable(env, "HOME");
  if (!home.empty()) return JoinPath(home, ".local/share/shorty/shorty.db");
  // No fallback in /tmp: links would vanish at the next reboot.
  return "";
}

Status ParseClientConfig(std::string_view text, std::string_view source,
                         ClientConfig* config) {
  return ParseConfigFile(text, source, kClientSettings, config);
}

std::string DefaultClientConfigPath(const Environment& env) {
  const std::string config = AbsoluteVariable(env, "XDG_CONFIG_HOME");
  if (!config.empty()) return JoinPath(config, "shorty/config.toml");
  const std::string home = Variable(env, "HOME");
  if (!home.empty()) return JoinPath(home, ".config/shorty/config.toml");
  return "";
}

namespace {

constexpr char kRedacted[] = "REDACTED";

bool IsConninfoSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsConninfoUri(std::string_view text) {
  return text.substr(0, 13) == "postgresql://" ||
         text.substr(0, 11) == "postgres://";
}

// "pass%77ord" -> "password": libpq decodes URI parameter names too.
std::string PercentDecoded(std::string_view text) {
  auto hex = [](char c) -> int {
    if (IsDigit(c)) return c - '0';
    c = ToLower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
        hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// postgresql://user:secret@host/db?password=secret&sslmode=require
std::string UriForLog(std::string_view uri) {
  const size_t start = uri.find("://") + 3;
  size_t authority_end = uri.find_first_of("/?", start);
  if (authority_end == std::string_view::npos) authority_end = uri.size();
  std::string out(uri.substr(0, start));
  const std::string_view authority = uri.substr(start, authority_end - start);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view user_info = authority.substr(0, at);
    const size_t colon = user_info.find(':');
    if (colon != std::string_view::npos) {
      out += std::string(user_info.substr(0, colon + 1)) + kRedacted;
    } else {
      out += std::string(user_info);
    }
    out += authority.substr(at);
  } else {
    out += authority;
  }
  const size_t query = uri.find('?', authority_end);
  out += uri.substr(authority_end, query == std::string_view::npos
                                       ? std::string_view::npos
                                       : query - authority_end);
  if (query == std::string_view::npos) return out;
  out += '?';
  std::string_view params = uri.substr(query + 1);
  bool first = true;
  while (true) {
    const size_t amp = params.find('&');
    const std::string_view param = params.substr(0, amp);
    const size_t eq = param.find('=');
    const std::string name = PercentDecoded(param.substr(0, eq));
    if (!first) out += '&';
    first = false;
    if (eq != std::string_view::npos &&
        (name == "password" ||
         (name == "dbname" && PercentDecoded(param.substr(eq + 1)).find('=') !=
                                  std::string::npos))) {
      out += std::string(param.substr(0, eq + 1)) + kRedacted;
    } else {
      out += param;
    }
    if (amp == std::string_view::npos) break;
    params.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

std::string ConninfoForLog(std::string_view conninfo) {
  constexpr char kHidden[] = "(connection string not shown)";
  if (IsConninfoUri(conninfo)) return UriForLog(conninfo);
  // keyword = value pairs, as libpq reads them: a value is quoted with '
  // or runs to the next blank, and a backslash escapes the next character
  // in either form.
  std::string out;
  size_t i = 0;
  const size_t n = conninfo.size();
  while (i < n) {
    const size_t blank_start = i;
    while (i < n && IsConninfoSpace(conninfo[i])) ++i;
    out += conninfo.substr(blank_start, i - blank_start);
    if (i == n) break;
    const size_t keyword_start = i;
    while (i < n && conninfo[i] != '=' && !IsConninfoSpace(conninfo[i])) ++i;
    const std::string_view keyword =
        conninfo.substr(keyword_start, i - keyword_start);
    while (i < n && IsConninfoSpace(conninfo[i])) ++i;
    if (i == n || conninfo[i] != '=' || keyword.empty()) return kHidden;
    ++i;
    while (i < n && IsConninfoSpace(conninfo[i])) ++i;
    const size_t value_start = i;
    std::string value;
    if (i < n && conninfo[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (conninfo[i] == '\\' && i + 1 < n) {
          value += conninfo[i + 1];
          i += 2;
        } else if (conninfo[i] == '\'') {
          closed = true;
          ++i;
          break;
        } else {
          value += conninfo[i++];
        }
      }
      if (!closed) return kHidden;
    } else {
      while (i < n && !IsConninfoSpace(conninfo[i])) {
        if (conninfo[i] == '\\' && i + 1 < n) {
          value += conninfo[i + 1];
          i += 2;
        } else {
          value += conninfo[i++];
        }
      }
    }
    out += conninfo.substr(keyword_start, value_start - keyword_start);
    // dbname may itself be a whole connection string, password and all.
    const bool secret =
        keyword == "password" ||
        (keyword == "dbname" &&
         (value.find('=') != std::string::npos || IsConninfoUri(value)));
    out += secret ? std::string_view(kRedacted)
                  : conninfo.substr(value_start, i - value_start);
  }
  return out;
}

Environment EnvironmentFrom(const char* const* envp) {
  Environment env;
  for (; envp && *envp; ++envp) {
    std::string_view kv = *envp;
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) {
      env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
  }
  return env;
}

}  // namespace shorty
