// Fuzzes configuration parsing: the input as shortyd's TOML file, as the
// CLI's TOML file, and when it is one line, split at its first '=' as one
// setting given by an environment variable or flag. On error the config must be
// unchanged; on success it must pass the same checks a config built any other
// way does. Any broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "shared/config.h"

namespace {

using shorty::ClientConfig;
using shorty::DaemonConfig;
using shorty::Status;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A new field must join the comparisons below and the starting configs;
// this catches most additions (x86-64, libstdc++).
static_assert(sizeof(DaemonConfig) == 520 && sizeof(ClientConfig) == 96,
              "a config struct changed: update Same() and Starting*Config() "
              "in fuzz/fuzz_config.cc, then this size");

bool Same(const DaemonConfig& a, const DaemonConfig& b) {
  return a.listen == b.listen && a.socket == b.socket &&
         a.public_url == b.public_url && a.threads == b.threads &&
         a.access_log == b.access_log && a.metrics_public == b.metrics_public &&
         a.backend == b.backend && a.path == b.path &&
         a.synchronous == b.synchronous && a.postgres == b.postgres &&
         a.postgres_read == b.postgres_read &&
         a.postgres_connections == b.postgres_connections &&
         a.postgres_wait_ms == b.postgres_wait_ms &&
         a.default_status == b.default_status &&
         a.slug_length == b.slug_length &&
         a.case_sensitive == b.case_sensitive && a.schemes == b.schemes &&
         a.blocklist_file == b.blocklist_file &&
         a.flush_interval_ms == b.flush_interval_ms &&
         a.visit_retention_s == b.visit_retention_s &&
         a.cache_entries == b.cache_entries &&
         a.create_per_minute == b.create_per_minute &&
         a.signin_per_minute == b.signin_per_minute &&
         a.password_per_minute == b.password_per_minute &&
         a.not_found_per_minute == b.not_found_per_minute &&
         a.trusted_header == b.trusted_header &&
         a.trusted_proxies == b.trusted_proxies &&
         a.trusted_scope == b.trusted_scope;
}

bool Same(const ClientConfig& a, const ClientConfig& b) {
  return a.server == b.server && a.token == b.token && a.socket == b.socket;
}

// Every field away from its default, so a half-applied file shows.
DaemonConfig StartingDaemonConfig() {
  DaemonConfig c;
  c.listen = "127.0.0.1:9999";
  c.socket = "/run/fuzz/shortyd.sock";
  c.public_url = "https://go.example.com";
  c.threads = 8;
  c.access_log = "/var/log/fuzz/access.log";
  c.metrics_public = true;
  c.backend = "postgres";
  c.path = "/var/lib/fuzz/shorty.db";
  c.synchronous = "full";
  c.postgres = "host=fuzz dbname=shorty password=fuzz";
  c.postgres_read = "postgresql://fuzz@replica/shorty";
  c.postgres_connections = 3;
  c.postgres_wait_ms = 5000;
  c.default_status = 301;
  c.slug_length = 8;
  c.case_sensitive = true;
  c.schemes = {"https"};
  c.blocklist_file = "/etc/fuzz/blocklist.txt";
  c.flush_interval_ms = 500;
  c.visit_retention_s = 30 * 86400;
  c.cache_entries = 123;
  c.create_per_minute = 7;
  c.signin_per_minute = 0;
  c.password_per_minute = 3;
  c.not_found_per_minute = 999;
  c.trusted_header = "X-Forwarded-User";
  c.trusted_proxies = {"10.0.0.1"};
  c.trusted_scope = "read";
  return c;
}

ClientConfig StartingClientConfig() {
  ClientConfig c;
  c.server = "https://go.example.com/shorty";
  c.token = "shorty_fuzz_token";
  c.socket = "/run/fuzz/shortyd.sock";
  return c;
}

// A daemon config that was accepted holds only values its own checks
// accept; the cross-setting rules (public URL for a wildcard listener,
// storage.postgres set exactly when the backend is PostgreSQL) may still
// object.
void CheckAcceptedDaemon(const DaemonConfig& config) {
  Status valid = shorty::ValidateDaemonConfig(config);
  Check(valid.ok() ||
        StartsWith(valid.message(), "server.public_url: must be set when") ||
        StartsWith(valid.message(), "storage.postgres: must be set when") ||
        StartsWith(valid.message(), "storage.postgres: is set, but") ||
        StartsWith(valid.message(), "storage.postgres_read: is set, but"));
  // No message ever repeats a connection string, which may hold a password.
  Check(valid.message().find("password=") == std::string::npos);
}

// A TOML basic string holding `text`, which toml++ already read as UTF-8.
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void CheckAcceptedClient(const ClientConfig& config) {
  Check(config.socket.size() <= 107);
  for (unsigned char c : config.token) Check(c > 0x20 && c != 0x7f);
  // What was stored reads back as itself: the normalised server URL is
  // still a valid one.
  const std::string file = "server = " + TomlString(config.server) +
                           "\ntoken = " + TomlString(config.token) +
                           "\nsocket = " + TomlString(config.socket) + "\n";
  ClientConfig again;
  Status status = shorty::ParseClientConfig(file, "again.toml", &again);
  Check(status.ok() && Same(again, config));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const DaemonConfig daemon_start = StartingDaemonConfig();
  const ClientConfig client_start = StartingClientConfig();
  Check(shorty::ValidateDaemonConfig(daemon_start).ok());

  DaemonConfig daemon = daemon_start;
  Status status = shorty::ParseDaemonConfig(text, "shortyd.toml", &daemon);
  if (status.ok()) {
    CheckAcceptedDaemon(daemon);
  } else {
    Check(status.code() == shorty::Code::kInvalidArgument);
    Check(StartsWith(status.message(), "shortyd.toml:"));
    Check(Same(daemon, daemon_start));
  }

  ClientConfig client = client_start;
  status = shorty::ParseClientConfig(text, "config.toml", &client);
  if (status.ok()) {
    CheckAcceptedClient(client);
  } else {
    Check(status.code() == shorty::Code::kInvalidArgument);
    Check(StartsWith(status.message(), "config.toml:"));
    Check(Same(client, client_start));
  }

  // A setting is one line. Real keys are short; a long one only spends the
  // run in the "did you mean" edit distance, which is quadratic.
  const size_t equals = text.find('=');
  if (equals != std::string_view::npos && equals <= 32 &&
      text.find('\n') == std::string_view::npos) {
    daemon = daemon_start;
    status = shorty::SetDaemonSetting(
        text.substr(0, equals), text.substr(equals + 1), "--fuzz", &daemon);
    if (status.ok()) {
      CheckAcceptedDaemon(daemon);
    } else {
      Check(status.code() == shorty::Code::kInvalidArgument);
      Check(Same(daemon, daemon_start));
    }
  }
  return 0;
}
