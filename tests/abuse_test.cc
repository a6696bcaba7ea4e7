// End-to-end tests of what guards links against misuse and mishap: links
// behind a password, and creates made safe to retry with idempotency keys.
// The real shortyd and shorty, driven over HTTP and the control socket.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/harness.h"

namespace shorty::test {
namespace {

using nlohmann::json;

constexpr char kPassword[] = "correct horse battery";
constexpr char kTarget[] = "https://secret.example/plans?v=1";

json Json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << text);
  return j;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every link, active or not, as the CLI lists it.
json AllLinks(const Daemon& d) {
  Run ls = d.Shorty({"--json", "ls", "--all"});
  REQUIRE_MESSAGE(ls.exit_code == 0, ls.err);
  return Json(ls.out);
}

json ShowLink(const Daemon& d, const std::string& slug) {
  Run show = d.Shorty({"--json", "show", slug});
  REQUIRE_MESSAGE(show.exit_code == 0, show.err);
  return Json(show.out);
}

httplib::Result Unlock(const Daemon& d, const std::string& slug,
                       const std::string& password,
                       const std::string& rest = "") {
  httplib::Params form = {{"password", password}, {"rest", rest}};
  return d.Http()->Post(("/-/unlock/" + slug).c_str(), form);
}

// A daemon with one protected link made by `shorty add --password-file`.
struct Locked {
  TempDir dir;
  Daemon d{dir};
  Locked() {
    REQUIRE_MESSAGE(d.Start(), d.log());
    WriteFile(dir / "pw.txt", std::string(kPassword) + "\nsecond line\n");
    Run add = d.Shorty(
        {"add", kTarget, "--slug", "Sec", "--password-file", dir / "pw.txt"});
    REQUIRE_MESSAGE(add.exit_code == 0, add.err);
    CHECK(add.out == d.base_url() + "/Sec\n");
  }
};

TEST_CASE("password: a visit gets a form, not the target") {
  Locked s;
  auto http = s.d.Http();
  auto res = http->Get("/sec/more/path?x=1&y=<2>");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_FALSE(res->has_header("Location"));
  CHECK_FALSE(Contains(res->body, "secret.example"));
  CHECK(Contains(res->body, "action=\"/-/unlock/sec\""));
  CHECK(Contains(res->body, "type=\"password\""));
  // The rest of the request rides along in the form, escaped.
  CHECK(Contains(res->body,
                 "name=\"rest\" value=\"/more/path?x=1&amp;y=&lt;2&gt;\""));
  CHECK(res->get_header_value("Content-Security-Policy")
            .find("default-src 'none'") != std::string::npos);
  CHECK(res->get_header_value("X-Frame-Options") == "DENY");
  CHECK(res->get_header_value("Cache-Control") == "no-store");

  // HEAD: the same, without a body or a Location.
  res = http->Head("/Sec");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_FALSE(res->has_header("Location"));

  // The preview says there is a password, not where it goes.
  res = http->Get("/Sec+");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_FALSE(Contains(res->body, "secret.example"));
  CHECK(Contains(res->body, "password"));

  // None of this was a visit.
  CHECK(ShowLink(s.d, "sec")["visits"] == 0);
}

TEST_CASE("password: wrong is 401 with the form; right redirects, once") {
  Locked s;
  for (const std::string& wrong :
       {std::string(""), std::string("correct horse"),
        std::string(kPassword) + " ", std::string("CORRECT HORSE BATTERY")}) {
    CAPTURE(wrong);
    auto res = Unlock(s.d, "sec", wrong, "/a?b=c");
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK_FALSE(res->has_header("Location"));
    CHECK(Contains(res->body, "not right"));
    CHECK(Contains(res->body, "action=\"/-/unlock/sec\""));
    CHECK(Contains(res->body, "value=\"/a?b=c\""));
    CHECK_FALSE(Contains(res->body, "secret.example"));
  }
  CHECK(ShowLink(s.d, "sec")["visits"] == 0);

  auto res = Unlock(s.d, "SEC", kPassword, "/a/b?c=d");
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("Location") ==
        "https://secret.example/plans/a/b?v=1&c=d");
  CHECK(res->get_header_value("Cache-Control") == "no-store");
  CHECK(ShowLink(s.d, "sec")["visits"] == 1);

  res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("Location") == kTarget);
  CHECK(ShowLink(s.d, "sec")["visits"] == 2);

  // The rest is checked again: a path that escapes is refused, uncounted.
  for (const std::string& rest :
       {std::string("/../../etc"), std::string("no-leading-slash"),
        std::string("/%2e%2e/x"), "/" + std::string(4096, 'a')}) {
    CAPTURE(rest.substr(0, 20));
    res = Unlock(s.d, "sec", kPassword, rest);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK_FALSE(res->has_header("Location"));
  }
  CHECK(ShowLink(s.d, "sec")["visits"] == 2);

  // Unknown and malformed slugs look like any 404.
  auto missing = Unlock(s.d, "nosuch", kPassword);
  auto malformed = Unlock(s.d, "-bad", kPassword);
  REQUIRE(missing);
  REQUIRE(malformed);
  CHECK(missing->status == 404);
  CHECK(malformed->status == 404);
  CHECK(missing->body == malformed->body);
}

TEST_CASE("password: expiry, limits and disabling still hold") {
  Locked s;
  Run limit = s.d.Shorty({"edit", "sec", "--max-visits", "1"});
  REQUIRE_MESSAGE(limit.exit_code == 0, limit.err);
  auto res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 302);
  res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 410);
  CHECK_FALSE(res->has_header("Location"));
  // A gone link says so at once, with no form.
  res = s.d.Http()->Get("/sec");
  REQUIRE(res);
  CHECK(res->status == 410);

  REQUIRE(s.d.Shorty({"edit", "sec", "--max-visits", "none", "--disable"})
              .exit_code == 0);
  res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 410);
  REQUIRE(s.d.Shorty({"edit", "sec", "--enable"}).exit_code == 0);
  REQUIRE(s.d.Shorty({"expire", "sec"}).exit_code == 0);
  res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 410);
}

TEST_CASE("password: a 307 or 308 link answers the form with 303") {
  Locked s;
  // Re-sending the form's POST to the target would hand it the password.
  for (const char* status : {"307", "308"}) {
    CAPTURE(status);
    REQUIRE(s.d.Shorty({"edit", "sec", "--status", status}).exit_code == 0);
    auto res = Unlock(s.d, "sec", kPassword);
    REQUIRE(res);
    CHECK(res->status == 303);
    CHECK(res->get_header_value("Location") == kTarget);
  }
  REQUIRE(s.d.Shorty({"edit", "sec", "--status", "301"}).exit_code == 0);
  auto res = Unlock(s.d, "sec", kPassword);
  REQUIRE(res);
  CHECK(res->status == 301);
}

TEST_CASE("password: the hash never leaves the daemon") {
  Locked s;
  REQUIRE(s.d.Shorty({"edit", "sec", "--title", "T"}).exit_code == 0);
  WriteFile(s.dir / "pw2.txt", "another password\r\n");
  Run change =
      s.d.Shorty({"edit", "sec", "--password-file", s.dir / "pw2.txt"});
  REQUIRE_MESSAGE(change.exit_code == 0, change.err);
  // The file's CRLF is not part of the password.
  auto res = Unlock(s.d, "sec", "another password");
  REQUIRE(res);
  CHECK(res->status == 302);

  json link = ShowLink(s.d, "sec");
  CHECK(link["password_protected"] == true);
  CHECK_FALSE(link.contains("password"));
  CHECK_FALSE(link.contains("password_hash"));
  Run human = s.d.Shorty({"show", "sec"});
  CHECK(Contains(human.out, "required"));

  std::vector<std::string> outputs = {
      link.dump(),
      AllLinks(s.d).dump(),
      s.d.Shorty({"--json", "history", "sec"}).out,
      s.d.Shorty({"history", "sec"}).out,
      s.d.Shorty({"ls", "--all"}).out,
      s.d.Http()->Get("/sec")->body,
      s.d.Http()->Get("/sec+")->body,
  };
  auto control = s.d.Control();
  for (const char* path : {"/-/api/v1/links/sec", "/-/api/v1/links?all=1",
                           "/-/api/v1/links/sec/history"}) {
    auto r = control->Get(path);
    REQUIRE(r);
    outputs.push_back(r->body);
  }
  for (const std::string& out : outputs) {
    CAPTURE(out);
    CHECK_FALSE(Contains(out, "scrypt"));
    CHECK_FALSE(Contains(out, kPassword));
    CHECK_FALSE(Contains(out, "another password"));
  }

  json history = Json(s.d.Shorty({"--json", "history", "sec"}).out);
  REQUIRE(history.size() == 3);
  CHECK(history[0]["changes"]["password"] == json::array({nullptr, "set"}));
  CHECK(history[2]["changes"] == json{{"password", {"set", "changed"}}});

  // Removed: visits redirect at once again, and history says so.
  Run remove = s.d.Shorty({"--json", "edit", "sec", "--no-password"});
  REQUIRE_MESSAGE(remove.exit_code == 0, remove.err);
  CHECK(Json(remove.out)["password_protected"] == false);
  res = s.d.Http()->Get("/sec");
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("Location") == kTarget);
  history = Json(s.d.Shorty({"--json", "history", "sec"}).out);
  CHECK(history.back()["changes"] == json{{"password", {"set", "none"}}});
}

TEST_CASE("password: over the JSON API") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto control = d.Control();
  auto res = control->Post(
      "/-/api/v1/links",
      R"({"target":"https://x.example/","slug":"api","password":"12345678"})",
      "application/json");
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK(Json(res->body)["password_protected"] == true);
  CHECK_FALSE(Contains(res->body, "scrypt"));

  res = control->Post(
      "/-/api/v1/links",
      R"({"target":"https://x.example/","slug":"short","password":"1234567"})",
      "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(Contains(Json(res->body)["error"]["message"], "password: "));

  res = control->Patch("/-/api/v1/links/api", R"({"password":""})",
                       "application/json");
  REQUIRE(res);
  CHECK(res->status == 422);
  res = control->Patch("/-/api/v1/links/api", R"({"password":null})",
                       "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(Json(res->body)["password_protected"] == false);
  res = control->Patch("/-/api/v1/links/api", R"({"password":"abcdefgh"})",
                       "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(Json(res->body)["password_protected"] == true);
  auto unlocked = Unlock(d, "api", "abcdefgh");
  REQUIRE(unlocked);
  CHECK(unlocked->status == 302);
}

TEST_CASE("password: the CLI asks only on a terminal, and reads files") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  // Standard input here is a pipe: nothing to ask on.
  Run ask = d.Shorty({"add", "https://x.example/", "--password"});
  CHECK(ask.exit_code == 2);
  CHECK(Contains(ask.err, "--password-file"));
  Run missing = d.Shorty(
      {"add", "https://x.example/", "--password-file", dir / "nope.txt"});
  CHECK(missing.exit_code == 2);
  CHECK(Contains(missing.err, "cannot read"));
  WriteFile(dir / "empty.txt", "");
  Run empty = d.Shorty(
      {"add", "https://x.example/", "--password-file", dir / "empty.txt"});
  CHECK(empty.exit_code == 2);
  WriteFile(dir / "short.txt", "short\n");
  Run too_short = d.Shorty(
      {"add", "https://x.example/", "--password-file", dir / "short.txt"});
  CHECK(too_short.exit_code == 1);
  CHECK(Contains(too_short.err, "password: "));
  CHECK(AllLinks(d).empty());

  REQUIRE(d.Shorty({"add", "https://x.example/", "--slug", "e"}).exit_code ==
          0);
  Run edit_ask = d.Shorty({"edit", "e", "--password"});
  CHECK(edit_ask.exit_code == 2);
  Run both = d.Shorty({"edit", "e", "--password", "--no-password"});
  CHECK(both.exit_code == 2);
  CHECK(ShowLink(d, "e")["password_protected"] == false);
}

// Signs in to the web pages with a new write token; returns the session
// cookie and the page's CSRF token.
std::pair<std::string, std::string> WebSession(const Daemon& d) {
  Run token = d.Shorty({"token", "create", "web", "--scope", "write"});
  REQUIRE_MESSAGE(token.exit_code == 0, token.err);
  std::string secret = token.out.substr(0, token.out.find('\n'));
  auto http = d.Http();
  auto cookie_of = [](const httplib::Result& res, const std::string& name) {
    for (const auto& [key, value] : res->headers) {
      if (key == "Set-Cookie" && value.rfind(name + "=", 0) == 0) {
        return value.substr(0, value.find(';'));
      }
    }
    return std::string();
  };
  static const std::regex kCsrf("name=\"csrf\" value=\"([^\"]+)\"");
  auto form = http->Get("/-/signin");
  REQUIRE(form);
  std::smatch m;
  REQUIRE(std::regex_search(form->body, m, kCsrf));
  auto signed_in =
      http->Post("/-/signin", {{"Cookie", cookie_of(form, "shorty_signin")}},
                 "token=" + secret + "&csrf=" + m[1].str(),
                 "application/x-www-form-urlencoded");
  REQUIRE(signed_in);
  REQUIRE(signed_in->status == 303);
  std::string session = cookie_of(signed_in, "shorty_session");
  auto page = http->Get("/-/new", {{"Cookie", session}});
  REQUIRE(page);
  REQUIRE(std::regex_search(page->body, m, kCsrf));
  return {session, m[1].str()};
}

TEST_CASE("password: set, shown and removed through the web pages") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto [session, csrf] = WebSession(d);
  auto http = d.Http();
  auto created = http->Post(
      "/-/new", {{"Cookie", session}},
      "csrf=" + csrf +
          "&target=https%3A%2F%2Fweb.example%2F&slug=webpw&password=web+"
          "password&status=302",
      "application/x-www-form-urlencoded");
  REQUIRE(created);
  CHECK(created->status == 303);
  auto page = http->Get("/-/links/webpw", {{"Cookie", session}});
  REQUIRE(page);
  // Signed in, the owner sees where it goes, and that it needs a password;
  // never the password or its hash.
  CHECK(Contains(page->body, "https://web.example/"));
  CHECK(Contains(page->body, "required of visitors"));
  CHECK(Contains(page->body, "name=\"no_password\""));
  CHECK_FALSE(Contains(page->body, "web password"));
  CHECK_FALSE(Contains(page->body, "scrypt"));
  auto visit = http->Get("/webpw");
  REQUIRE(visit);
  CHECK(visit->status == 200);
  auto unlocked = Unlock(d, "webpw", "web password");
  REQUIRE(unlocked);
  CHECK(unlocked->status == 302);

  auto removed = http->Post(
      "/-/links/webpw/edit", {{"Cookie", session}},
      "csrf=" + csrf +
          "&target=https%3A%2F%2Fweb.example%2F&title=&note=&tags=&expires=&"
          "max_visits=&status=302&password=&no_password=1",
      "application/x-www-form-urlencoded");
  REQUIRE(removed);
  CHECK(removed->status == 303);
  visit = http->Get("/webpw");
  REQUIRE(visit);
  CHECK(visit->status == 302);
}

// --- Idempotency keys -------------------------------------------------------

httplib::Result CreateWithKey(const Daemon& d, const std::string& key,
                              const std::string& body) {
  return d.Control()->Post("/-/api/v1/links", {{"Idempotency-Key", key}}, body,
                           "application/json");
}

TEST_CASE("idempotency: the same key twice makes one link") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  const std::string body = R"({"target":"https://once.example/"})";
  auto first = CreateWithKey(d, "retry-me_1", body);
  REQUIRE(first);
  CHECK(first->status == 201);
  auto second = CreateWithKey(d, "retry-me_1", body);
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(Json(second->body)["slug"] == Json(first->body)["slug"]);
  CHECK(second->get_header_value("Location") ==
        first->get_header_value("Location"));
  CHECK(AllLinks(d).size() == 1);

  auto other = CreateWithKey(d, "retry-me_2", body);
  REQUIRE(other);
  CHECK(other->status == 201);
  CHECK(Json(other->body)["slug"] != Json(first->body)["slug"]);
  CHECK(AllLinks(d).size() == 2);

  // After the link is deleted, its key cannot make it again.
  std::string slug = Json(first->body)["slug"];
  REQUIRE(d.Shorty({"rm", slug}).exit_code == 0);
  auto gone = CreateWithKey(d, "retry-me_1", body);
  REQUIRE(gone);
  CHECK(gone->status == 409);
  CHECK(Contains(Json(gone->body)["error"]["message"], "since deleted"));
  CHECK(AllLinks(d).size() == 1);
}

TEST_CASE("idempotency: a malformed key is 400 and creates nothing") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  const std::string body = R"({"target":"https://once.example/"})";
  // (An empty header value is not seen at all: it is no key.)
  for (const std::string& key :
       {std::string("has space"), std::string("dot.ted"), std::string(129, 'k'),
        std::string("caf\xc3\xa9")}) {
    CAPTURE(key);
    auto res = CreateWithKey(d, key, body);
    REQUIRE(res);
    CHECK(res->status == 400);
    CHECK(Json(res->body)["error"]["code"] == "bad_request");
    CHECK(Contains(Json(res->body)["error"]["message"], "Idempotency-Key"));
  }
  auto longest = CreateWithKey(d, std::string(128, 'k'), body);
  REQUIRE(longest);
  CHECK(longest->status == 201);
  CHECK(AllLinks(d).size() == 1);
}

// A Unix-socket relay in front of shortyd's control socket that passes each
// request on and, for the first `drop` connections, hangs up instead of
// passing the answer back: the create happened, the client never heard.
class LossyRelay {
 public:
  LossyRelay(std::string listen_path, std::string daemon_path, int drop)
      : daemon_path_(std::move(daemon_path)), drop_(drop) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(listen_path.size() < sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, listen_path.c_str(), listen_path.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    thread_ = std::thread([this] { Run(); });
  }
  ~LossyRelay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int connections() const { return connections_; }

 private:
  static std::string ReadRequest(int fd) {
    std::string data;
    char buf[4096];
    size_t need = std::string::npos;
    while (need == std::string::npos || data.size() < need) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      size_t end = data.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        std::string head = data.substr(0, end);
        for (auto& c : head) c = static_cast<char>(std::tolower(c));
        size_t at = head.find("content-length:");
        if (at != std::string::npos) {
          length = std::stoul(head.substr(at + 15));
        }
        need = end + 4 + length;
      }
    }
    return data;
  }

  static std::string ReadAll(int fd) {
    std::string data;
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    return data;
  }

  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int n = ++connections_;
      std::string request = ReadRequest(client);
      // One request a connection: the daemon closes after answering.
      size_t end = request.find("\r\n");
      std::string forwarded = request;
      if (end != std::string::npos) {
        forwarded.insert(end + 2, "Connection: close\r\n");
      }
      int upstream = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, daemon_path_.c_str(), daemon_path_.size() + 1);
      std::string reply;
      if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr),
                    sizeof(addr)) == 0 &&
          ::write(upstream, forwarded.data(), forwarded.size()) ==
              static_cast<ssize_t>(forwarded.size())) {
        reply = ReadAll(upstream);
      }
      ::close(upstream);
      if (n > drop_) {
        (void)!::write(client, reply.data(), reply.size());
      }
      ::close(client);
    }
  }

  std::string daemon_path_;
  int drop_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

TEST_CASE("idempotency: shorty add retries a create whose answer was lost") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  const std::string relay_path = dir / "relay.sock";
  LossyRelay relay(relay_path, d.socket(), /*drop=*/1);
  Run add = RunProgram({ShortyPath(), "--socket", relay_path, "add",
                        "https://lost-answer.example/"},
                       {{"XDG_CONFIG_HOME", dir / "xdg"}});
  CHECK_MESSAGE(add.exit_code == 0, add.err);
  CHECK(relay.connections() == 2);
  CHECK(Contains(add.err, "trying again"));
  json links = AllLinks(d);
  REQUIRE(links.size() == 1);
  CHECK(add.out == links[0]["short_url"].get<std::string>() + "\n");
}

TEST_CASE("idempotency: shorty add rides out a daemon restart") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Stop() == 0);

  Run add;
  std::thread cli([&] {
    add = d.Shorty({"add", "https://restart.example/", "--slug", "kept"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  bool restarted = d.Start();
  cli.join();
  REQUIRE_MESSAGE(restarted, d.log());
  CHECK_MESSAGE(add.exit_code == 0, add.err);
  CHECK(Contains(add.err, "trying again"));
  CHECK(add.out == d.base_url() + "/kept\n");
  json links = AllLinks(d);
  REQUIRE(links.size() == 1);
  CHECK(links[0]["target"] == "https://restart.example/");
}

TEST_CASE("idempotency: shorty add gives up with exit 3 when nobody answers") {
  TempDir dir;
  auto start = std::chrono::steady_clock::now();
  Run add = RunProgram({ShortyPath(), "--socket", dir / "none.sock", "add",
                        "https://x.example/"},
                       {{"XDG_CONFIG_HOME", dir.path()}});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(add.exit_code == 3);
  CHECK(Contains(add.err, "start it with 'shortyd'"));
  CHECK(Contains(add.err, "(3 of 3)"));
  CHECK(took >= std::chrono::milliseconds(4500));
  CHECK(took < std::chrono::seconds(15));
}

}  // namespace
}  // namespace shorty::test
