// End-to-end tests of the team server: tokens and the HTTP API's auth
// rules, the CLI over --server, history, QR codes and the web pages.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "tests/harness.h"

namespace shorty::test {
namespace {

using nlohmann::json;

json Json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << text);
  return j;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Makes a token over the control socket and returns its secret.
std::string MakeToken(const Daemon& d, const std::string& name,
                      const std::string& scope,
                      const std::string& expires = "") {
  std::vector<std::string> args = {"token", "create", name, "--scope", scope};
  if (!expires.empty()) {
    args.push_back("--expires");
    args.push_back(expires);
  }
  Run r = d.Shorty(args);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string secret = Trim(r.out);
  REQUIRE(secret.rfind("shorty_", 0) == 0);
  return secret;
}

httplib::Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

struct Server {
  TempDir dir;
  Daemon d{dir};
  std::string admin, writer, reader;
  Server() {
    REQUIRE_MESSAGE(d.Start(), d.log());
    admin = MakeToken(d, "ada", "admin");
    writer = MakeToken(d, "wes", "write");
    reader = MakeToken(d, "rey", "read");
    REQUIRE(
        d.Shorty({"add", "https://example.com/", "--slug", "base"}).exit_code ==
        0);
  }
};

// The 401 every refused token gets, to compare against.
std::string MissingTokenBody(const Daemon& d) {
  auto res = d.Http()->Get("/-/api/v1/links");
  REQUIRE(res);
  REQUIRE(res->status == 401);
  return res->body;
}

void ExpectRefused(const Daemon& d, const httplib::Headers& headers,
                   const std::string& path = "/-/api/v1/links") {
  auto res = d.Http()->Get(path.c_str(), headers);
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(res->body == MissingTokenBody(d));
  CHECK(res->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
}

TEST_CASE("auth: no token") {
  Server s;
  ExpectRefused(s.d, {});
}

TEST_CASE("auth: malformed Authorization headers") {
  Server s;
  for (const std::string& value :
       {std::string("Basic dXNlcjpwYXNz"), std::string("Bearer"),
        std::string("Bearer "), std::string("Bearer not-a-token"),
        "Bearer " + s.admin + "x", "Token " + s.admin, "Bearer  " + s.admin}) {
    CAPTURE(value);
    ExpectRefused(s.d, {{"Authorization", value}});
  }
}

TEST_CASE("auth: a well-formed token with the wrong secret") {
  Server s;
  std::string wrong = s.admin;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  ExpectRefused(s.d, Bearer(wrong));
}

TEST_CASE("auth: a revoked token") {
  Server s;
  auto ok = s.d.Http()->Get("/-/api/v1/links", Bearer(s.writer));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  REQUIRE(s.d.Shorty({"token", "revoke", "wes"}).exit_code == 0);
  ExpectRefused(s.d, Bearer(s.writer));
}

TEST_CASE("auth: an expired token") {
  Server s;
  std::string brief = MakeToken(s.d, "brief", "write", "1s");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  ExpectRefused(s.d, Bearer(brief));
}

TEST_CASE("auth: a scope too small gets 403") {
  Server s;
  auto read = s.d.Http()->Get("/-/api/v1/links/base", Bearer(s.reader));
  REQUIRE(read);
  CHECK(read->status == 200);
  auto create = s.d.Http()->Post("/-/api/v1/links", Bearer(s.reader),
                                 R"({"target":"https://x.example/"})",
                                 "application/json");
  REQUIRE(create);
  CHECK(create->status == 403);
  CHECK(Json(create->body)["error"]["code"] == "forbidden");
  auto del = s.d.Http()->Delete("/-/api/v1/links/base", Bearer(s.reader));
  REQUIRE(del);
  CHECK(del->status == 403);
  // Tokens are never managed over HTTP, not even by an admin token.
  auto tokens = s.d.Http()->Get("/-/api/v1/tokens", Bearer(s.admin));
  REQUIRE(tokens);
  CHECK(tokens->status == 403);
}

TEST_CASE("auth: a token in the query string is refused even when valid") {
  Server s;
  ExpectRefused(s.d, {}, "/-/api/v1/links?token=" + s.admin);
  ExpectRefused(s.d, {}, "/-/api/v1/links?access_token=" + s.admin);
  auto both = s.d.Http()->Get(("/-/api/v1/links?token=" + s.admin).c_str(),
                              Bearer(s.admin));
  REQUIRE(both);
  CHECK(both->status == 401);
}

TEST_CASE(
    "tokens: the secret is shown once, stored hashed, listed without it") {
  Server s;
  Run ls = s.d.Shorty({"--json", "token", "ls"});
  REQUIRE(ls.exit_code == 0);
  CHECK(ls.out.find(s.admin.substr(7)) == std::string::npos);
  json tokens = Json(ls.out);
  REQUIRE(tokens.size() == 3);
  CHECK(tokens[0]["name"] == "ada");
  CHECK(tokens[0]["scope"] == "admin");
  CHECK(tokens[0].contains("last_used_at"));
  CHECK(tokens[0].contains("created_at"));
  // Nothing of the secret is in the database file or the log either.
  const std::string secret_part = s.admin.substr(s.admin.rfind('_') + 1);
  auto used = s.d.Http()->Get("/-/api/v1/links", Bearer(s.admin));
  REQUIRE(used);
  CHECK(ReadFile(s.d.db()).find(secret_part) == std::string::npos);
  CHECK(ReadFile(s.d.db() + "-wal").find(secret_part) == std::string::npos);
  CHECK(s.d.log().find(secret_part) == std::string::npos);
  // last used is recorded.
  json after = Json(s.d.Shorty({"--json", "token", "ls"}).out);
  CHECK_FALSE(after[0]["last_used_at"].is_null());

  Run dup = s.d.Shorty({"token", "create", "ada"});
  CHECK(dup.exit_code == 1);
  CHECK(dup.err.find("already exists") != std::string::npos);
  Run bad = s.d.Shorty({"token", "create", "-x"});
  CHECK(bad.exit_code != 0);
  Run missing = s.d.Shorty({"token", "revoke", "nobody"});
  CHECK(missing.exit_code == 1);
}

TEST_CASE("the CLI over --server behaves as over the socket") {
  Server s;
  const std::map<std::string, std::string> no_env;
  // --token
  Run add =
      RunProgram({ShortyPath(), "--server", s.d.base_url(), "--token", s.writer,
                  "add", "https://example.org/x", "--slug", "remote"},
                 {{"XDG_CONFIG_HOME", s.dir / "none"}});
  REQUIRE_MESSAGE(add.exit_code == 0, add.err);
  CHECK(Trim(add.out) == s.d.base_url() + "/remote");
  // SHORTY_SERVER and SHORTY_TOKEN
  Run show = RunProgram({ShortyPath(), "--json", "show", "remote"},
                        {{"SHORTY_SERVER", s.d.base_url()},
                         {"SHORTY_TOKEN", s.writer},
                         {"XDG_CONFIG_HOME", s.dir / "none"}});
  REQUIRE_MESSAGE(show.exit_code == 0, show.err);
  CHECK(Json(show.out)["created_by"] == "wes");
  // The CLI's config file, as on a second machine.
  mkdir((s.dir / "xdg").c_str(), 0700);
  mkdir((s.dir / "xdg/shorty").c_str(), 0700);
  WriteFile(
      s.dir / "xdg/shorty/config.toml",
      "server = \"" + s.d.base_url() + "\"\ntoken = \"" + s.reader + "\"\n");
  Run ls = RunProgram({ShortyPath(), "--json", "ls"},
                      {{"XDG_CONFIG_HOME", s.dir / "xdg"}});
  REQUIRE_MESSAGE(ls.exit_code == 0, ls.err);
  CHECK(Json(ls.out).size() == 2);
  // A read token cannot write: exit 4.
  Run denied = RunProgram({ShortyPath(), "rm", "remote"},
                          {{"XDG_CONFIG_HOME", s.dir / "xdg"}});
  CHECK(denied.exit_code == 4);
  // A wrong token: exit 4 too.
  Run wrong = RunProgram(
      {ShortyPath(), "--server", s.d.base_url(), "--token", "nope", "ls"},
      {{"XDG_CONFIG_HOME", s.dir / "none"}});
  CHECK(wrong.exit_code == 4);
  // Token management over HTTP: refused.
  Run tokens = RunProgram({ShortyPath(), "--server", s.d.base_url(), "--token",
                           s.admin, "token", "ls"},
                          {{"XDG_CONFIG_HOME", s.dir / "none"}});
  CHECK(tokens.exit_code == 4);
  CHECK(tokens.err.find("control socket") != std::string::npos);
}

TEST_CASE("history: every change with who, when and what") {
  Server s;
  const std::string server = s.d.base_url();
  auto as = [&](const std::string& token, std::vector<std::string> args) {
    std::vector<std::string> argv = {ShortyPath(), "--server", server,
                                     "--token", token};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {{"XDG_CONFIG_HOME", s.dir / "none"}});
  };
  REQUIRE(as(s.writer, {"add", "https://example.com/v1", "--slug", "hist"})
              .exit_code == 0);
  REQUIRE(as(s.writer, {"edit", "hist", "--url", "https://example.com/v2",
                        "--title", "Two"})
              .exit_code == 0);
  REQUIRE(s.d.Shorty({"edit", "hist", "--disable"}).exit_code == 0);
  REQUIRE(s.d.Shorty({"edit", "hist", "--enable"}).exit_code == 0);
  REQUIRE(as(s.writer, {"expire", "hist"}).exit_code == 0);

  Run h = s.d.Shorty({"--json", "history", "hist"});
  REQUIRE_MESSAGE(h.exit_code == 0, h.err);
  json entries = Json(h.out);
  REQUIRE(entries.size() == 5);
  const char* actions[] = {"create", "edit", "disable", "enable", "expire"};
  for (size_t i = 0; i < 5; ++i) CHECK(entries[i]["action"] == actions[i]);
  CHECK(entries[0]["actor"] == "wes");
  CHECK(entries[2]["actor"] != "wes");  // the local user behind the socket
  CHECK(entries[1]["changes"]["target"] ==
        json::array({"https://example.com/v1", "https://example.com/v2"}));
  CHECK(entries[1]["changes"]["title"] == json::array({"", "Two"}));
  CHECK(entries[1]["seq"].get<int64_t>() > entries[0]["seq"].get<int64_t>());

  Run table = s.d.Shorty({"history", "hist"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("https://example.com/v2") != std::string::npos);

  // Deleted: the history stays, for admins.
  REQUIRE(as(s.writer, {"rm", "hist"}).exit_code == 0);
  auto as_reader =
      s.d.Http()->Get("/-/api/v1/links/hist/history", Bearer(s.reader));
  REQUIRE(as_reader);
  CHECK(as_reader->status == 404);
  auto as_admin =
      s.d.Http()->Get("/-/api/v1/links/hist/history", Bearer(s.admin));
  REQUIRE(as_admin);
  CHECK(as_admin->status == 200);
  json kept = Json(as_admin->body)["history"];
  REQUIRE(kept.size() == 6);
  CHECK(kept[5]["action"] == "delete");
  CHECK(kept[5]["actor"] == "wes");
}

std::string Zbar(const std::string& file) {
  Run r = RunProgram({"/usr/bin/zbarimg", "--raw", "-q", file});
  REQUIRE_MESSAGE(r.exit_code == 0, "zbarimg (zbar-tools) failed: " << r.err);
  return Trim(r.out);
}

TEST_CASE("QR codes decode back to the short URL") {
  Server s;
  Run png = s.d.Shorty({"qr", "base", "--png", s.dir / "base.png"});
  REQUIRE_MESSAGE(png.exit_code == 0, png.err);
  CHECK(Zbar(s.dir / "base.png") == s.d.base_url() + "/base");

  auto api =
      s.d.Http()->Get("/-/api/v1/links/base/qr?format=png", Bearer(s.reader));
  REQUIRE(api);
  CHECK(api->status == 200);
  CHECK(api->get_header_value("Content-Type") == "image/png");
  WriteFile(s.dir / "api.png", api->body);
  CHECK(Zbar(s.dir / "api.png") == s.d.base_url() + "/base");

  auto svg =
      s.d.Http()->Get("/-/api/v1/links/base/qr?format=svg", Bearer(s.reader));
  REQUIRE(svg);
  CHECK(svg->status == 200);
  CHECK(svg->body.rfind("<svg", 0) == 0);
  auto bad =
      s.d.Http()->Get("/-/api/v1/links/base/qr?format=gif", Bearer(s.reader));
  REQUIRE(bad);
  CHECK(bad->status == 422);

  Run terminal = s.d.Shorty({"qr", "base"});
  CHECK(terminal.exit_code == 0);
  CHECK(terminal.out.find("\u2588") != std::string::npos);  // block characters
}

// --- The web pages, driven as a browser would over plain HTTP. ---

std::string CookieFrom(const httplib::Result& res, const std::string& name) {
  for (const auto& [key, value] : res->headers) {
    if (key == "Set-Cookie" && value.rfind(name + "=", 0) == 0) {
      return value.substr(0, value.find(';'));
    }
  }
  return "";
}

std::string CsrfFrom(const std::string& html) {
  std::smatch m;
  static const std::regex kCsrf("name=\"csrf\" value=\"([^\"]+)\"");
  if (std::regex_search(html, m, kCsrf)) return m[1];
  return "";
}

// Signs in with a token; returns the session cookie ("name=value").
std::string SignIn(const Daemon& d, const std::string& token) {
  auto http = d.Http();
  auto form = http->Get("/-/signin");
  REQUIRE(form);
  REQUIRE(form->status == 200);
  std::string signin_cookie = CookieFrom(form, "shorty_signin");
  std::string csrf = CsrfFrom(form->body);
  REQUIRE(!csrf.empty());
  auto res = http->Post("/-/signin", {{"Cookie", signin_cookie}},
                        "token=" + token + "&csrf=" + csrf,
                        "application/x-www-form-urlencoded");
  REQUIRE(res);
  REQUIRE(res->status == 303);
  std::string session = CookieFrom(res, "shorty_session");
  REQUIRE(!session.empty());
  return session;
}

TEST_CASE("web: sign-in, session cookie, and the pages need it") {
  Server s;
  auto http = s.d.Http();
  auto list = http->Get("/-/");
  REQUIRE(list);
  CHECK(list->status == 303);
  CHECK(list->get_header_value("Location") == "/-/signin");

  auto form = http->Get("/-/signin");
  REQUIRE(form);
  std::string cookie_line;
  for (const auto& [k, v] : form->headers) {
    if (k == "Set-Cookie") cookie_line = v;
  }
  CHECK(cookie_line.find("HttpOnly") != std::string::npos);
  CHECK(cookie_line.find("SameSite=Strict") != std::string::npos);
  CHECK(form->get_header_value("Content-Security-Policy")
            .find("frame-ancestors 'none'") != std::string::npos);
  CHECK(form->body.find("<script") == std::string::npos);

  // A wrong token, and a right token without the form's CSRF pair.
  auto wrong =
      http->Post("/-/signin", {{"Cookie", CookieFrom(form, "shorty_signin")}},
                 "token=shorty_nope&csrf=" + CsrfFrom(form->body),
                 "application/x-www-form-urlencoded");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(CookieFrom(wrong, "shorty_session").empty());
  auto forged = http->Post("/-/signin", "token=" + s.writer + "&csrf=guess",
                           "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 403);

  std::string session = SignIn(s.d, s.writer);
  auto page = http->Get("/-/", {{"Cookie", session}});
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("/-/links/base") != std::string::npos);
  CHECK(page->body.find("wes") != std::string::npos);

  // Revoking the token ends the session.
  REQUIRE(s.d.Shorty({"token", "revoke", "wes"}).exit_code == 0);
  auto after = http->Get("/-/", {{"Cookie", session}});
  REQUIRE(after);
  CHECK(after->status == 303);
}

TEST_CASE(
    "web: create through the form, escape what is stored, CSRF on changes") {
  Server s;
  auto http = s.d.Http();
  std::string session = SignIn(s.d, s.writer);
  auto form = http->Get("/-/new", {{"Cookie", session}});
  REQUIRE(form);
  REQUIRE(form->status == 200);
  std::string csrf = CsrfFrom(form->body);
  REQUIRE(!csrf.empty());

  std::string body =
      "csrf=" + csrf +
      "&target=https%3A%2F%2Fexample.com%2Fpage&slug=webby"
      "&title=%3Cscript%3Ealert(1)%3C%2Fscript%3E&tags=team%2Cdocs&status=307"
      "&expires=&max_visits=&note=";
  auto created = http->Post("/-/new", {{"Cookie", session}}, body,
                            "application/x-www-form-urlencoded");
  REQUIRE(created);
  CHECK(created->status == 303);
  CHECK(created->get_header_value("Location") == "/-/links/webby");

  auto page = http->Get("/-/links/webby", {{"Cookie", session}});
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("<script>") == std::string::npos);
  CHECK(page->body.find("&lt;script&gt;alert(1)&lt;/script&gt;") !=
        std::string::npos);
  CHECK(page->body.find("<svg") != std::string::npos);  // the QR code
  auto go = http->Get("/webby");
  REQUIRE(go);
  CHECK(go->status == 307);

  // A change without the CSRF token is refused and changes nothing.
  auto forged = http->Post("/-/links/webby/delete", {{"Cookie", session}},
                           "csrf=wrong", "application/x-www-form-urlencoded");
  REQUIRE(forged);
  CHECK(forged->status == 403);
  CHECK(http->Get("/webby")->status == 307);

  // Bad input re-shows the form with the rule, and stores nothing.
  auto bad =
      http->Post("/-/new", {{"Cookie", session}},
                 "csrf=" + csrf + "&target=javascript%3Aalert(1)&status=302",
                 "application/x-www-form-urlencoded");
  REQUIRE(bad);
  CHECK(bad->status == 422);
  CHECK(bad->body.find("scheme") != std::string::npos);

  // A read token's session may look but not change.
  std::string reader = SignIn(s.d, s.reader);
  auto denied = http->Get("/-/new", {{"Cookie", reader}});
  REQUIRE(denied);
  CHECK(denied->status == 403);

  auto deleted =
      http->Post("/-/links/webby/delete", {{"Cookie", session}}, "csrf=" + csrf,
                 "application/x-www-form-urlencoded");
  REQUIRE(deleted);
  CHECK(deleted->status == 303);
  CHECK(http->Get("/webby")->status == 404);
}

TEST_CASE("web: a trusted proxy's user header, only from its address") {
  TempDir dir;
  WriteFile(dir / "proxy.toml",
            "[web]\ntrusted_header = \"X-Forwarded-User\"\n"
            "trusted_proxies = [\"127.0.0.1\"]\ntrusted_scope = \"write\"\n");
  Daemon d(dir, {"--config", dir / "proxy.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto page = d.Http()->Get("/-/", {{"X-Forwarded-User", "alice@example.com"}});
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find("alice@example.com") != std::string::npos);

  TempDir other;
  WriteFile(other / "proxy.toml",
            "[web]\ntrusted_header = \"X-Forwarded-User\"\n"
            "trusted_proxies = [\"10.9.9.9\"]\n");
  Daemon untrusted(other, {"--config", other / "proxy.toml"});
  REQUIRE_MESSAGE(untrusted.Start(), untrusted.log());
  auto refused = untrusted.Http()->Get("/-/", {{"X-Forwarded-User", "alice"}});
  REQUIRE(refused);
  CHECK(refused->status == 303);  // to the sign-in page
}

constexpr char kFirefoxUa[] =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
constexpr char kIphoneUa[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 "
    "Safari/604.1";

// Visits /{slug} `n` times with these headers; each must redirect.
void Visit(const Daemon& d, const std::string& slug, int n,
           const httplib::Headers& headers) {
  auto http = d.Http();
  for (int i = 0; i < n; ++i) {
    auto res = http->Get(("/" + slug).c_str(), headers);
    REQUIRE(res);
    REQUIRE(res->status == 302);
  }
}

TEST_CASE("stats: visits by day, referrer, browser and device; bots apart") {
  TempDir dir;
  {
    Daemon d(dir);
    REQUIRE_MESSAGE(d.Start(), d.log());
    REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "Counted"})
                .exit_code == 0);
    REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "quiet"})
                .exit_code == 0);
    Visit(d, "counted", 3,
          {{"User-Agent", kFirefoxUa},
           {"Referer", "https://News.Example.com/item?id=7&user=someone"}});
    Visit(d, "Counted", 2, {{"User-Agent", kIphoneUa}});
    Visit(d, "counted", 4, {{"User-Agent", "Slackbot-LinkExpanding 1.0"}});
    Visit(d, "counted", 1, {{"User-Agent", "curl/7.88.1"}});
    // HEAD is no visit; nor is a preview.
    REQUIRE(d.Http()->Head("/counted", {{"User-Agent", kFirefoxUa}}));
    REQUIRE(d.Http()->Get("/counted+", {{"User-Agent", kFirefoxUa}}));
    CHECK(d.Stop() == 0);  // the last flush on the way out
  }
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());

  Run run = d.Shorty({"--json", "stats", "counted"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  json st = Json(run.out);
  CHECK(st["slug"] == "Counted");
  CHECK(st["by"] == "day");
  CHECK(st["total"] == 5);
  CHECK(st["bots"] == 5);
  CHECK(st["bots_included"] == false);
  REQUIRE(st["series"].size() == 8);  // seven days back and today
  CHECK(st["series"].back()["visits"] == 5);
  CHECK(st["series"][0]["visits"] == 0);
  CHECK(st["referrers"] ==
        json::parse(R"j([{"value":"news.example.com","visits":3},)j"
                    R"j({"value":"(direct)","visits":2}])j"));
  CHECK(st["browsers"] ==
        json::parse(R"j([{"value":"firefox","visits":3},)j"
                    R"j({"value":"safari","visits":2}])j"));
  CHECK(st["oses"] == json::parse(R"j([{"value":"linux","visits":3},)j"
                                  R"j({"value":"ios","visits":2}])j"));
  CHECK(st["devices"] == json::parse(R"j([{"value":"desktop","visits":3},)j"
                                     R"j({"value":"mobile","visits":2}])j"));
  // Nothing that names a person was kept: no query string, no agent.
  for (const char* secret : {"someone", "id=7", "Gecko", "Slackbot"}) {
    CHECK(ReadFile(d.db()).find(secret) == std::string::npos);
  }

  run = d.Shorty({"--json", "stats", "counted", "--bots", "--by", "hour",
                  "--since", "3h"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  st = Json(run.out);
  CHECK(st["by"] == "hour");
  CHECK(st["total"] == 10);
  CHECK(st["bots_included"] == true);
  CHECK(st["series"].size() == 4);
  CHECK(st["series"].back()["visits"] == 10);
  CHECK(st["devices"][0] == json{{"value", "bot"}, {"visits", 5}});

  // For people: totals, a bar chart and the tops.
  run = d.Shorty({"stats", "counted"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.out.find("Visits to Counted from ") == 0);
  CHECK(run.out.find("total  5\n") != std::string::npos);
  CHECK(run.out.find("bots   5 (not in the figures") != std::string::npos);
  CHECK(run.out.find("\u2588") != std::string::npos);  // a full block
  CHECK(run.out.find("news.example.com") != std::string::npos);
  CHECK(run.out.find("REFERRER") != std::string::npos);
  CHECK(run.out.find("DEVICE") != std::string::npos);

  // A link with no visits has a flat chart and no tops.
  run = d.Shorty({"stats", "quiet"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.out.find("total  0\n") != std::string::npos);
  CHECK(run.out.find("REFERRER") == std::string::npos);

  // Bad input says what to do.
  run = d.Shorty({"stats", "counted", "--since", "last tuesday"});
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("since: use a duration back from now") !=
        std::string::npos);
  run = d.Shorty({"stats", "counted", "--since", "2099-01-01"});
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("since: must be in the past") != std::string::npos);
  run = d.Shorty({"stats", "counted", "--since", "3650d", "--by", "hour"});
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("at most 5000 hours") != std::string::npos);
  run = d.Shorty({"stats", "counted", "--by", "week"});
  CHECK(run.exit_code == 2);
  run = d.Shorty({"stats", "nobody"});
  CHECK(run.exit_code != 0);
  CHECK(run.err.find("nobody") != std::string::npos);

  // The API: a read token will do; none will not.
  const std::string reader = MakeToken(d, "rey", "read");
  auto http = d.Http();
  auto res = http->Get("/-/api/v1/links/counted/stats?since=2d&by=day&bots=0",
                       Bearer(reader));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(Json(res->body)["total"] == 5);
  CHECK(Json(res->body)["series"].size() == 3);
  res = http->Get("/-/api/v1/links/counted/stats?bots=maybe", Bearer(reader));
  REQUIRE(res);
  CHECK(res->status == 422);
  CHECK(res->body.find("bots: use 1 or 0") != std::string::npos);
  res = http->Get("/-/api/v1/links/counted/stats");
  REQUIRE(res);
  CHECK(res->status == 401);

  // The link's web page draws the same as inline SVG, bars with titles.
  std::string session = SignIn(d, reader);
  res = http->Get("/-/links/counted", {{"Cookie", session}});
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string& page = res->body;
  size_t chart = page.find("<svg class=\"chart\"");
  REQUIRE(chart != std::string::npos);
  size_t bars = 0;
  for (size_t at = page.find("<rect", chart); at != std::string::npos;
       at = page.find("<rect", at + 1)) {
    ++bars;
  }
  CHECK(bars == 30);
  CHECK(page.find(": 5 visits</title>") != std::string::npos);
  CHECK(page.find("5 visits; 5 more by bots") != std::string::npos);
  CHECK(page.find("<td>news.example.com</td><td>3</td>") != std::string::npos);
  CHECK(page.find("<script") == std::string::npos);
}

TEST_CASE("stats: visits reach the stats within a flush, without a restart") {
  TempDir dir;
  Daemon d(dir);
  d.set_env({{"SHORTY_VISITS_FLUSH_INTERVAL", "50ms"}});
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "live", "--max-visits", "10"})
              .exit_code == 0);
  // A link with a visit limit is counted in the store at once; its traits
  // still go through the visit writer.
  Visit(d, "live", 2, {{"User-Agent", kFirefoxUa}});
  json st;
  for (int i = 0; i < 100; ++i) {
    Run run = d.Shorty({"--json", "stats", "live"});
    REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    st = Json(run.out);
    if (st["total"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(st["total"] == 2);
  CHECK(st["browsers"][0] == json{{"value", "firefox"}, {"visits", 2}});
  CHECK(Json(d.Shorty({"--json", "show", "live"}).out)["visits"] == 2);
}

}  // namespace
}  // namespace shorty::test
