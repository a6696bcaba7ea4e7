// End-to-end tests of shortyd under hostile input: the blocklist, request
// size and shape limits, and rate limits.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness.h"

namespace shorty::test {
namespace {

using nlohmann::json;

// Sends raw bytes to the HTTP listener and returns what came back before
// the server closed the connection (or 5 s passed).
std::string RawExchange(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close on us mid-request
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

// A TCP connection to the listener, left open; -1 on failure.
int OpenConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// One keep-alive request on an open connection; the status line back, or
// "" when nothing came within 5 s.
std::string StatusLineOf(int fd, const std::string& path) {
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return "";
  }
  std::string reply;
  char buf[4096];
  while (reply.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    reply.append(buf, static_cast<size_t>(n));
  }
  return reply.substr(0, reply.find("\r\n"));
}

TEST_CASE("connections past the thread count and past 1,024 are all served") {
  rlimit files{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
  constexpr int kConnections = 1100;
  if (files.rlim_max < kConnections + 100) {
    MESSAGE("skipped: the descriptor limit is " << files.rlim_max);
    return;
  }
  files.rlim_cur = files.rlim_max;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &files) == 0);

  TempDir dir;
  Daemon d(dir);
  // Four workers for 1,100 connections, most of them idle: an idle one
  // must not keep a worker from the others.
  d.set_env({{"SHORTY_SERVER_THREADS", "4"}});
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "many"})
              .exit_code == 0);

  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    int fd = OpenConnection(d.port());
    REQUIRE_MESSAGE(fd >= 0, "connection " << i);
    fds.push_back(fd);
  }
  // Two rounds over every tenth connection and the last ten (those have
  // descriptors past 1,024 in shortyd): each answered, keep-alive kept.
  auto started = std::chrono::steady_clock::now();
  int answered = 0;
  int asked = 0;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kConnections; ++i) {
      if (i % 10 != 0 && i < kConnections - 10) continue;
      ++asked;
      std::string line = StatusLineOf(fds[static_cast<size_t>(i)], "/many");
      CAPTURE(i);
      CHECK(line == "HTTP/1.1 302 Found");
      if (line == "HTTP/1.1 302 Found") ++answered;
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  MESSAGE(answered << " of " << asked << " requests on " << kConnections
                   << " open connections answered in " << took.count() << " s");
  CHECK(answered == asked);
  for (int fd : fds) close(fd);

  // And the server is still itself.
  auto res = d.Http()->Get("/many");
  REQUIRE(res);
  CHECK(res->status == 302);
}

TEST_CASE("the blocklist refuses new links and takes old ones out of service") {
  TempDir dir;
  WriteFile(dir / "block.txt", "# phishing\n");
  WriteFile(dir / "shortyd.toml",
            "[links]\nblocklist_file = \"" + dir / "block.txt" + "\"\n");
  Daemon d(dir, {"--config", dir / "shortyd.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://login.evil.example/x", "--slug", "old"})
              .exit_code == 0);
  auto before = d.Http()->Get("/old");
  REQUIRE(before);
  CHECK(before->status == 302);

  WriteFile(dir / "block.txt", "# phishing\nevil.example\n");
  d.Signal(SIGHUP);
  for (int i = 0; i < 200 && d.log().find("reloaded") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Run add = d.Shorty({"add", "https://www.evil.example/"});
  CHECK(add.exit_code == 1);
  CHECK(add.err.find("blocklist") != std::string::npos);
  auto after = d.Http()->Get("/old");
  REQUIRE(after);
  CHECK(after->status == 410);
  CHECK(after->get_header_value("Location").empty());

  // A broken blocklist on reload keeps the one in force.
  WriteFile(dir / "block.txt", "evil.example\nnot a host\n");
  d.Signal(SIGHUP);
  for (int i = 0; i < 200 && d.log().find("block.txt:2") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(d.log().find("block.txt:2") != std::string::npos);
  CHECK(d.Http()->Get("/old")->status == 410);
}

TEST_CASE("a missing blocklist file stops the daemon at start") {
  TempDir dir;
  WriteFile(dir / "shortyd.toml",
            "[links]\nblocklist_file = \"" + dir / "nope.txt" + "\"\n");
  Daemon d(dir, {"--config", dir / "shortyd.toml"});
  CHECK_FALSE(d.Start());
  CHECK(d.log().find("nope.txt") != std::string::npos);
}

TEST_CASE("requests past the size cap are cut off, and the daemon serves on") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  // 2 MiB of headers.
  std::string request = "GET /x HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 20000; ++i) {
    request +=
        "X-Filler-" + std::to_string(i) + ": " + std::string(90, 'a') + "\r\n";
  }
  request += "\r\n";
  std::string reply = RawExchange(d.port(), request);
  CHECK(reply.find("HTTP/1.1 2") == std::string::npos);
  CHECK(reply.find("HTTP/1.1 3") == std::string::npos);

  // A chunked body that never ends.
  std::string chunked =
      "POST /-/api/v1/links HTTP/1.1\r\nHost: a\r\nContent-Type: "
      "application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2048; ++i)
    chunked += "400\r\n" + std::string(1024, ' ') + "\r\n";
  reply = RawExchange(d.port(), chunked);
  CHECK(reply.find("HTTP/1.1 2") == std::string::npos);

  auto healthy = d.Http()->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
}

TEST_CASE(
    "an exception's text never reaches the client, nor do malformed requests "
    "crash") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  const char* requests[] = {
      "GET /%00 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /\xff\xfe HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET /a/../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "POST /-/api/v1/links HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "POST /-/api/v1/links HTTP/1.1\r\nContent-Length: "
      "99999999999999999999\r\n\r\n",
  };
  for (const char* r : requests) {
    CAPTURE(r);
    std::string reply = RawExchange(d.port(), r);
    CHECK(reply.find("HTTP/1.1 2") == std::string::npos);
    CHECK(reply.find("HTTP/1.1 3") == std::string::npos);
    CHECK(reply.find("EXCEPTION_WHAT") == std::string::npos);
  }
  auto healthy = d.Http()->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
}

}  // namespace
}  // namespace shorty::test

namespace shorty::test {
namespace {

TEST_CASE(
    "rate limits: guessing slugs, creating links and signing in get 429") {
  TempDir dir;
  WriteFile(dir / "limits.toml",
            "[limits]\nnot_found_per_minute = 5\ncreate_per_minute = 3\n"
            "signin_per_minute = 2\n");
  Daemon d(dir, {"--config", dir / "limits.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(
      d.Shorty({"add", "https://example.com/", "--slug", "real"}).exit_code ==
      0);
  auto http = d.Http();
  for (int i = 0; i < 5; ++i) {
    auto res = http->Get(("/guess" + std::to_string(i)).c_str());
    REQUIRE(res);
    CHECK(res->status == 404);
  }
  // The budget is spent: every slug, real or not, now gets 429.
  auto limited = http->Get("/guess9");
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(std::stoi(limited->get_header_value("Retry-After")) >= 1);
  auto real = http->Get("/real");
  REQUIRE(real);
  CHECK(real->status == 429);
  // The control socket is not limited.
  CHECK(d.Shorty({"show", "real"}).exit_code == 0);

  // Creates over HTTP: a bucket per token.
  Run token = d.Shorty({"token", "create", "bot"});
  REQUIRE(token.exit_code == 0);
  std::string secret = token.out.substr(0, token.out.find('\n'));
  httplib::Headers auth = {{"Authorization", "Bearer " + secret}};
  int created = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto res = http->Post(
        "/-/api/v1/links", auth,
        R"({"target":"https://example.com/)" + std::to_string(i) + "\"}",
        "application/json");
    REQUIRE(res);
    if (res->status == 201) ++created;
    if (res->status == 429) {
      ++refused;
      CHECK(!res->get_header_value("Retry-After").empty());
    }
  }
  CHECK(created == 3);
  CHECK(refused == 3);

  // Sign-in attempts from one address.
  int signin_limited = 0;
  for (int i = 0; i < 4; ++i) {
    auto res = http->Post("/-/signin", "token=wrong&csrf=x",
                          "application/x-www-form-urlencoded");
    REQUIRE(res);
    if (res->status == 429) ++signin_limited;
  }
  CHECK(signin_limited == 2);
}

}  // namespace
}  // namespace shorty::test

namespace shorty::test {
namespace {

TEST_CASE("shorty add shows an internationalised host as it is stored") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  Run idn = d.Shorty({"add",
                      "https://b\xc3\xbc"
                      "cher.example/x"});
  REQUIRE(idn.exit_code == 0);
  CHECK(idn.err.find("xn--bcher-kva.example") != std::string::npos);
  Run plain = d.Shorty({"add", "https://Example.com/x"});
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.err.empty());
}

}  // namespace
}  // namespace shorty::test

namespace shorty::test {
namespace {

TEST_CASE("more than 100 header fields get 431, and the daemon serves on") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "h"}).exit_code ==
          0);
  httplib::Headers many;
  for (int i = 0; i < 101; ++i) many.emplace("X-H" + std::to_string(i), "v");
  auto refused = d.Http()->Get("/h", many);
  REQUIRE(refused);
  CHECK(refused->status == 431);
  httplib::Headers some;
  for (int i = 0; i < 90; ++i) some.emplace("X-H" + std::to_string(i), "v");
  auto served = d.Http()->Get("/h", some);
  REQUIRE(served);
  CHECK(served->status == 302);
}

}  // namespace
}  // namespace shorty::test
