#include "shared/config.h"

#include <doctest/doctest.h>

#include <string>
#include <tuple>

namespace shorty {
namespace {

bool Same(const DaemonConfig& a, const DaemonConfig& b) {
  auto fields = [](const DaemonConfig& c) {
    return std::tie(c.listen, c.socket, c.public_url, c.threads, c.backend,
                    c.path, c.synchronous, c.postgres, c.postgres_read,
                    c.postgres_connections, c.postgres_wait_ms,
                    c.default_status, c.slug_length, c.case_sensitive,
                    c.schemes, c.flush_interval_ms);
  };
  return fields(a) == fields(b);
}

// "[server]\nlisten = VALUE\n" for "server.listen": the value is on line 2.
std::string Document(const std::string& key, const std::string& value) {
  const size_t dot = key.find('.');
  return "[" + key.substr(0, dot) + "]\n" + key.substr(dot + 1) + " = " +
         value + "\n";
}

TEST_CASE("DaemonSettings lists every key with its environment variable") {
  const std::pair<const char*, const char*> expected[] = {
      {"server.listen", "SHORTY_SERVER_LISTEN"},
      {"server.socket", "SHORTY_SERVER_SOCKET"},
      {"server.public_url", "SHORTY_SERVER_PUBLIC_URL"},
      {"server.threads", "SHORTY_SERVER_THREADS"},
      {"server.access_log", "SHORTY_SERVER_ACCESS_LOG"},
      {"server.metrics_public", "SHORTY_SERVER_METRICS_PUBLIC"},
      {"storage.backend", "SHORTY_STORAGE_BACKEND"},
      {"storage.path", "SHORTY_STORAGE_PATH"},
      {"storage.synchronous", "SHORTY_STORAGE_SYNCHRONOUS"},
      {"storage.postgres", "SHORTY_STORAGE_POSTGRES"},
      {"storage.postgres_read", "SHORTY_STORAGE_POSTGRES_READ"},
      {"storage.postgres_connections", "SHORTY_STORAGE_POSTGRES_CONNECTIONS"},
      {"storage.postgres_wait", "SHORTY_STORAGE_POSTGRES_WAIT"},
      {"links.default_status", "SHORTY_LINKS_DEFAULT_STATUS"},
      {"links.slug_length", "SHORTY_LINKS_SLUG_LENGTH"},
      {"links.case_sensitive", "SHORTY_LINKS_CASE_SENSITIVE"},
      {"links.schemes", "SHORTY_LINKS_SCHEMES"},
      {"links.blocklist_file", "SHORTY_LINKS_BLOCKLIST_FILE"},
      {"visits.flush_interval", "SHORTY_VISITS_FLUSH_INTERVAL"},
      {"visits.retention", "SHORTY_VISITS_RETENTION"},
      {"cache.entries", "SHORTY_CACHE_ENTRIES"},
      {"limits.create_per_minute", "SHORTY_LIMITS_CREATE_PER_MINUTE"},
      {"limits.signin_per_minute", "SHORTY_LIMITS_SIGNIN_PER_MINUTE"},
      {"limits.password_per_minute", "SHORTY_LIMITS_PASSWORD_PER_MINUTE"},
      {"limits.not_found_per_minute", "SHORTY_LIMITS_NOT_FOUND_PER_MINUTE"},
      {"web.trusted_header", "SHORTY_WEB_TRUSTED_HEADER"},
      {"web.trusted_proxies", "SHORTY_WEB_TRUSTED_PROXIES"},
      {"web.trusted_scope", "SHORTY_WEB_TRUSTED_SCOPE"},
  };
  const std::vector<DaemonSettingInfo> settings = DaemonSettings();
  REQUIRE(settings.size() == std::size(expected));
  for (size_t i = 0; i < settings.size(); ++i) {
    CAPTURE(settings[i].key);
    CHECK(settings[i].key == expected[i].first);
    CHECK(settings[i].env == expected[i].second);
    CHECK_FALSE(settings[i].description.empty());
  }
}

TEST_CASE("An empty file keeps the defaults, and the defaults validate") {
  DaemonConfig config;
  REQUIRE(ParseDaemonConfig("", "shortyd.toml", &config).ok());
  CHECK(Same(config, DaemonConfig()));
  CHECK(ValidateDaemonConfig(config).ok());
}

TEST_CASE("A complete file sets every setting") {
  const char* text = R"(# shortyd.toml
[server]
listen = "0.0.0.0:9090"
socket = "/run/s.sock"
public_url = "https://go.example.com/"
threads = 8

[storage]
path = "/srv/shorty.db"
synchronous = "full"

[links]
default_status = 301
slug_length = 8
case_sensitive = true
schemes = ["https", "ftp"]

[visits]
flush_interval = "250ms"
)";
  DaemonConfig config;
  Status status = ParseDaemonConfig(text, "shortyd.toml", &config);
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(config.listen == "0.0.0.0:9090");
  CHECK(config.socket == "/run/s.sock");
  CHECK(config.public_url == "https://go.example.com");
  CHECK(config.threads == 8);
  CHECK(config.path == "/srv/shorty.db");
  CHECK(config.synchronous == "full");
  CHECK(config.default_status == 301);
  CHECK(config.slug_length == 8);
  CHECK(config.case_sensitive);
  CHECK(config.schemes == std::vector<std::string>{"https", "ftp"});
  CHECK(config.flush_interval_ms == 250);
  CHECK(ValidateDaemonConfig(config).ok());
}

TEST_CASE("Dotted keys and inline tables work like sections") {
  DaemonConfig config;
  REQUIRE(ParseDaemonConfig("server.threads = 3\nlinks = { slug_length = 9 }",
                            "f.toml", &config)
              .ok());
  CHECK(config.threads == 3);
  CHECK(config.slug_length == 9);
}

TEST_CASE("Each setting accepts good values") {
  struct Case {
    const char* key;
    const char* value;  // as written in TOML
    bool (*check)(const DaemonConfig&);
  };
  const Case cases[] = {
      {"server.listen", R"("0.0.0.0:80")",
       [](const DaemonConfig& c) { return c.listen == "0.0.0.0:80"; }},
      {"server.listen", R"("[::1]:8080")",
       [](const DaemonConfig& c) { return c.listen == "[::1]:8080"; }},
      {"server.listen", R"("localhost:0")",
       [](const DaemonConfig& c) { return c.listen == "localhost:0"; }},
      {"server.listen", R"("example.com:65535")",
       [](const DaemonConfig& c) { return c.listen == "example.com:65535"; }},
      {"server.socket", R"("/tmp/x/shortyd.sock")",
       [](const DaemonConfig& c) { return c.socket == "/tmp/x/shortyd.sock"; }},
      {"server.socket", R"("")",
       [](const DaemonConfig& c) { return c.socket.empty(); }},
      {"server.public_url", R"("https://go.example.com")",
       [](const DaemonConfig& c) {
         return c.public_url == "https://go.example.com";
       }},
      {"server.public_url", R"("https://go.example.com/")",
       [](const DaemonConfig& c) {
         return c.public_url == "https://go.example.com";
       }},
      {"server.public_url", R"("HTTP://Go.Example.COM:8443")",
       [](const DaemonConfig& c) {
         return c.public_url == "http://go.example.com:8443";
       }},
      {"server.public_url", R"("http://[::1]:8080/")",
       [](const DaemonConfig& c) {
         return c.public_url == "http://[::1]:8080";
       }},
      {"server.public_url", R"("")",
       [](const DaemonConfig& c) { return c.public_url.empty(); }},
      {"server.threads", "1",
       [](const DaemonConfig& c) { return c.threads == 1; }},
      {"server.threads", "1024",
       [](const DaemonConfig& c) { return c.threads == 1024; }},
      {"storage.path", R"("/srv/links.db")",
       [](const DaemonConfig& c) { return c.path == "/srv/links.db"; }},
      {"storage.path", R"("./dev.db")",
       [](const DaemonConfig& c) { return c.path == "./dev.db"; }},
      {"storage.synchronous", R"("normal")",
       [](const DaemonConfig& c) { return c.synchronous == "normal"; }},
      {"storage.synchronous", R"("full")",
       [](const DaemonConfig& c) { return c.synchronous == "full"; }},
      {"storage.backend", R"("sqlite")",
       [](const DaemonConfig& c) { return c.backend == "sqlite"; }},
      {"storage.backend", R"("postgres")",
       [](const DaemonConfig& c) { return c.backend == "postgres"; }},
      {"storage.postgres", R"("host=db dbname=shorty password='a b'")",
       [](const DaemonConfig& c) {
         return c.postgres == "host=db dbname=shorty password='a b'";
       }},
      {"storage.postgres", R"("postgresql://shorty@db/shorty")",
       [](const DaemonConfig& c) {
         return c.postgres == "postgresql://shorty@db/shorty";
       }},
      {"storage.postgres_read", R"("host=replica dbname=shorty")",
       [](const DaemonConfig& c) {
         return c.postgres_read == "host=replica dbname=shorty";
       }},
      {"storage.postgres_connections", "1",
       [](const DaemonConfig& c) { return c.postgres_connections == 1; }},
      {"storage.postgres_connections", "64",
       [](const DaemonConfig& c) { return c.postgres_connections == 64; }},
      {"storage.postgres_wait", R"("0s")",
       [](const DaemonConfig& c) { return c.postgres_wait_ms == 0; }},
      {"storage.postgres_wait", R"("10m")",
       [](const DaemonConfig& c) { return c.postgres_wait_ms == 600000; }},
      {"links.default_status", "301",
       [](const DaemonConfig& c) { return c.default_status == 301; }},
      {"links.default_status", "307",
       [](const DaemonConfig& c) { return c.default_status == 307; }},
      {"links.default_status", "308",
       [](const DaemonConfig& c) { return c.default_status == 308; }},
      {"links.slug_length", "4",
       [](const DaemonConfig& c) { return c.slug_length == 4; }},
      {"links.slug_length", "32",
       [](const DaemonConfig& c) { return c.slug_length == 32; }},
      {"links.case_sensitive", "true",
       [](const DaemonConfig& c) { return c.case_sensitive; }},
      {"links.schemes", R"(["https"])",
       [](const DaemonConfig& c) {
         return c.schemes == std::vector<std::string>{"https"};
       }},
      {"links.schemes", R"(["http", "svn+ssh", "web-app", "x.y2"])",
       [](const DaemonConfig& c) {
         return c.schemes ==
                std::vector<std::string>{"http", "svn+ssh", "web-app", "x.y2"};
       }},
      {"visits.flush_interval", R"("1s")",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 1000; }},
      {"visits.flush_interval", R"("10ms")",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 10; }},
      {"visits.flush_interval", R"("60s")",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 60000; }},
      {"visits.flush_interval", R"("1m")",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 60000; }},
      {"visits.flush_interval", R"("1s500ms")",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 1500; }},
  };
  for (const Case& c : cases) {
    const std::string text = Document(c.key, c.value);
    INFO(std::string(text));
    DaemonConfig config;
    Status status = ParseDaemonConfig(text, "f.toml", &config);
    REQUIRE_MESSAGE(status.ok(), status.message());
    CHECK(c.check(config));
  }
}

TEST_CASE("Each setting refuses bad values, naming file, line and key") {
  struct Case {
    const char* key;
    const char* value;    // as written in TOML
    const char* message;  // after "f.toml:2: KEY: "
  };
  const Case cases[] = {
      {"server.listen", "8080",
       R"(expected a string, e.g. listen = "127.0.0.1:8080")"},
      {"server.listen", R"("")",
       "address is empty; use HOST:PORT such as 127.0.0.1:8080 or "
       "[::1]:8080"},
      {"server.listen", R"("127.0.0.1")",
       "'127.0.0.1' has no port; use HOST:PORT such as 127.0.0.1:8080 or "
       "[::1]:8080"},
      {"server.listen", R"("127.0.0.1:")",
       "'127.0.0.1:' has port ''; a port is a number 0..65535"},
      {"server.listen", R"("127.0.0.1:80x")",
       "'127.0.0.1:80x' has port '80x'; a port is a number 0..65535"},
      {"server.listen", R"("127.0.0.1:65536")",
       "'127.0.0.1:65536' has port '65536'; a port is a number 0..65535"},
      {"server.listen", R"("127.0.0.1:-1")",
       "'127.0.0.1:-1' has port '-1'; a port is a number 0..65535"},
      {"server.listen", R"("::1:8080")",
       "'::1:8080' has more than one ':'; put an IPv6 address in brackets, "
       "as in [::1]:8080"},
      {"server.listen", R"(":8080")",
       "':8080' has no host; use 127.0.0.1 for this machine only or 0.0.0.0 "
       "for every interface"},
      {"server.listen", R"("local host:80")",
       "'local host:80' has an invalid host 'local host'; use a name or an IP "
       "address (letters, digits, '.' and '-')"},
      {"server.listen", R"("[::1]8080")",
       "'[::1]8080' has '8080' after ']' where ':PORT' belongs"},
      {"server.listen", R"("[::1:8080")", "'[::1:8080' has no closing ']'"},
      {"server.listen", R"("[nope]:80")",
       "'[nope]:80' has an invalid IPv6 address 'nope'"},
      {"server.socket", "1",
       R"(expected a string, e.g. socket = "/run/shorty/shortyd.sock")"},
      {"server.public_url", R"("go.example.com")",
       "'go.example.com' is not a URL; use http://HOST[:PORT] or "
       "https://HOST[:PORT]"},
      {"server.public_url", R"("ftp://go.example.com")",
       "'ftp://go.example.com' has scheme 'ftp'; use http://HOST[:PORT] or "
       "https://HOST[:PORT]"},
      {"server.public_url", R"("https://go.example.com/s")",
       "'https://go.example.com/s' has a path; use http://HOST[:PORT] or "
       "https://HOST[:PORT], as short URLs are PUBLIC_URL/SLUG"},
      {"server.public_url", R"("https://go.example.com/?a=1")",
       "'https://go.example.com/?a=1' has a query or fragment; use "
       "http://HOST[:PORT] or https://HOST[:PORT]"},
      {"server.public_url", R"("https://go.example.com#x")",
       "'https://go.example.com#x' has a query or fragment; use "
       "http://HOST[:PORT] or https://HOST[:PORT]"},
      {"server.public_url", R"("https://me@go.example.com")",
       "'https://me@go.example.com' has a user name; use http://HOST[:PORT] "
       "or https://HOST[:PORT]"},
      {"server.public_url", R"("https://")",
       "'https://' has no host; use http://HOST[:PORT] or "
       "https://HOST[:PORT]"},
      {"server.public_url", R"("https://go.example.com:0")",
       "'https://go.example.com:0' has port 0; a URL needs the real port "
       "(1..65535)"},
      {"server.public_url", R"("https://go.example.com:99999")",
       "'https://go.example.com:99999' has port '99999'; a port is a number "
       "0..65535"},
      {"server.threads", "0", "must be 1..1024, not 0"},
      {"server.threads", "1025", "must be 1..1024, not 1025"},
      {"server.threads", "-4", "must be 1..1024, not -4"},
      {"server.threads", R"("8")",
       "expected a whole number, e.g. threads = 64"},
      {"server.threads", "8.0", "expected a whole number, e.g. threads = 64"},
      {"storage.path", "true",
       R"(expected a string, e.g. path = "/var/lib/shorty/shorty.db")"},
      {"storage.synchronous", R"("off")",
       R"(must be "normal" or "full", not "off")"},
      {"storage.synchronous", R"("FULL")",
       R"(must be "normal" or "full", not "FULL")"},
      {"storage.backend", R"("mysql")",
       R"(must be "sqlite" or "postgres", not "mysql")"},
      {"storage.backend", R"("PostgreSQL")",
       R"(must be "sqlite" or "postgres", not "PostgreSQL")"},
      {"storage.postgres", "5432",
       R"(expected a string, e.g. postgres = "host=db.example.com dbname=shorty user=shorty")"},
      // The value may hold a password: the message does not repeat it.
      {"storage.postgres", R"("host=db\npassword=hunter2")",
       "contains a control character; write the connection string on one "
       R"(line, e.g. "host=db.example.com dbname=shorty user=shorty")"},
      {"storage.postgres_read", R"("password=hunter2\u0000")",
       "contains a control character; write the connection string on one "
       R"(line, e.g. "host=db.example.com dbname=shorty user=shorty")"},
      {"storage.postgres_connections", "0", "must be 1..64, not 0"},
      {"storage.postgres_connections", "65", "must be 1..64, not 65"},
      {"storage.postgres_wait", "60",
       R"(expected a string, e.g. postgres_wait = "60s")"},
      {"storage.postgres_wait", R"("11m")", "must be 0s..10m, not 660000ms"},
      {"storage.postgres_wait", R"("soon")",
       R"('soon' is not understood; use a number and a unit such as "1s" or "250ms")"},
      {"links.default_status", "303", "must be 301, 302, 307 or 308, not 303"},
      {"links.default_status", "200", "must be 301, 302, 307 or 308, not 200"},
      {"links.slug_length", "3", "must be 4..32, not 3"},
      {"links.slug_length", "33", "must be 4..32, not 33"},
      {"links.case_sensitive", R"("yes")",
       "expected true or false, e.g. case_sensitive = false"},
      {"links.schemes", R"("http")",
       R"(expected an array of strings, e.g. schemes = ["http", "https"])"},
      {"links.schemes", R"(["http", 1])",
       R"(expected an array of strings, e.g. schemes = ["http", "https"])"},
      {"links.schemes", "[]",
       "lists no scheme, so no link could be created; use at least one, e.g. "
       R"(["http", "https"])"},
      {"links.schemes", R"(["http", "javascript"])",
       "'javascript' is unsafe (it can run code or read local files); "
       "remove it"},
      {"links.schemes", R"(["data"])",
       "'data' is unsafe (it can run code or read local files); remove it"},
      {"links.schemes", R"(["vbscript"])",
       "'vbscript' is unsafe (it can run code or read local files); remove "
       "it"},
      {"links.schemes", R"(["file"])",
       "'file' is unsafe (it can run code or read local files); remove it"},
      {"links.schemes", R"(["JavaScript"])",
       "'JavaScript' is not a scheme; write it in lower case, starting with a "
       "letter (letters, digits, '+', '-', '.'), e.g. \"https\""},
      {"links.schemes", R"([""])",
       "'' is not a scheme; write it in lower case, starting with a letter "
       "(letters, digits, '+', '-', '.'), e.g. \"https\""},
      {"links.schemes", R"(["1http"])",
       "'1http' is not a scheme; write it in lower case, starting with a "
       "letter (letters, digits, '+', '-', '.'), e.g. \"https\""},
      {"links.schemes", R"(["ht tp"])",
       "'ht tp' is not a scheme; write it in lower case, starting with a "
       "letter (letters, digits, '+', '-', '.'), e.g. \"https\""},
      {"visits.flush_interval", "1000",
       R"(expected a string, e.g. flush_interval = "1s" or "250ms")"},
      {"visits.flush_interval", R"("1000")",
       R"('1000' is not understood; use a number and a unit such as "1s" or "250ms")"},
      {"visits.flush_interval", R"("1x")",
       R"('1x' is not understood; use a number and a unit such as "1s" or "250ms")"},
      {"visits.flush_interval", R"("")",
       R"('' is not understood; use a number and a unit such as "1s" or "250ms")"},
      {"visits.flush_interval", R"("1 s")",
       R"('1 s' is not understood; use a number and a unit such as "1s" or "250ms")"},
      {"visits.flush_interval", R"("5ms")", "must be 10ms..60s, not 5ms"},
      {"visits.flush_interval", R"("61s")", "must be 10ms..60s, not 61000ms"},
      {"visits.flush_interval", R"("99999999999999999999999h")",
       "must be 10ms..60s, not 1099511627776ms"},
  };
  for (const Case& c : cases) {
    const std::string text = Document(c.key, c.value);
    INFO(std::string(text));
    DaemonConfig config;
    Status status = ParseDaemonConfig(text, "f.toml", &config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.message() ==
          "f.toml:2: " + std::string(c.key) + ": " + c.message);
    CHECK(Same(config, DaemonConfig()));
  }
}

TEST_CASE("A socket path longer than a Unix socket address allows is refused") {
  DaemonConfig config;
  const std::string path = "/" + std::string(107, 'x');
  Status status = ParseDaemonConfig(Document("server.socket", '"' + path + '"'),
                                    "f.toml", &config);
  CHECK(status.message() ==
        "f.toml:2: server.socket: is 108 bytes long; a Unix socket path can "
        "have at most 107, so choose a shorter one");
  CHECK(ParseDaemonConfig(Document("server.socket", '"' + path.substr(1) + '"'),
                          "f.toml", &config)
            .ok());
}

TEST_CASE("Unknown keys and sections are errors with a suggestion") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"[server]\nlisen = \"127.0.0.1:8080\"\n",
       "f.toml:2: unknown key 'server.lisen'; did you mean 'server.listen'?"},
      {"\n\n[server]\nthreads = 4\nLISTEN = \"x\"\n",
       "f.toml:5: unknown key 'server.LISTEN'; did you mean "
       "'server.listen'?"},
      {"[links]\nslug_lenght = 6\n",
       "f.toml:2: unknown key 'links.slug_lenght'; did you mean "
       "'links.slug_length'?"},
      // The right key in the wrong section.
      {"[links]\nlisten = \"127.0.0.1:8080\"\n",
       "f.toml:2: unknown key 'links.listen'; did you mean 'server.listen'?"},
      {"threads = 4\n",
       "f.toml:1: unknown key 'threads'; did you mean 'server.threads'?"},
      {"[server]\ncolour = \"blue\"\n",
       "f.toml:2: unknown key 'server.colour'"},
      {"[sever]\nlisten = \"127.0.0.1:8080\"\n",
       "f.toml:1: unknown section '[sever]'; did you mean '[server]'?"},
      {"[server.tls]\ncert = \"x\"\n",
       "f.toml:1: unknown section '[server.tls]'"},
      {"[database]\n", "f.toml:1: unknown section '[database]'"},
      {"server = \"127.0.0.1:8080\"\n",
       "f.toml:1: server: expected a table; write [server] and put its keys "
       "on the lines below it"},
      {"[[links]]\nslug_length = 6\n",
       "f.toml:1: links: expected a table; write [links] and put its keys on "
       "the lines below it"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    DaemonConfig config;
    Status status = ParseDaemonConfig(c.text, "f.toml", &config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.message() == c.message);
  }
}

TEST_CASE("The first problem in file order is reported") {
  // toml++ keeps keys sorted by name ([server] before [visits]); the
  // message must still be about line 2.
  const char* text =
      "[visits]\nflush_interval = 1\n[server]\nthreads = 0\nlisen = 1\n";
  DaemonConfig config;
  Status status = ParseDaemonConfig(text, "f.toml", &config);
  CHECK(status.message() ==
        "f.toml:2: visits.flush_interval: expected a string, e.g. "
        "flush_interval = \"1s\" or \"250ms\"");
}

TEST_CASE("TOML syntax errors name the file and line") {
  struct Case {
    const char* text;
    const char* prefix;
  };
  const Case cases[] = {
      {"[server]\nlisten = \n",
       "/etc/shorty/shortyd.toml:2: invalid TOML in key-value pair: "},
      {"[server]\nthreads = 4\n\nthreads = 5\n",
       "/etc/shorty/shortyd.toml:4: invalid TOML in key-value pair: "},
      {"[server\n",
       "/etc/shorty/shortyd.toml:1: invalid TOML in table header: "},
      {"[links]\nschemes = [\"http\",\n\"https\"\n\nx = 1\n",
       "/etc/shorty/shortyd.toml:5: invalid TOML in array: "},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    DaemonConfig config;
    config.threads = 7;
    Status status =
        ParseDaemonConfig(c.text, "/etc/shorty/shortyd.toml", &config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.message().rfind(c.prefix, 0) == 0);
    CHECK(status.message().size() > std::string(c.prefix).size());
    CHECK(config.threads == 7);
  }
}

TEST_CASE("A file with an error leaves the config unchanged") {
  DaemonConfig config;
  config.listen = "127.0.0.1:1";
  config.threads = 2;
  const DaemonConfig before = config;
  // Good settings before the bad one must not leak through.
  const char* text =
      "[server]\nlisten = \"0.0.0.0:80\"\nthreads = 9\n[links]\n"
      "slug_length = 2\n";
  Status status = ParseDaemonConfig(text, "f.toml", &config);
  CHECK(status.message() ==
        "f.toml:5: links.slug_length: must be 4..32, not 2");
  CHECK(Same(config, before));
}

TEST_CASE("A file applies on top of what is already set") {
  DaemonConfig config;
  config.threads = 5;
  REQUIRE(
      ParseDaemonConfig("[links]\nslug_length = 10\n", "f.toml", &config).ok());
  CHECK(config.threads == 5);
  CHECK(config.slug_length == 10);
}

TEST_CASE("SetDaemonSetting reads text as flags and variables give it") {
  struct Case {
    const char* key;
    const char* value;
    bool (*check)(const DaemonConfig&);
  };
  const Case cases[] = {
      {"server.listen", "[::]:80",
       [](const DaemonConfig& c) { return c.listen == "[::]:80"; }},
      {"server.public_url", "https://s.example.org/",
       [](const DaemonConfig& c) {
         return c.public_url == "https://s.example.org";
       }},
      {"server.threads", "16",
       [](const DaemonConfig& c) { return c.threads == 16; }},
      {"storage.path", "/tmp/a b.db",
       [](const DaemonConfig& c) { return c.path == "/tmp/a b.db"; }},
      {"links.default_status", "308",
       [](const DaemonConfig& c) { return c.default_status == 308; }},
      {"links.case_sensitive", "true",
       [](const DaemonConfig& c) { return c.case_sensitive; }},
      {"links.case_sensitive", "1",
       [](const DaemonConfig& c) { return c.case_sensitive; }},
      {"links.case_sensitive", "Yes",
       [](const DaemonConfig& c) { return c.case_sensitive; }},
      {"links.case_sensitive", "on",
       [](const DaemonConfig& c) { return c.case_sensitive; }},
      {"links.case_sensitive", "false",
       [](const DaemonConfig& c) { return !c.case_sensitive; }},
      {"links.case_sensitive", "0",
       [](const DaemonConfig& c) { return !c.case_sensitive; }},
      {"links.case_sensitive", "no",
       [](const DaemonConfig& c) { return !c.case_sensitive; }},
      {"links.schemes", "https",
       [](const DaemonConfig& c) {
         return c.schemes == std::vector<std::string>{"https"};
       }},
      {"links.schemes", "http, https ,mailto",
       [](const DaemonConfig& c) {
         return c.schemes ==
                std::vector<std::string>{"http", "https", "mailto"};
       }},
      {"visits.flush_interval", "250ms",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 250; }},
      {"visits.flush_interval", "2s",
       [](const DaemonConfig& c) { return c.flush_interval_ms == 2000; }},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.key));
    INFO(std::string(c.value));
    DaemonConfig config;
    config.case_sensitive = std::string(c.value) == "false" ||
                            std::string(c.value) == "0" ||
                            std::string(c.value) == "no";
    Status status = SetDaemonSetting(c.key, c.value, "--flag", &config);
    REQUIRE_MESSAGE(status.ok(), status.message());
    CHECK(c.check(config));
  }
}

TEST_CASE("SetDaemonSetting refuses bad text and names its origin") {
  struct Case {
    const char* key;
    const char* value;
    const char* origin;
    const char* message;
  };
  const Case cases[] = {
      {"server.threads", "many", "--threads",
       "--threads: server.threads: expected a whole number, not 'many'"},
      {"server.threads", "", "SHORTY_SERVER_THREADS",
       "SHORTY_SERVER_THREADS: server.threads: expected a whole number, not "
       "''"},
      {"server.threads", "8 ", "--threads",
       "--threads: server.threads: expected a whole number, not '8 '"},
      {"server.threads", "99999999999999999999", "--threads",
       "--threads: server.threads: expected a whole number, not "
       "'99999999999999999999'"},
      {"server.threads", "2000", "--threads",
       "--threads: server.threads: must be 1..1024, not 2000"},
      {"server.listen", "localhost", "--listen",
       "--listen: server.listen: 'localhost' has no port; use HOST:PORT such "
       "as 127.0.0.1:8080 or [::1]:8080"},
      {"links.case_sensitive", "maybe", "SHORTY_LINKS_CASE_SENSITIVE",
       "SHORTY_LINKS_CASE_SENSITIVE: links.case_sensitive: expected true or "
       "false, not 'maybe'"},
      {"links.schemes", "http,,https", "--schemes",
       "--schemes: links.schemes: '' is not a scheme; write it in lower "
       "case, starting with a letter (letters, digits, '+', '-', '.'), e.g. "
       "\"https\""},
      {"links.schemes", "", "--schemes",
       "--schemes: links.schemes: lists no scheme, so no link could be "
       "created; use at least one, e.g. [\"http\", \"https\"]"},
      {"links.schemes", "https,javascript", "--schemes",
       "--schemes: links.schemes: 'javascript' is unsafe (it can run code or "
       "read local files); remove it"},
      {"visits.flush_interval", "1000", "--flush-interval",
       "--flush-interval: visits.flush_interval: '1000' is not understood; "
       "use a number and a unit such as \"1s\" or \"250ms\""},
      {"storage.synchronous", "off", "",
       "storage.synchronous: must be \"normal\" or \"full\", not \"off\""},
      {"storage.synchronous", "off", "storage.synchronous",
       "storage.synchronous: must be \"normal\" or \"full\", not \"off\""},
      {"server.lisen", "x", "--set",
       "--set: unknown setting 'server.lisen'; did you mean 'server.listen'?"},
      {"listen", "x", "",
       "unknown setting 'listen'; did you mean 'server.listen'?"},
      {"bogus", "x", "", "unknown setting 'bogus'"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.key));
    INFO(std::string(c.value));
    DaemonConfig config;
    Status status = SetDaemonSetting(c.key, c.value, c.origin, &config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.message() == c.message);
    CHECK(Same(config, DaemonConfig()));
  }
}

TEST_CASE("ApplyDaemonEnvironment applies SHORTY_SECTION_KEY variables") {
  const Environment env = {
      {"SHORTY_SERVER_LISTEN", "127.0.0.1:9999"},
      {"SHORTY_SERVER_PUBLIC_URL", "https://go.example.com/"},
      {"SHORTY_LINKS_SCHEMES", "https,ftp"},
      {"SHORTY_LINKS_CASE_SENSITIVE", "1"},
      {"SHORTY_VISITS_FLUSH_INTERVAL", "500ms"},
      // Not daemon settings: the CLI's, other programs', near misses.
      {"SHORTY_TOKEN", "secret"},
      {"SHORTY_SERVER", "https://elsewhere"},
      {"SHORTY_SERVER_LISEN", "garbage"},
      {"shorty_server_threads", "garbage"},
      {"HOME", "/home/ann"},
  };
  DaemonConfig config;
  Status status = ApplyDaemonEnvironment(env, &config);
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(config.listen == "127.0.0.1:9999");
  CHECK(config.public_url == "https://go.example.com");
  CHECK(config.schemes == std::vector<std::string>{"https", "ftp"});
  CHECK(config.case_sensitive);
  CHECK(config.flush_interval_ms == 500);
  CHECK(config.threads == DaemonConfig().threads);
}

TEST_CASE(
    "ApplyDaemonEnvironment names the variable and changes nothing on "
    "error") {
  const Environment env = {
      {"SHORTY_SERVER_LISTEN", "127.0.0.1:9999"},  // good, applied first
      {"SHORTY_LINKS_SLUG_LENGTH", "99"},
  };
  DaemonConfig config;
  Status status = ApplyDaemonEnvironment(env, &config);
  CHECK(status.message() ==
        "SHORTY_LINKS_SLUG_LENGTH: links.slug_length: must be 4..32, not 99");
  CHECK(Same(config, DaemonConfig()));
}

TEST_CASE("Precedence: defaults < file < environment < flags") {
  DaemonConfig config;
  REQUIRE(
      ParseDaemonConfig("[server]\nlisten = \"127.0.0.1:1000\"\nthreads = 8\n"
                        "[links]\nslug_length = 5\ndefault_status = 301\n",
                        "f.toml", &config)
          .ok());
  REQUIRE(ApplyDaemonEnvironment({{"SHORTY_SERVER_THREADS", "16"},
                                  {"SHORTY_LINKS_SLUG_LENGTH", "7"}},
                                 &config)
              .ok());
  REQUIRE(SetDaemonSetting("links.slug_length", "9", "--slug-length", &config)
              .ok());
  CHECK(config.synchronous == "normal");     // default
  CHECK(config.listen == "127.0.0.1:1000");  // file
  CHECK(config.default_status == 301);       // file
  CHECK(config.threads == 16);               // environment over file
  CHECK(config.slug_length == 9);            // flag over environment
}

TEST_CASE("ValidateDaemonConfig checks a config however it was built") {
  struct Case {
    void (*edit)(DaemonConfig*);
    const char* message;  // "" = valid
  };
  const Case cases[] = {
      {[](DaemonConfig*) {}, ""},
      {[](DaemonConfig* c) { c->listen = "nonsense"; },
       "server.listen: 'nonsense' has no port; use HOST:PORT such as "
       "127.0.0.1:8080 or [::1]:8080"},
      {[](DaemonConfig* c) { c->public_url = "https://x.example/path"; },
       "server.public_url: 'https://x.example/path' has a path; use "
       "http://HOST[:PORT] or https://HOST[:PORT], as short URLs are "
       "PUBLIC_URL/SLUG"},
      {[](DaemonConfig* c) { c->threads = 0; },
       "server.threads: must be 1..1024, not 0"},
      {[](DaemonConfig* c) { c->socket = std::string(200, 'x'); },
       "server.socket: is 200 bytes long; a Unix socket path can have at "
       "most 107, so choose a shorter one"},
      {[](DaemonConfig* c) { c->synchronous = "extra"; },
       "storage.synchronous: must be \"normal\" or \"full\", not \"extra\""},
      {[](DaemonConfig* c) { c->default_status = 200; },
       "links.default_status: must be 301, 302, 307 or 308, not 200"},
      {[](DaemonConfig* c) { c->slug_length = 64; },
       "links.slug_length: must be 4..32, not 64"},
      {[](DaemonConfig* c) {
         c->schemes = {"https", "data"};
       },
       "links.schemes: 'data' is unsafe (it can run code or read local "
       "files); remove it"},
      {[](DaemonConfig* c) { c->flush_interval_ms = 0; },
       "visits.flush_interval: must be 10ms..60s, not 0ms"},
      // A wildcard address is no base for short URLs.
      {[](DaemonConfig* c) { c->listen = "0.0.0.0:8080"; },
       "server.public_url: must be set when server.listen is 0.0.0.0:8080 "
       "(every interface), so short URLs name a reachable host, e.g. "
       "public_url = \"https://go.example.com\""},
      {[](DaemonConfig* c) { c->listen = "[::]:80"; },
       "server.public_url: must be set when server.listen is [::]:80 (every "
       "interface), so short URLs name a reachable host, e.g. public_url = "
       "\"https://go.example.com\""},
      {[](DaemonConfig* c) {
         c->listen = "0.0.0.0:8080";
         c->public_url = "https://go.example.com";
       },
       ""},
      {[](DaemonConfig* c) { c->listen = "localhost:0"; }, ""},
      {[](DaemonConfig* c) { c->backend = "oracle"; },
       "storage.backend: must be \"sqlite\" or \"postgres\", not \"oracle\""},
      {[](DaemonConfig* c) { c->postgres_connections = 0; },
       "storage.postgres_connections: must be 1..64, not 0"},
      {[](DaemonConfig* c) { c->postgres_wait_ms = -1; },
       "storage.postgres_wait: must be 0s..10m, not -1ms"},
      // PostgreSQL needs its connection string...
      {[](DaemonConfig* c) { c->backend = "postgres"; },
       "storage.postgres: must be set when storage.backend is \"postgres\": "
       "give the primary's libpq connection string, e.g. postgres = "
       "\"host=db.example.com dbname=shorty user=shorty\" (keep the password "
       "in ~/.pgpass or PGPASSFILE), or SHORTY_STORAGE_POSTGRES"},
      {[](DaemonConfig* c) {
         c->backend = "postgres";
         c->postgres = "host=db dbname=shorty";
         c->postgres_read = "host=replica dbname=shorty";
       },
       ""},
      // ...and a connection string without it would be silently unused.
      {[](DaemonConfig* c) { c->postgres = "host=db password=hunter2"; },
       "storage.postgres: is set, but storage.backend is \"sqlite\", so it "
       "would not be used; set backend = \"postgres\" to keep links in "
       "PostgreSQL, or remove it"},
      {[](DaemonConfig* c) { c->postgres_read = "host=replica"; },
       "storage.postgres_read: is set, but storage.backend is \"sqlite\", so "
       "it would not be used; set backend = \"postgres\" to keep links in "
       "PostgreSQL, or remove it"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.message));
    DaemonConfig config;
    c.edit(&config);
    Status status = ValidateDaemonConfig(config);
    if (std::string(c.message).empty()) {
      CHECK_MESSAGE(status.ok(), status.message());
    } else {
      CHECK(status.code() == Code::kInvalidArgument);
      CHECK(status.message() == c.message);
    }
  }
}

TEST_CASE("PostgreSQL settings come from the file and the environment") {
  DaemonConfig config;
  Status status = ParseDaemonConfig(R"([storage]
backend = "postgres"
postgres = "host=db.example.com dbname=shorty user=shorty"
postgres_read = "host=replica.example.com dbname=shorty user=shorty"
postgres_connections = 16
postgres_wait = "2m"
)",
                                    "f.toml", &config);
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(config.backend == "postgres");
  CHECK(config.postgres == "host=db.example.com dbname=shorty user=shorty");
  CHECK(config.postgres_read ==
        "host=replica.example.com dbname=shorty user=shorty");
  CHECK(config.postgres_connections == 16);
  CHECK(config.postgres_wait_ms == 120000);
  CHECK(ValidateDaemonConfig(config).ok());

  status = ApplyDaemonEnvironment(
      {{"SHORTY_STORAGE_POSTGRES", "postgresql://node@db2/shorty"},
       {"SHORTY_STORAGE_POSTGRES_READ", ""},
       {"SHORTY_STORAGE_POSTGRES_WAIT", "0s"}},
      &config);
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(config.postgres == "postgresql://node@db2/shorty");
  CHECK(config.postgres_read.empty());
  CHECK(config.postgres_wait_ms == 0);

  // A misspelt key gets the usual suggestion.
  DaemonConfig other;
  status = ParseDaemonConfig("[storage]\npostgress = \"host=db\"\n", "f.toml",
                             &other);
  CHECK(status.message() ==
        "f.toml:2: unknown key 'storage.postgress'; did you mean "
        "'storage.postgres'?");
}

TEST_CASE("ConninfoForLog hides passwords and keeps the rest") {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"host=db dbname=shorty user=shorty",
       "host=db dbname=shorty user=shorty"},
      {"host=db password=hunter2 user=shorty",
       "host=db password=REDACTED user=shorty"},
      {"host=db password = 'hunter 2' user=x",
       "host=db password = REDACTED user=x"},
      {"password='it\\'s' host=db", "password=REDACTED host=db"},
      {"password=a\\ b host=db", "password=REDACTED host=db"},
      {"  password=x", "  password=REDACTED"},
      {"dbname='host=db password=x'", "dbname=REDACTED"},
      {"dbname=postgresql://u:x@db/shorty", "dbname=REDACTED"},
      // Malformed: no telling where a password ends.
      {"host=db password='hunter2", "(connection string not shown)"},
      {"host db", "(connection string not shown)"},
      {"postgresql://shorty@db:5432/shorty",
       "postgresql://shorty@db:5432/shorty"},
      {"postgresql://shorty:hunter2@db/shorty",
       "postgresql://shorty:REDACTED@db/shorty"},
      {"postgres://u:p%40ss@db/x?sslmode=require&password=two",
       "postgres://u:REDACTED@db/x?sslmode=require&password=REDACTED"},
      {"postgresql:///shorty?host=/run/postgresql&pass%77ord=x",
       "postgresql:///shorty?host=/run/postgresql&pass%77ord=REDACTED"},
      {"postgresql://db?password=x", "postgresql://db?password=REDACTED"},
  };
  for (const auto& [conninfo, logged] : cases) {
    CAPTURE(conninfo);
    CHECK(ConninfoForLog(conninfo) == logged);
  }
}

TEST_CASE("ParseHostPort splits host and port") {
  struct Case {
    const char* text;
    const char* host;
    int port;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"[::1]:8080", "::1", 8080},
      {"[::]:0", "::", 0},
      {"[2001:db8::1]:443", "2001:db8::1", 443},
      {"localhost:0", "localhost", 0},
      {"0.0.0.0:65535", "0.0.0.0", 65535},
      {"go-1.example.com:80", "go-1.example.com", 80},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    Result<HostPort> result = ParseHostPort(c.text);
    REQUIRE_MESSAGE(result.ok(), result.status().message());
    CHECK(result->host == c.host);
    CHECK(result->port == c.port);
  }
}

TEST_CASE("ParseHostPort refuses what is not HOST:PORT") {
  CHECK(ParseHostPort("").status().message() ==
        "address is empty; use HOST:PORT such as 127.0.0.1:8080 or "
        "[::1]:8080");
  const char* cases[] = {"localhost", "[::1]",    "::1",        ":80",
                         "host:",     "host:x",   "host:65536", "host:+1",
                         "host:1 ",   " host:1",  "h_st:80",    "[]:80",
                         "[::1]:",    "[::1]:80x"};
  for (const char* text : cases) {
    INFO(std::string(text));
    Result<HostPort> result = ParseHostPort(text);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == Code::kInvalidArgument);
    CHECK(result.status().message().find("'" + std::string(text) + "'") !=
          std::string::npos);
  }
}

TEST_CASE("Default paths follow uid and the XDG variables") {
  struct Case {
    Environment env;
    unsigned uid;
    const char* socket;
    const char* database;
  };
  const Case cases[] = {
      {{}, 0, "/run/shorty/shortyd.sock", "/var/lib/shorty/shorty.db"},
      // Root ignores a user's XDG directories (sudo keeps them).
      {{{"XDG_RUNTIME_DIR", "/run/user/1000"},
        {"XDG_DATA_HOME", "/home/ann/.local/share"},
        {"HOME", "/root"}},
       0,
       "/run/shorty/shortyd.sock",
       "/var/lib/shorty/shorty.db"},
      {{{"XDG_RUNTIME_DIR", "/run/user/1000"}, {"HOME", "/home/ann"}},
       1000,
       "/run/user/1000/shorty/shortyd.sock",
       "/home/ann/.local/share/shorty/shorty.db"},
      {{{"XDG_RUNTIME_DIR", "/run/user/1000/"},
        {"XDG_DATA_HOME", "/data/"},
        {"HOME", "/home/ann"}},
       1000,
       "/run/user/1000/shorty/shortyd.sock",
       "/data/shorty/shorty.db"},
      {{{"HOME", "/home/ann/"}},
       1000,
       "/tmp/shorty-1000/shortyd.sock",
       "/home/ann/.local/share/shorty/shorty.db"},
      // Empty or relative XDG values are ignored, as the XDG spec asks.
      {{{"XDG_RUNTIME_DIR", ""},
        {"XDG_DATA_HOME", "relative/dir"},
        {"HOME", "/home/bob"}},
       1001,
       "/tmp/shorty-1001/shortyd.sock",
       "/home/bob/.local/share/shorty/shorty.db"},
      // Nowhere safe for a database: the caller must ask for one.
      {{}, 1002, "/tmp/shorty-1002/shortyd.sock", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.uid);
    INFO(std::string(c.socket));
    CHECK(DefaultSocketPath(c.env, c.uid) == c.socket);
    CHECK(DefaultDatabasePath(c.env, c.uid) == c.database);
  }
}

TEST_CASE("DefaultClientConfigPath prefers XDG_CONFIG_HOME") {
  struct Case {
    Environment env;
    const char* path;
  };
  const Case cases[] = {
      {{{"XDG_CONFIG_HOME", "/home/ann/.cfg"}, {"HOME", "/home/ann"}},
       "/home/ann/.cfg/shorty/config.toml"},
      {{{"HOME", "/home/ann"}}, "/home/ann/.config/shorty/config.toml"},
      {{{"XDG_CONFIG_HOME", "cfg"}, {"HOME", "/home/ann"}},
       "/home/ann/.config/shorty/config.toml"},
      {{}, ""},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.path));
    CHECK(DefaultClientConfigPath(c.env) == c.path);
  }
}

TEST_CASE("ParseClientConfig reads server, token and socket") {
  ClientConfig config;
  Status status = ParseClientConfig(
      "# ~/.config/shorty/config.toml\nserver = \"HTTPS://Go.Example.com/\"\n"
      "token = \"shorty_abc123\"\nsocket = \"/tmp/s.sock\"\n",
      "config.toml", &config);
  REQUIRE_MESSAGE(status.ok(), status.message());
  CHECK(config.server == "https://go.example.com");
  CHECK(config.token == "shorty_abc123");
  CHECK(config.socket == "/tmp/s.sock");

  // A path prefix is kept: the daemon may sit behind a reverse proxy.
  REQUIRE(ParseClientConfig("server = \"http://proxy:8080/shorty/\"\n",
                            "config.toml", &config)
              .ok());
  CHECK(config.server == "http://proxy:8080/shorty");
  CHECK(config.token == "shorty_abc123");  // untouched by the second file
}

TEST_CASE("ParseClientConfig refuses bad files and changes nothing") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"tokn = \"x\"\n",
       "config.toml:1: unknown key 'tokn'; did you mean 'token'?"},
      {"server = \"https://a\"\ncolor = true\n",
       "config.toml:2: unknown key 'color'"},
      {"[server]\nurl = \"https://a\"\n",
       "config.toml:1: server: expected a string, e.g. server = "
       "\"https://go.example.com\""},
      {"[client]\nserver = \"https://a\"\n",
       "config.toml:1: unknown key 'client'"},
      {"token = 12\n",
       "config.toml:1: token: expected a string, e.g. token = \"...\""},
      {"server = \"go.example.com\"\n",
       "config.toml:1: server: 'go.example.com' is not a URL; use "
       "http://HOST[:PORT][/PATH] or https://..."},
      {"server = \"https://a/?x\"\n",
       "config.toml:1: server: 'https://a/?x' has a query or fragment; use "
       "http://HOST[:PORT][/PATH] or https://..."},
      {"token = \"abc def\"\n",
       "config.toml:1: token: contains white space or control characters; "
       "paste the token exactly as 'shorty token create' printed it"},
      {"token = \"abc\\n\"\n",
       "config.toml:1: token: contains white space or control characters; "
       "paste the token exactly as 'shorty token create' printed it"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.text));
    ClientConfig config;
    config.token = "before";
    Status status = ParseClientConfig(c.text, "config.toml", &config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == Code::kInvalidArgument);
    CHECK(status.message() == c.message);
    CHECK(config.token == "before");
    CHECK(config.server.empty());
  }

  ClientConfig config;
  Status status = ParseClientConfig("server = \n", "config.toml", &config);
  CHECK(status.message().rfind(
            "config.toml:1: invalid TOML in key-value pair: ", 0) == 0);
}

}  // namespace
}  // namespace shorty

TEST_CASE("EnvironmentFrom reads NAME=VALUE entries and skips others") {
  const char* envp[] = {"HOME=/home/a", "EMPTY=", "NOEQUALS", "X=a=b", nullptr};
  shorty::Environment env = shorty::EnvironmentFrom(envp);
  CHECK(env.size() == 3);
  CHECK(env["HOME"] == "/home/a");
  CHECK(env["EMPTY"] == "");
  CHECK(env["X"] == "a=b");
  CHECK(env.count("NOEQUALS") == 0);
  CHECK(shorty::EnvironmentFrom(nullptr).empty());
}

TEST_CASE("web settings: trusted header, proxies and scope") {
  using namespace shorty;
  DaemonConfig c;
  REQUIRE(ParseDaemonConfig("[web]\ntrusted_header = \"X-Forwarded-User\"\n"
                            "trusted_proxies = [\"127.0.0.1\", \"::1\"]\n"
                            "trusted_scope = \"read\"\n",
                            "w.toml", &c)
              .ok());
  CHECK(c.trusted_header == "X-Forwarded-User");
  CHECK(c.trusted_proxies == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(c.trusted_scope == "read");
  DaemonConfig d;
  Status bad =
      ParseDaemonConfig("[web]\ntrusted_header = \"X User\"\n", "w.toml", &d);
  CHECK(bad.message().find("w.toml:2") != std::string::npos);
  CHECK_FALSE(ParseDaemonConfig("[web]\ntrusted_proxies = [\"example.com\"]\n",
                                "w.toml", &d)
                  .ok());
  CHECK_FALSE(
      ParseDaemonConfig("[web]\ntrusted_scope = \"root\"\n", "w.toml", &d)
          .ok());
  CHECK(d.trusted_header.empty());
}
