// End-to-end: the real shortyd on port 0 and a private socket, driven by the
// real shorty binary and an HTTP client.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

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

// Every link, active or not, as the CLI lists it.
json AllLinks(const Daemon& d) {
  Run ls = d.Shorty({"--json", "ls", "--all"});
  REQUIRE_MESSAGE(ls.exit_code == 0, ls.err);
  return Json(ls.out);
}

TEST_CASE("a link's whole life: create, redirect, list, edit, expire, delete") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());

  Run add = d.Shorty({"add", "https://example.com/docs?lang=en", "--slug",
                      "Docs", "--tag", "team", "--title", "The docs"});
  REQUIRE_MESSAGE(add.exit_code == 0, add.err);
  CHECK(add.out == d.base_url() + "/Docs\n");  // the short URL alone

  auto http = d.Http();
  auto res = http->Get("/Docs");
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("Location") ==
        "https://example.com/docs?lang=en");
  // Lookup is case-insensitive by default.
  res = http->Get("/docs");
  REQUIRE(res);
  CHECK(res->status == 302);

  // Extra path and query pass on; HEAD redirects too.
  res = http->Get("/docs/api/v2?x=1");
  REQUIRE(res);
  CHECK(res->get_header_value("Location") ==
        "https://example.com/docs/api/v2?lang=en&x=1");
  res = http->Head("/docs");
  REQUIRE(res);
  CHECK(res->status == 302);

  Run ls = d.Shorty({"--json", "ls", "--tag", "team"});
  REQUIRE_MESSAGE(ls.exit_code == 0, ls.err);
  json links = Json(ls.out);
  REQUIRE(links.size() == 1);
  CHECK(links[0]["slug"] == "Docs");
  CHECK(links[0]["title"] == "The docs");
  CHECK(links[0]["tags"] == json::array({"team"}));
  CHECK(links[0]["state"] == "active");
  CHECK(links[0]["visits"] == 3);  // HEAD is not a visit

  Run edit = d.Shorty({"--json", "edit", "docs", "--url",
                       "https://example.org/new", "--status", "308"});
  REQUIRE_MESSAGE(edit.exit_code == 0, edit.err);
  CHECK(Json(edit.out)["target"] == "https://example.org/new");
  res = http->Get("/Docs");
  REQUIRE(res);
  CHECK(res->status == 308);
  CHECK(res->get_header_value("Location") == "https://example.org/new");

  Run expire = d.Shorty({"expire", "Docs"});
  REQUIRE_MESSAGE(expire.exit_code == 0, expire.err);
  res = http->Get("/Docs");
  REQUIRE(res);
  CHECK(res->status == 410);
  CHECK(res->body.find("expired") != std::string::npos);
  CHECK(res->get_header_value("Location").empty());
  // Expired links drop out of the default list, not out of --all.
  ls = d.Shorty({"--json", "ls"});
  CHECK(Json(ls.out).empty());
  CHECK(AllLinks(d).size() == 1);

  Run rm = d.Shorty({"rm", "Docs"});
  REQUIRE_MESSAGE(rm.exit_code == 0, rm.err);
  res = http->Get("/Docs");
  REQUIRE(res);
  CHECK(res->status == 404);
  Run show = d.Shorty({"show", "Docs"});
  CHECK(show.exit_code == 1);
  CHECK(show.err.rfind("shorty: ", 0) == 0);
  CHECK(d.Stop() == 0);
}

TEST_CASE("generated slugs, the preview page and the 404 page") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  Run add = d.Shorty({"add", "https://example.com/<b>?q=\"x\""});
  REQUIRE_MESSAGE(add.exit_code == 0, add.err);
  std::string url = Trim(add.out);
  std::string slug = url.substr(url.rfind('/') + 1);
  CHECK(slug.size() == 6);
  CHECK(slug.find_first_of("0O1lIio") == std::string::npos);

  auto http = d.Http();
  auto res = http->Get(("/" + slug + "+").c_str());
  REQUIRE(res);
  CHECK(res->status == 200);
  // The target was normalised to percent-encoding, and the page escapes it.
  CHECK(res->body.find("<b>") == std::string::npos);
  CHECK(res->body.find("https://example.com/%3Cb%3E") != std::string::npos);
  CHECK(res->get_header_value("Content-Security-Policy")
            .find("default-src 'none'") != std::string::npos);
  CHECK(res->get_header_value("X-Frame-Options") == "DENY");

  auto missing = http->Get("/nosuch");
  auto malformed = http->Get("/no.such..slug");
  REQUIRE(missing);
  REQUIRE(malformed);
  CHECK(missing->status == 404);
  CHECK(malformed->status == 404);
  CHECK(missing->body == malformed->body);  // all 404s look alike
}

TEST_CASE("a link survives a restart, and kill -9 right after its create") {
  TempDir dir;
  {
    Daemon d(dir);
    REQUIRE_MESSAGE(d.Start(), d.log());
    REQUIRE(d.Shorty({"add", "https://example.com/a", "--slug", "kept"})
                .exit_code == 0);
    CHECK(d.Stop() == 0);
  }
  {
    Daemon d(dir);
    REQUIRE_MESSAGE(d.Start(), d.log());
    auto res = d.Http()->Get("/kept");
    REQUIRE(res);
    CHECK(res->status == 302);
    // Acknowledged, then killed at once: the link must be there.
    Run add = d.Shorty({"add", "https://example.com/b", "--slug", "acked"});
    REQUIRE(add.exit_code == 0);
    d.Kill();
  }
  {
    Daemon d(dir);
    REQUIRE_MESSAGE(d.Start(), d.log());
    auto res = d.Http()->Get("/acked");
    REQUIRE(res);
    CHECK(res->status == 302);
    CHECK(res->get_header_value("Location") == "https://example.com/b");
    CHECK(AllLinks(d).size() == 2);
  }
}

TEST_CASE("eight concurrent creates of one custom slug: exactly one wins") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  std::vector<Run> runs(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      runs[i] = d.Shorty({"add", "https://example.com/" + std::to_string(i),
                          "--slug", "race"});
    });
  }
  for (auto& t : threads) t.join();
  int won = 0;
  for (const Run& r : runs) {
    if (r.exit_code == 0) {
      ++won;
    } else {
      CHECK(r.exit_code == 1);
      CHECK(r.err.find("taken") != std::string::npos);
    }
  }
  CHECK(won == 1);
  CHECK(AllLinks(d).size() == 1);
}

TEST_CASE("bad targets are refused with the rule and store nothing") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  struct Case {
    std::string target;
    std::string rule;  // part of the message
  };
  const Case cases[] = {
      {"javascript:alert(1)", "scheme 'javascript' is not allowed"},
      {"https://exa mple.com/", "whitespace"},
      {"/relative/path", "absolute URL"},
      {"https://example.com/\r\nSet-Cookie: a=b", "control"},
      {"https://example.com/%0d%0aSet-Cookie:%20a=b", "control"},
      {"https://example.com/%00", "control"},
      {"https://example.com/" + std::string(4100, 'a'), "longer than 4096"},
      {d.base_url() + "/loop", "loop"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target.substr(0, 60));
    Run r = d.Shorty({"add", c.target});
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind("shorty: target: ", 0) == 0);
    CHECK_MESSAGE(r.err.find(c.rule) != std::string::npos, r.err);
    CHECK(r.out.empty());
  }
  CHECK(AllLinks(d).empty());
}

TEST_CASE("a visit limit holds exactly under concurrent visits") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "five",
                    "--max-visits", "5"})
              .exit_code == 0);
  std::atomic<int> redirected{0}, gone{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto http = d.Http();
      for (int i = 0; i < 5; ++i) {
        auto res = http->Get("/five");
        if (res && res->status == 302) ++redirected;
        if (res && res->status == 410) ++gone;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(redirected == 5);
  CHECK(gone == 15);
  Run show = d.Shorty({"--json", "show", "five"});
  CHECK(Json(show.out)["visits"] == 5);
  CHECK(Json(show.out)["state"] == "used up");
}

TEST_CASE("visit counts are flushed in batches and kept across a restart") {
  TempDir dir;
  {
    Daemon d(dir);
    REQUIRE_MESSAGE(d.Start(), d.log());
    REQUIRE(
        d.Shorty({"add", "https://example.com/", "--slug", "hits"}).exit_code ==
        0);
    auto http = d.Http();
    for (int i = 0; i < 25; ++i) REQUIRE(http->Get("/hits"));
    // Counted at once for display, before any flush.
    CHECK(Json(d.Shorty({"--json", "show", "hits"}).out)["visits"] == 25);
    CHECK(d.Stop() == 0);  // SIGTERM flushes
  }
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  CHECK(Json(d.Shorty({"--json", "show", "hits"}).out)["visits"] == 25);
}

TEST_CASE("the HTTP API refuses every call without a token") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto http = d.Http();
  auto list = http->Get("/-/api/v1/links");
  REQUIRE(list);
  CHECK(list->status == 401);
  CHECK(list->get_header_value("WWW-Authenticate").find("Bearer") == 0);
  CHECK(Json(list->body)["error"]["code"] == "unauthorized");
  auto create =
      http->Post("/-/api/v1/links", R"({"target":"https://a.example/"})",
                 "application/json");
  REQUIRE(create);
  CHECK(create->status == 401);
  httplib::Headers bearer = {{"Authorization", "Bearer guess"}};
  auto guessed = http->Get("/-/api/v1/links", bearer);
  REQUIRE(guessed);
  CHECK(guessed->status == 401);
  CHECK(guessed->body == list->body);  // every 401 alike
  CHECK(AllLinks(d).empty());

  auto healthy = http->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  auto ready = http->Get("/-/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
}

TEST_CASE("the JSON API over the control socket: statuses and error bodies") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto api = d.Control();
  const char* type = "application/json";

  auto created =
      api->Post("/-/api/v1/links",
                R"({"target":"https://example.com/","slug":"api"})", type);
  REQUIRE(created);
  CHECK(created->status == 201);
  json link = Json(created->body);
  for (const char* field :
       {"slug", "target", "short_url", "status", "title", "tags", "created_at",
        "updated_at", "expires_at", "max_visits", "visits", "disabled"}) {
    CHECK_MESSAGE(link.contains(field), field);
  }

  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {R"({"target":"https://example.com/","slug":"api"})", 409,
       "already_exists"},
      {R"({"target":"https://example.com/")", 400, "bad_request"},
      {R"([1,2])", 400, "bad_request"},
      {R"({"target":"https://x.example/","target":"https://y.example/"})", 400,
       "bad_request"},
      {R"({"target":"https://x.example/","colour":"red"})", 400, "bad_request"},
      {R"({"target":42})", 400, "bad_request"},
      {R"({"target":"ftp://x.example/"})", 422, "invalid_argument"},
      {R"({"target":"https://x.example/","slug":"-dash"})", 422,
       "invalid_argument"},
      {R"({"target":"https://x.example/","status":200})", 422,
       "invalid_argument"},
      {R"({"target":"https://x.example/","expires_at":"2001-01-01"})", 422,
       "invalid_argument"},
      {std::string(100000, '['), 413, "too_large"},
      {"{\"target\":\"" + std::string(70000, 'a') + "\"}", 413, "too_large"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 80));
    auto res = api->Post("/-/api/v1/links", c.body, type);
    REQUIRE(res);
    CHECK(res->status == c.status);
    json err = Json(res->body);
    CHECK(err["error"]["code"] == c.code);
    CHECK(!err["error"]["message"].get<std::string>().empty());
  }
  auto missing = api->Get("/-/api/v1/links/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto bad_cursor = api->Get("/-/api/v1/links?cursor=zzz");
  REQUIRE(bad_cursor);
  CHECK(bad_cursor->status == 422);
  auto not_json = api->Post("/-/api/v1/links", "target=https://x.example/",
                            "application/x-www-form-urlencoded");
  REQUIRE(not_json);
  CHECK(not_json->status == 400);
  CHECK(AllLinks(d).size() == 1);
}

TEST_CASE("a chunked body cannot outgrow the request cap") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  auto api = d.Control();
  // 4 MiB sent chunked (no Content-Length): cut off, nothing stored, and the
  // daemon keeps serving.
  size_t sent = 0;
  auto res = api->Post(
      "/-/api/v1/links",
      [&sent](size_t, httplib::DataSink& sink) {
        std::string chunk(64 * 1024, ' ');
        if (sent >= 4u << 20) {
          sink.done();
          return true;
        }
        sent += chunk.size();
        return sink.write(chunk.data(), chunk.size());
      },
      "application/json");
  if (res) CHECK(res->status >= 400);
  CHECK(AllLinks(d).empty());
  auto healthy = d.Http()->Get("/-/healthy");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
}

TEST_CASE("CLI exit codes: usage 2, unreachable 3, failed request 1") {
  TempDir dir;
  Run usage = RunProgram({ShortyPath(), "add"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.rfind("shorty: ", 0) == 0);
  Run unknown = RunProgram({ShortyPath(), "frobnicate"});
  CHECK(unknown.exit_code == 2);

  Run down = RunProgram({ShortyPath(), "--socket", dir / "none.sock", "ls"},
                        {{"XDG_CONFIG_HOME", dir.path()}});
  CHECK(down.exit_code == 3);
  CHECK(down.err.find("start it with 'shortyd'") != std::string::npos);

  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  Run missing = d.Shorty({"rm", "nothing-here"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("not found") != std::string::npos);
  Run status = d.Shorty({"status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("ready") != std::string::npos);
  // Over HTTP without a token: not authorised.
  Run remote = d.Shorty({"--server", d.base_url(), "ls"});
  CHECK(remote.exit_code == 4);
}

TEST_CASE("a second daemon on the same database refuses to start") {
  TempDir dir;
  Daemon first(dir);
  REQUIRE_MESSAGE(first.Start(), first.log());
  TempDir other;
  Run second =
      RunProgram({ShortydPath(), "--db", first.db(), "--listen", "127.0.0.1:0",
                  "--socket", other / "s.sock", "--config", "/dev/null"});
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("already running") != std::string::npos);
  // The first one is unharmed.
  auto res = first.Http()->Get("/-/healthy");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("a corrupt database stops the daemon and is left as it was") {
  TempDir dir;
  mkdir((dir / "data").c_str(), 0750);
  std::string junk(16384, 'x');
  WriteFile(dir / "data/shorty.db", junk);
  Daemon d(dir);
  CHECK_FALSE(d.Start());
  CHECK(d.log().find("data/shorty.db") != std::string::npos);
  CHECK(ReadFile(dir / "data/shorty.db") == junk);
}

TEST_CASE("configuration: errors name file, line and key; SIGHUP reloads") {
  TempDir dir;
  WriteFile(dir / "bad.toml",
            "[links]\ndefault_status = 302\nslug_lenght = 7\n");
  Run check = RunProgram(
      {ShortydPath(), "--config", dir / "bad.toml", "--check-config"});
  CHECK(check.exit_code == 2);
  CHECK(check.err.find("bad.toml:3") != std::string::npos);
  CHECK(check.err.find("slug_lenght") != std::string::npos);

  WriteFile(dir / "good.toml", "[links]\ndefault_status = 302\n");
  Run ok = RunProgram(
      {ShortydPath(), "--config", dir / "good.toml", "--check-config"});
  CHECK(ok.exit_code == 0);

  Daemon d(dir, {"--config", dir / "good.toml"});
  REQUIRE_MESSAGE(d.Start(), d.log());
  WriteFile(dir / "good.toml", "[links]\ndefault_status = 307\n");
  d.Signal(SIGHUP);
  for (int i = 0; i < 200 && d.log().find("reloaded") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(d.log().find("reloaded") != std::string::npos);
  REQUIRE(
      d.Shorty({"add", "https://example.com/", "--slug", "after"}).exit_code ==
      0);
  auto res = d.Http()->Get("/after");
  REQUIRE(res);
  CHECK(res->status == 307);

  // A broken file on reload keeps the running configuration.
  WriteFile(dir / "good.toml", "[links\n");
  d.Signal(SIGHUP);
  for (int i = 0;
       i < 200 && d.log().find("reload refused") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(d.log().find("reload refused") != std::string::npos);
  auto still = d.Http()->Get("/-/healthy");
  REQUIRE(still);
  CHECK(still->status == 200);
}

TEST_CASE("the example configuration in packaging/ is valid and complete") {
  const std::string example =
      std::string(SHORTY_SOURCE_DIR) + "/packaging/shortyd.toml";
  Run check =
      RunProgram({ShortydPath(), "--config", example, "--check-config"});
  CHECK_MESSAGE(check.exit_code == 0, check.err);
  // Every section shortyd knows appears in it.
  const std::string text = ReadFile(example);
  for (const char* section :
       {"[server]", "[storage]", "[links]", "[visits]", "[web]"}) {
    CHECK_MESSAGE(text.find(section) != std::string::npos, section);
  }
}

TEST_CASE("SIGTERM finishes a request in flight and exits 0") {
  TempDir dir;
  Daemon d(dir);
  REQUIRE_MESSAGE(d.Start(), d.log());
  REQUIRE(d.Shorty({"add", "https://example.com/", "--slug", "t"}).exit_code ==
          0);
  auto http = d.Http();
  http->set_keep_alive(true);
  REQUIRE(http->Get("/t"));  // an idle keep-alive connection stays open
  d.Signal(SIGTERM);
  CHECK(d.Wait(5000) == 0);  // and does not hold up the exit
  CHECK(d.log().find("stopped") != std::string::npos);
}

}  // namespace
}  // namespace shorty::test
