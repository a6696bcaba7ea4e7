// End-to-end tests of `shorty backup`, `shorty export` and `shorty import`
// with the real shortyd: online backups restored into a new daemon, who may
// take them, exports that import back field for field, imports from other
// shorteners with exact outcomes, hostile files, dry runs and resumed
// imports after a daemon died in the middle.
#include <doctest/doctest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
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

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string LocalUser() {
  passwd* pw = ::getpwuid(::getuid());
  return pw != nullptr ? pw->pw_name : "uid:" + std::to_string(::getuid());
}

std::string MakeToken(const Daemon& d, const std::string& name,
                      const std::string& scope) {
  Run r = d.Shorty({"token", "create", name, "--scope", scope});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return Trim(r.out);
}

json ShowLink(const Daemon& d, const std::string& slug) {
  Run show = d.Shorty({"--json", "show", slug});
  REQUIRE_MESSAGE(show.exit_code == 0, show.err);
  return Json(show.out);
}

int64_t LinkCount(const Daemon& d) {
  Run status = d.Shorty({"--json", "status"});
  REQUIRE_MESSAGE(status.exit_code == 0, status.err);
  return Json(status.out)["links"].get<int64_t>();
}

json Import(const Daemon& d, const std::string& file,
            std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--json", "import", file};
  args.insert(args.end(), extra.begin(), extra.end());
  Run r = d.Shorty(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return Json(r.out);
}

std::string GolinkLine(const std::string& short_name, const std::string& long_url,
                       const std::string& extra = "") {
  json j = {{"Short", short_name},
            {"Long", long_url},
            {"Created", "2023-04-05T06:07:08Z"},
            {"LastEdit", "2023-05-06T07:08:09.5-02:00"},
            {"Owner", "ada@example.com"}};
  std::string line = j.dump();
  if (!extra.empty()) line.insert(line.size() - 1, "," + extra);
  return line + "\n";
}

// A daemon on a fresh directory.
struct Server {
  TempDir dir;
  Daemon d{dir};
  Server() { REQUIRE_MESSAGE(d.Start(), d.log()); }
};

TEST_CASE("backup: online while links are created; restores into a new "
          "daemon with every link acknowledged before it began") {
  Server a;
  // Creates links one after another, noting each acknowledged one.
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto control = a.d.Control();
    for (int i = 0; !stop; ++i) {
      const std::string slug = "w" + std::to_string(i);
      json body = {{"target", "https://example.com/w/" + std::to_string(i)},
                   {"slug", slug}};
      auto res = control->Post("/-/api/v1/links", body.dump(),
                               "application/json");
      if (res && res->status == 201) {
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.push_back(slug);
      }
    }
  });
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acknowledged.size();
  };
  for (int waited = 0; count() < 300 && waited < 20000; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::string> before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = acknowledged;
  }
  REQUIRE(before.size() >= 300);
  const std::string file = a.dir / "backup.db";
  Run backup = a.d.Shorty({"--json", "backup", file});
  const size_t after_backup = count();
  stop = true;
  writer.join();
  INFO(backup.err);
  REQUIRE(backup.exit_code == 0);
  json report = Json(backup.out);
  CHECK(report["file"] == file);
  CHECK(report["integrity_check"] == "ok");
  CHECK(report["links"].get<size_t>() >= before.size());
  CHECK(report["links"].get<size_t>() <= after_backup + 1);
  CHECK(report["bytes"].get<int64_t>() == std::filesystem::file_size(file));
  CHECK_FALSE(Exists(file + ".partial"));
  // Password hashes and token digests inside: only its owner reads it.
  struct stat mode {};
  REQUIRE(::stat(file.c_str(), &mode) == 0);
  CHECK((mode.st_mode & 0777) == 0600);
  // The daemon's temporary copy is gone.
  for (const auto& entry :
       std::filesystem::directory_iterator(a.dir / "data")) {
    CHECK(entry.path().filename().string().find(".backup-") ==
          std::string::npos);
  }
  Run check = RunProgram({"/usr/bin/sqlite3", file, "PRAGMA integrity_check"});
  CHECK(check.out == "ok\n");
  CHECK(a.d.Stop() == 0);

  // Restore as README says: the file at storage.path, no -wal or -shm.
  TempDir restored_dir;
  std::filesystem::create_directories(restored_dir / "data");
  std::filesystem::copy_file(file, restored_dir / "data/shorty.db");
  Daemon b(restored_dir);
  REQUIRE_MESSAGE(b.Start(), b.log());
  CHECK(LinkCount(b) == report["links"].get<int64_t>());
  auto http = b.Http();
  size_t served = 0;
  for (const std::string& slug : before) {
    auto res = http->Get(("/" + slug).c_str());
    REQUIRE(res);
    if (res->status == 302 &&
        res->get_header_value("Location") ==
            "https://example.com/w/" + slug.substr(1)) {
      ++served;
    }
  }
  CHECK(served == before.size());
  CHECK(b.Stop() == 0);
  check = RunProgram({"/usr/bin/sqlite3", restored_dir / "data/shorty.db",
                      "PRAGMA integrity_check"});
  CHECK(check.out == "ok\n");
}

TEST_CASE("backup, export and import need an admin token over HTTP") {
  Server s;
  REQUIRE(s.d.Shorty({"add", "https://example.com/", "--slug", "one"})
              .exit_code == 0);
  const std::string reader = MakeToken(s.d, "rey", "read");
  const std::string writer = MakeToken(s.d, "wes", "write");
  const std::string admin = MakeToken(s.d, "ada", "admin");
  WriteFile(s.dir / "in.jsonl",
            GolinkLine("two", "https://example.com/two"));
  for (const std::string& token : {reader, writer}) {
    CAPTURE(token.substr(0, 12));
    const std::string file = s.dir / "refused.db";
    Run backup = s.d.Shorty(
        {"--server", s.d.base_url(), "--token", token, "backup", file});
    CHECK(backup.exit_code == 4);
    CHECK(backup.err.find("needs admin") != std::string::npos);
    CHECK_FALSE(Exists(file));
    CHECK_FALSE(Exists(file + ".partial"));
    Run exported = s.d.Shorty(
        {"--server", s.d.base_url(), "--token", token, "export"});
    CHECK(exported.exit_code == 4);
    CHECK(exported.out.empty());
    Run imported = s.d.Shorty({"--server", s.d.base_url(), "--token", token,
                               "import", s.dir / "in.jsonl"});
    CHECK(imported.exit_code == 4);
    for (const char* path : {"/-/api/v1/backup", "/-/api/v1/export"}) {
      auto res = s.d.Http()->Get(path, {{"Authorization", "Bearer " + token}});
      REQUIRE(res);
      CHECK(res->status == 403);
      CHECK(res->get_header_value("Content-Type") == "application/json");
    }
  }
  auto res = s.d.Http()->Get("/-/api/v1/backup");
  REQUIRE(res);
  CHECK(res->status == 401);
  CHECK(LinkCount(s.d) == 1);

  const std::string file = s.dir / "admin.db";
  Run backup = s.d.Shorty(
      {"--server", s.d.base_url(), "--token", admin, "backup", file});
  INFO(backup.err);
  CHECK(backup.exit_code == 0);
  CHECK(backup.out.find("1 links, integrity_check ok") != std::string::npos);
  CHECK(Exists(file));
  Run imported = s.d.Shorty({"--server", s.d.base_url(), "--token", admin,
                             "--json", "import", s.dir / "in.jsonl"});
  CHECK(imported.exit_code == 0);
  CHECK(Json(imported.out)["imported"] == 1);
  // The import is recorded as the token's doing.
  Run history = s.d.Shorty({"--json", "history", "two"});
  json entries = Json(history.out);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["action"] == "import");
  CHECK(entries[0]["actor"] == "ada");
}

TEST_CASE("backup never overwrites a file") {
  Server s;
  const std::string file = s.dir / "taken.db";
  WriteFile(file, "precious");
  Run backup = s.d.Shorty({"backup", file});
  CHECK(backup.exit_code == 1);
  CHECK(backup.err == "shorty: " + file +
                          " already exists; remove it or choose another name "
                          "(a backup never overwrites a file)\n");
  CHECK(ReadFile(file) == "precious");
  CHECK_FALSE(Exists(file + ".partial"));
  // Nor a leftover .partial of another backup.
  const std::string other = s.dir / "other.db";
  WriteFile(other + ".partial", "someone else's");
  backup = s.d.Shorty({"backup", other});
  CHECK(backup.exit_code == 1);
  CHECK(backup.err.find(".partial exists") != std::string::npos);
  CHECK(ReadFile(other + ".partial") == "someone else's");
  CHECK_FALSE(Exists(other));
  // Into a directory that does not exist: a clear error, nothing left.
  backup = s.d.Shorty({"backup", s.dir / "no/such/dir/b.db"});
  CHECK(backup.exit_code == 1);
  CHECK(backup.err.find("cannot write") != std::string::npos);
}

TEST_CASE("import: 20,000 golink links, exactly, and nothing the second "
          "time") {
  Server s;
  constexpr int kLinks = 20000;
  std::string text;
  for (int i = 0; i < kLinks; ++i) {
    text += "{\"Short\":\"g" + std::to_string(i) +
            "\",\"Long\":\"https://example.com/g/" + std::to_string(i) +
            "\",\"Created\":\"2022-01-02T03:04:05Z\",\"LastEdit\":"
            "\"2022-02-03T04:05:06Z\",\"Owner\":\"owner" +
            std::to_string(i % 7) + "@example.com\",\"Clicks\":" +
            std::to_string(i % 13) + "}\n";
  }
  WriteFile(s.dir / "golink.jsonl", text);
  json first = Import(s.d, s.dir / "golink.jsonl");
  CHECK(first["format"] == "golink");
  CHECK(first["detected"] == true);
  CHECK(first["read"] == kLinks);
  CHECK(first["imported"] == kLinks);
  CHECK(first["renamed"] == 0);
  CHECK(first["already_present"] == 0);
  CHECK(first["skipped"] == 0);
  CHECK(first["skipped_links"].empty());
  CHECK(LinkCount(s.d) == kLinks);

  json link = ShowLink(s.d, "g12345");
  CHECK(link["target"] == "https://example.com/g/12345");
  CHECK(link["created_at"] == "2022-01-02T03:04:05Z");
  CHECK(link["updated_at"] == "2022-02-03T04:05:06Z");
  CHECK(link["created_by"] == "owner4@example.com");
  CHECK(link["visits"] == 12345 % 13);
  auto res = s.d.Http()->Get("/g19999");
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("Location") == "https://example.com/g/19999");
  json history = Json(s.d.Shorty({"--json", "history", "g7"}).out);
  REQUIRE(history.size() == 1);
  CHECK(history[0]["action"] == "import");
  CHECK(history[0]["actor"] == LocalUser());
  CHECK(history[0]["changes"]["target"] ==
        json::array({nullptr, "https://example.com/g/7"}));

  json second = Import(s.d, s.dir / "golink.jsonl");
  CHECK(second["imported"] == 0);
  CHECK(second["already_present"] == kLinks);
  CHECK(second["skipped"] == 0);
  CHECK(LinkCount(s.d) == kLinks);
  CHECK(Json(s.d.Shorty({"--json", "history", "g7"}).out).size() == 1);
}

TEST_CASE("import: hostile lines get their own reasons; the rest imports") {
  Server s;
  REQUIRE(s.d.Shorty({"add", "https://example.com/mine", "--slug", "taken"})
              .exit_code == 0);
  REQUIRE(s.d.Shorty({"add", "https://example.com/same", "--slug", "same"})
              .exit_code == 0);
  std::string text;
  text += GolinkLine("a", "https://example.com/a");                    // 1
  text += GolinkLine("js", "javascript:alert(1)");                     // 2
  text += "{\"Short\":\"big\",\"Long\":\"https://example.com/" +
          std::string(10 * 1024 * 1024, 'x') + "\"}\n";                // 3
  text += GolinkLine("Foo.Bar", "https://example.com/foo");            // 4
  text += GolinkLine("taken", "https://example.com/theirs");           // 5
  text += GolinkLine("SAME", "https://example.com/same");              // 6
  text += GolinkLine("...", "https://example.com/dots");               // 7
  text += std::string("{\"Short\":\"n\0l\"}\n", 16);                   // 8
  text += "{\"Short\":\"\xFF\xFE\",\"Long\":\"https://e.com/\"}\n";    // 9
  text += "not json at all\n";                                         // 10
  text += GolinkLine("loop", s.d.base_url() + "/a");                   // 11
  text += GolinkLine("z", "https://example.com/z", "\"Clicks\":5");    // 12
  text += GolinkLine("tpl", "https://e.com/{{.User}}");                // 13
  text += GolinkLine("foo-bar", "https://example.com/other");          // 14
  WriteFile(s.dir / "hostile.jsonl", text);

  json r = Import(s.d, s.dir / "hostile.jsonl");
  CHECK(r["read"] == 14);
  CHECK(r["imported"] == 3);
  CHECK(r["renamed"] == 1);
  CHECK(r["already_present"] == 1);
  CHECK(r["skipped"] == 10);
  REQUIRE(r["renamed_links"].size() == 1);
  CHECK(r["renamed_links"][0] ==
        json{{"line", 4}, {"slug", "Foo.Bar"}, {"to", "Foo-Bar"}});
  std::vector<std::pair<int, std::string>> want = {
      {2, "target: scheme 'javascript' is not allowed"},
      {3, "longer than 768 KiB; no link is that long"},
      {5, "slug taken: 'taken' already leads somewhere else"},
      {7, "slug: '...' cannot be made into a shorty slug"},
      {8, "holds a NUL byte"},
      {9, "not valid UTF-8"},
      {10, "not valid JSON"},
      {11, "target: "},
      {13, "Long: 'https://e.com/{{.User}}' is a golink template"},
      {14, "slug taken: 'foo-bar' already leads somewhere else"},
  };
  REQUIRE(r["skipped_links"].size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    const json& got = r["skipped_links"][i];
    CHECK(got["line"] == want[i].first);
    CHECK(got["reason"].get<std::string>().rfind(want[i].second, 0) == 0);
  }
  CHECK(ShowLink(s.d, "Foo-Bar")["target"] == "https://example.com/foo");
  CHECK(ShowLink(s.d, "z")["visits"] == 5);
  CHECK(ShowLink(s.d, "taken")["target"] == "https://example.com/mine");
  CHECK(LinkCount(s.d) == 5);

  // The human report lists the same, by line.
  Run human = s.d.Shorty({"import", s.dir / "hostile.jsonl"});
  CHECK(human.exit_code == 0);
  CHECK(human.err.find("looks like a golink export") != std::string::npos);
  CHECK(human.out.find("imported: 0\nalready present: 4\nskipped: 10\n") !=
        std::string::npos);
  CHECK(human.out.find("  line 2: target: scheme 'javascript'") !=
        std::string::npos);
  CHECK(human.out.find("  line 3: longer than 768 KiB") != std::string::npos);
}

TEST_CASE("import: Shlink CSV with a broken quote, YOURLS and Kutt") {
  Server s;
  SUBCASE("Shlink") {
    WriteFile(s.dir / "shlink.csv",
              "\xEF\xBB\xBF"
              "Long URL,Short Code,Title,Domain,Tags\r\n"
              "https://a.example/,sa,\"Title, with comma\",,work|Team Stuff\r\n"
              "https://b.example/,sb,\"never closed,,\r\n"
              "https://c.example/,sc,C,,\r\n"
              "https://d.example/,sd,\"Say \"\"hi\"\"\",d.example,\r\n");
    Run r = s.d.Shorty({"--json", "import", s.dir / "shlink.csv"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    json report = Json(r.out);
    CHECK(report["format"] == "shlink");
    CHECK(report["imported"] == 3);
    REQUIRE(report["skipped_links"].size() == 1);
    CHECK(report["skipped_links"][0]["line"] == 3);
    CHECK(report["skipped_links"][0]["reason"].get<std::string>().find(
              "never closed") != std::string::npos);
    json a = ShowLink(s.d, "sa");
    CHECK(a["title"] == "Title, with comma");
    CHECK(a["tags"] == json::array({"Team-Stuff", "work"}));
    CHECK(ShowLink(s.d, "sd")["title"] == "Say \"hi\"");
    CHECK(ShowLink(s.d, "sd")["note"] == "Shlink domain: d.example");
    CHECK(ShowLink(s.d, "sc")["target"] == "https://c.example/");
  }
  SUBCASE("YOURLS without a header") {
    WriteFile(s.dir / "yourls.csv",
              "ozh,http://ozh.org/,Ozh,2009-12-01 11:36:09,127.0.0.1,12\n"
              "\"sp ace\",https://s.example/,,2010-01-02 03:04:05,::1,3\n");
    json report = Import(s.d, s.dir / "yourls.csv");
    CHECK(report["format"] == "yourls");
    CHECK(report["imported"] == 2);
    CHECK(report["renamed_links"][0]["to"] == "sp-ace");
    json ozh = ShowLink(s.d, "ozh");
    CHECK(ozh["visits"] == 12);
    CHECK(ozh["title"] == "Ozh");
    CHECK(ozh["created_at"] == "2009-12-01T11:36:09Z");
  }
  SUBCASE("Kutt") {
    WriteFile(s.dir / "kutt.json",
              R"({"limit":10,"skip":0,"total":2,"data":[
  {"address":"k1","target":"https://k.example/1","description":"One",
   "visit_count":4,"created_at":"2024-01-02T03:04:05.000Z",
   "expire_in":"2031-01-01T00:00:00.000Z","password":false,"banned":false},
  {"address":"k2","target":"https://k.example/2","password":true}
]})");
    json report = Import(s.d, s.dir / "kutt.json");
    CHECK(report["format"] == "kutt");
    CHECK(report["imported"] == 1);
    REQUIRE(report["skipped_links"].size() == 1);
    CHECK(report["skipped_links"][0]["line"] == 5);
    json k1 = ShowLink(s.d, "k1");
    CHECK(k1["note"] == "One");
    CHECK(k1["visits"] == 4);
    CHECK(k1["expires_at"] == "2031-01-01T00:00:00Z");
  }
}

TEST_CASE("import: --dry-run stores nothing; an unknown file names the "
          "formats") {
  Server s;
  WriteFile(s.dir / "in.jsonl",
            GolinkLine("a", "https://example.com/a") +
                GolinkLine("A", "https://example.com/a") +
                GolinkLine("b", "ftp://example.com/b"));
  json dry = Import(s.d, s.dir / "in.jsonl", {"--dry-run"});
  CHECK(dry["dry_run"] == true);
  CHECK(dry["imported"] == 1);
  CHECK(dry["already_present"] == 1);
  CHECK(dry["skipped"] == 1);
  CHECK(LinkCount(s.d) == 0);
  Run human = s.d.Shorty({"import", "--dry-run", s.dir / "in.jsonl"});
  CHECK(human.out.find("would import: 1") != std::string::npos);
  CHECK(LinkCount(s.d) == 0);

  WriteFile(s.dir / "mystery.txt", "just some words\nand more\n");
  Run unknown = s.d.Shorty({"import", s.dir / "mystery.txt"});
  CHECK(unknown.exit_code == 1);
  for (const char* name :
       {"shorty export", "golink", "Shlink", "YOURLS", "Kutt", "--from"}) {
    CHECK(unknown.err.find(name) != std::string::npos);
  }
  Run missing = s.d.Shorty({"import", s.dir / "nope.jsonl"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("cannot read") != std::string::npos);
  // --from overrides recognition: a golink file read as Shlink CSV has no
  // header of Shlink's.
  Run forced = s.d.Shorty({"import", "--from", "shlink", s.dir / "in.jsonl"});
  CHECK(forced.exit_code == 1);
  CHECK(forced.err.find("\"Long URL\" and \"Short code\"") !=
        std::string::npos);
  CHECK(LinkCount(s.d) == 0);
}

TEST_CASE("export -> import into a new daemon reproduces every field") {
  Server a;
  const std::string password_file = a.dir / "pw";
  WriteFile(password_file, "correct horse battery\n");
  auto add = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "add");
    Run r = a.d.Shorty(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  add({"https://example.com/full?x=1", "--slug", "Full", "--title",
       "T \"quoted\" \xE2\x80\x94 title", "--note", "line one", "--tag",
       "b", "--tag", "a", "--status", "308", "--expires", "2031-05-06",
       "--max-visits", "50"});
  add({"https://example.com/locked", "--slug", "locked", "--password-file",
       password_file});
  add({"https://example.com/plain", "--slug", "plain"});
  add({"https://bücher.example/ü", "--slug", "idn"});
  REQUIRE(a.d.Shorty({"edit", "plain", "--disable"}).exit_code == 0);
  REQUIRE(a.d.Shorty({"edit", "Full", "--note", "line one\nline two"})
              .exit_code == 0);
  // Counted at once: the link has a visit limit.
  for (int i = 0; i < 3; ++i) {
    auto res = a.d.Http()->Get("/Full");
    REQUIRE(res);
    CHECK(res->status == 308);
  }
  const std::string exported = a.dir / "a.jsonl";
  const std::string with_history = a.dir / "a-history.jsonl";
  Run e = a.d.Shorty({"export", "--output", exported});
  REQUIRE_MESSAGE(e.exit_code == 0, e.err);
  CHECK(e.err == "shorty: exported 4 links to " + exported + "\n");
  REQUIRE(a.d.Shorty({"export", "--history", "-o", with_history}).exit_code ==
          0);
  Run to_stdout = a.d.Shorty({"export"});
  CHECK(to_stdout.exit_code == 0);
  const std::string text = ReadFile(exported);
  // The same but for the header's time.
  CHECK(to_stdout.out.substr(to_stdout.out.find('\n')) ==
        text.substr(text.find('\n')));
  CHECK(text.find("\"password_hash\":\"scrypt$") != std::string::npos);

  Server b;
  json report = Import(b.d, with_history);
  CHECK(report["format"] == "shorty");
  CHECK(report["imported"] == 4);
  CHECK(report["skipped"] == 0);
  Run again = b.d.Shorty({"export"});
  REQUIRE(again.exit_code == 0);
  // Every line after the header, byte for byte.
  CHECK(again.out.substr(again.out.find('\n')) ==
        text.substr(text.find('\n')));
  // History: the source's entries, then one import entry.
  Run b_history = b.d.Shorty({"export", "--history"});
  std::istringstream a_lines(ReadFile(with_history));
  std::istringstream b_lines(b_history.out);
  std::string a_line, b_line;
  std::getline(a_lines, a_line);
  std::getline(b_lines, b_line);
  int compared = 0;
  while (std::getline(a_lines, a_line) && std::getline(b_lines, b_line)) {
    json ja = Json(a_line), jb = Json(b_line);
    if (ja.contains("shorty_export_end")) {
      CHECK(ja == jb);
      break;
    }
    REQUIRE(jb["history"].size() == ja["history"].size() + 1);
    for (size_t i = 0; i < ja["history"].size(); ++i) {
      CHECK(jb["history"][i] == ja["history"][i]);
    }
    CHECK(jb["history"].back()["action"] == "import");
    ja.erase("history");
    jb.erase("history");
    CHECK(ja == jb);
    ++compared;
  }
  CHECK(compared == 4);
  // The password came along as its hash, and still opens the link.
  httplib::Params form = {{"password", "correct horse battery"}, {"rest", ""}};
  auto unlocked = b.d.Http()->Post("/-/unlock/locked", form);
  REQUIRE(unlocked);
  CHECK(unlocked->status == 302);
  CHECK(unlocked->get_header_value("Location") ==
        "https://example.com/locked");
  form = {{"password", "wrong password here"}, {"rest", ""}};
  auto refused = b.d.Http()->Post("/-/unlock/locked", form);
  REQUIRE(refused);
  CHECK(refused->status == 401);
  // Imported twice: nothing new.
  report = Import(b.d, exported);
  CHECK(report["already_present"] == 4);
  CHECK(report["imported"] == 0);
}

TEST_CASE("import: a daemon killed mid-import loses no batch by halves; the "
          "same import finishes the job") {
  Server s;
  constexpr int kLinks = 60000;
  std::string text;
  for (int i = 0; i < kLinks; ++i) {
    text += "{\"Short\":\"k" + std::to_string(i) +
            "\",\"Long\":\"https://example.com/k/" + std::to_string(i) +
            "\"}\n";
  }
  const std::string file = s.dir / "big.jsonl";
  WriteFile(file, text);
  Run cut;
  std::thread importer([&] { cut = s.d.Shorty({"--json", "import", file}); });
  // Kill the daemon once the first batch is in.
  auto http = s.d.Control();
  for (int waited = 0; waited < 20000; waited += 5) {
    auto res = http->Get("/-/api/v1/status");
    if (res && res->status == 200 && Json(res->body)["links"] > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.d.Kill();
  importer.join();
  REQUIRE(s.d.Start());
  const int64_t kept = LinkCount(s.d);
  if (cut.exit_code == 0) {
    // The import won the race; nothing to resume.
    CHECK(kept == kLinks);
    return;
  }
  CHECK(cut.exit_code == 3);
  CHECK(cut.err.find("the import stopped at lines ") != std::string::npos);
  CHECK(cut.err.find("Run the same import again") != std::string::npos);
  // Whole batches only.
  CHECK(kept > 0);
  CHECK(kept % 5000 == 0);
  json report = Import(s.d, file);
  CHECK(report["already_present"] == kept);
  CHECK(report["imported"] == kLinks - kept);
  CHECK(LinkCount(s.d) == kLinks);
}

TEST_CASE("import API: malformed batches are refused with the field named") {
  Server s;
  auto post = [&](const std::string& body) {
    auto res =
        s.d.Control()->Post("/-/api/v1/import", body, "application/json");
    REQUIRE(res);
    return std::make_pair(res->status, res->body);
  };
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  std::string too_many = "{\"links\":[";
  for (int i = 0; i < 5001; ++i) {
    too_many += std::string(i ? "," : "") + "{\"slug\":\"x\",\"target\":\"y\"}";
  }
  too_many += "]}";
  const std::vector<Case> cases = {
      {"not json", 400, "body: not valid JSON"},
      {"[]", 400, "body: expected a JSON object"},
      {"{}", 400, "links: required"},
      {"{\"links\":{}}", 400, "links: expected an array"},
      {"{\"links\":[1]}", 400, "links[0]: expected an object"},
      {"{\"links\":[{\"slug\":\"a\"}]}", 400,
       "links[0]: slug and target are required"},
      {"{\"links\":[{\"slug\":\"a\",\"target\":\"b\",\"visits\":\"x\"}]}",
       400, "links[0].visits: expected a whole number"},
      {"{\"links\":[{\"slug\":\"a\",\"target\":\"b\",\"evil\":1}]}", 400,
       "unknown field 'links[0].evil'"},
      {"{\"links\":[{\"slug\":\"a\",\"target\":\"b\",\"tags\":[1]}]}", 400,
       "links[0].tags: expected an array of strings"},
      {"{\"dry_run\":1,\"links\":[]}", 400, "dry_run: expected true or false"},
      {std::string(100, '[') + std::string(100, ']'), 400, "nested deeper"},
      {too_many, 413, "at most 5000 links"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 80));
    auto [status, body] = post(c.body);
    CHECK(status == c.status);
    CHECK(body.find(c.says) != std::string::npos);
  }
  auto [status, body] = post(
      "{\"links\":[{\"slug\":\"ok\",\"target\":\"https://e.com/\",\"history\":"
      "[{\"at\":1,\"action\":\"create\",\"changes\":{\"target\":[null,"
      "\"https://e.com/\"],\"n\":[1.5,true,null,{\"x\":[]}]}}]}]}");
  CHECK(status == 200);
  json answer = Json(body);
  CHECK(answer["outcomes"] == "i");
  json history = Json(s.d.Shorty({"--json", "history", "ok"}).out);
  REQUIRE(history.size() == 2);
  CHECK(history[0]["changes"]["n"] ==
        json::array({1.5, true, nullptr, {{"x", json::array()}}}));
  CHECK(LinkCount(s.d) == 1);
}

}  // namespace
}  // namespace shorty::test
