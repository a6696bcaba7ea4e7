// Configuration of shortyd and of the shorty CLI: the settings, their
// defaults, and parsing them from TOML text, SHORTY_* environment variables
// and flags. Pure: file contents and the environment come in as values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace shorty {

using Environment = std::map<std::string, std::string>;

// The variables of a NAME=VALUE array such as environ; entries without '='
// are skipped.
Environment EnvironmentFrom(const char* const* envp);

// Every daemon setting. Each is addressed as "section.key", the same name in
// the TOML file ([section] key = ...), in the environment
// (SHORTY_SECTION_KEY) and in error messages.
struct DaemonConfig {
  // [server]
  std::string listen = "127.0.0.1:8080";  // HOST:PORT of the HTTP listener
  std::string socket;      // control socket path; "" = DefaultSocketPath()
  std::string public_url;  // base of short URLs; "" = "http://" + listen
  int threads = 64;        // HTTP worker threads
  // One line per HTTP request: "" = off, "-" = shortyd's log (stderr),
  // else an absolute file path, appended to and reopened on SIGHUP.
  std::string access_log;
  // Whether /-/metrics on the HTTP listener is served without a token.
  bool metrics_public = false;
  // [storage]
  // Where links are kept: "sqlite" (one file, one shortyd) or "postgres"
  // (several shortyd nodes over one PostgreSQL).
  std::string backend = "sqlite";
  std::string path;                    // database file; "" = default path
  std::string synchronous = "normal";  // "normal" or "full"
  // libpq connection strings ("host=db dbname=shorty user=shorty" or
  // "postgresql://..."): the primary, required when backend is "postgres",
  // and an optional server for reads that may lag a little (a streaming
  // replica). May hold a password: never logged, never in error messages
  // (ConninfoForLog).
  std::string postgres;
  std::string postgres_read;
  int postgres_connections = 8;  // in each pool, 1..64
  // How long shortyd waits at start for PostgreSQL to answer before it gives
  // up, 0..10 minutes; TOML/env: "60s", "0s".
  int64_t postgres_wait_ms = 60000;
  // [links]
  int default_status = 302;  // 301, 302, 307 or 308
  int slug_length = 6;       // 4..32
  bool case_sensitive = false;
  std::vector<std::string> schemes = {"http", "https"};
  // Hosts and domains no link may point at, one a line; "" = none.
  // Re-read on SIGHUP.
  std::string blocklist_file;
  // [visits]
  int64_t flush_interval_ms = 1000;  // 10..60000; TOML/env: "1s", "250ms"
  // Hourly visit buckets older than this are rolled up into days; 1d..10y.
  int64_t visit_retention_s = 90 * 86400;  // TOML/env: "90d"
  // [cache] links kept in memory for redirects; 0 = none. A link costs
  // about 200 bytes plus its target.
  int64_t cache_entries = 10000;
  // [limits] per client address (and per token for the API), a minute;
  // 0 = no limit. Over the limit: 429 with Retry-After.
  int create_per_minute = 60;
  int signin_per_minute = 10;
  int password_per_minute = 10;
  int not_found_per_minute = 120;
  // [web]
  // A header an authenticating proxy (oauth2-proxy, Authelia, Tailscale
  // serve) sets to the signed-in user; "" = off. Honoured only on requests
  // from web.trusted_proxies.
  std::string trusted_header;
  std::vector<std::string> trusted_proxies;  // IP addresses, exact
  std::string trusted_scope = "write";       // read, write or admin
};

// One daemon setting, as --help, flag wiring and documentation need it.
struct DaemonSettingInfo {
  std::string key;          // "server.listen"
  std::string env;          // "SHORTY_SERVER_LISTEN"
  std::string description;  // one line
};

// Every daemon setting, in file order ([server], [storage], [links],
// [visits]). Thread-safe.
std::vector<DaemonSettingInfo> DaemonSettings();

// Applies the TOML document `text` on top of *config. `source` (the file
// name) starts every error message: "FILE:LINE: KEY: what is wrong". Unknown
// sections or keys (with a "did you mean" for near misses), wrong types,
// out-of-range values and TOML syntax errors are InvalidArgument; on error
// *config is unchanged. The first problem in file order is reported.
// public_url is stored without its trailing slash. Thread-safe (no state).
Status ParseDaemonConfig(std::string_view text, std::string_view source,
                         DaemonConfig* config);

// Sets one setting ("server.listen") from text, as given by an environment
// variable or a flag; `origin` names it in errors ("SHORTY_SERVER_LISTEN:
// server.listen: ...", "--listen: server.listen: ..."). Integers are decimal,
// booleans true/false/1/0/yes/no/on/off, links.schemes is comma-separated
// ("http,https"), visits.flush_interval needs a unit ("1s", "250ms").
// Unknown key or bad value: InvalidArgument and *config unchanged.
Status SetDaemonSetting(std::string_view key, std::string_view value,
                        std::string_view origin, DaemonConfig* config);

// Applies every SHORTY_SECTION_KEY variable that names a daemon setting, as
// SetDaemonSetting does. Other SHORTY_* variables (the CLI's SHORTY_SERVER,
// SHORTY_TOKEN, ...) are left alone. On error *config is unchanged.
Status ApplyDaemonEnvironment(const Environment& env, DaemonConfig* config);

// Checks a config built by any means: every value's own rule ("KEY: what is
// wrong"), and what single settings cannot: server.public_url must be set
// when server.listen is a wildcard address (0.0.0.0, ::), as the default
// http://LISTEN would hand out unreachable short URLs; storage.postgres must
// be set when storage.backend is "postgres", and storage.postgres and
// storage.postgres_read must not be set when it is not (they would be
// silently unused).
Status ValidateDaemonConfig(const DaemonConfig& config);

// A libpq connection string fit for logs and messages: the value of every
// password keyword, and the password of a postgresql:// URI, replaced by
// REDACTED; the rest as written. A string too malformed to tell where a
// password might be gives "(connection string not shown)". Pure.
std::string ConninfoForLog(std::string_view conninfo);

struct HostPort {
  std::string host;
  int port = 0;  // 0 = any free port
};
// "127.0.0.1:8080", "[::1]:8080", "localhost:0": a host name or IPv4
// address, or an IPv6 address in brackets, and a port 0..65535. Host is
// returned without brackets. InvalidArgument for a missing port, a bare
// IPv6 address, or anything else. Thread-safe.
Result<HostPort> ParseHostPort(std::string_view text);

// Where the control socket lives unless configured: $XDG_RUNTIME_DIR/shorty/
// for a user with a runtime directory, /run/shorty/ for root (even when
// XDG_RUNTIME_DIR is set, so systemd's daemon and a root shell agree), else
// /tmp/shorty-UID/. Always ends in "shortyd.sock".
std::string DefaultSocketPath(const Environment& env, unsigned uid);

// The system daemon's control socket (systemd's shortyd-control.socket).
constexpr char kSystemSocketPath[] = "/run/shorty/shortyd.sock";

// The control socket the CLI uses when none is configured: the
// DefaultSocketPath(), unless it does not exist and kSystemSocketPath does,
// so that a member of group shorty reaches the system service without
// flags. `exists` says whether something is at a path. Thread-safe if
// `exists` is.
std::string ClientSocketPath(
    const Environment& env, unsigned uid,
    const std::function<bool(const std::string&)>& exists);

// Where the database lives unless configured: $STATE_DIRECTORY/shorty.db
// when systemd gave the service one (StateDirectory=; the first if several),
// /var/lib/shorty/shorty.db for root, else $XDG_DATA_HOME (or
// ~/.local/share)/shorty/shorty.db. Relative XDG_* values are ignored, as the
// XDG spec asks. "" when neither XDG_DATA_HOME nor HOME is set: the caller must
// then ask for storage.path rather than guess (a database in /tmp would be lost
// at reboot).
std::string DefaultDatabasePath(const Environment& env, unsigned uid);

// The CLI's settings, from $XDG_CONFIG_HOME/shorty/config.toml:
//   server = "https://go.example.com"   token = "..."   socket = "/path"
struct ClientConfig {
  std::string server;  // "" = talk to the daemon over the control socket
  std::string token;
  std::string socket;  // "" = DefaultSocketPath()
};

// As ParseDaemonConfig, for the CLI's file: top-level keys only. server must
// be http(s)://HOST[:PORT][/PATH] (stored without trailing slash); token may
// not contain white space.
Status ParseClientConfig(std::string_view text, std::string_view source,
                         ClientConfig* config);

// $XDG_CONFIG_HOME/shorty/config.toml, or ~/.config/shorty/config.toml;
// "" when neither variable is set.
std::string DefaultClientConfigPath(const Environment& env);

}  // namespace shorty
