// The import formats: recognising files, parsing each format a piece at a
// time, hostile bytes, slug cleaning and shorty's export lines.
#include "shared/import_formats.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace shorty {
namespace {

struct Parsed {
  std::vector<SourceLink> links;
  std::vector<ParseProblem> problems;
  Status status;
  int64_t lines = 0;
};

// Feeds `text` in pieces of `chunk` bytes (0: all at once).
Parsed Parse(ImportFormat format, const std::string& text, size_t chunk = 0) {
  ImportParser parser(format);
  Parsed out;
  auto take = [&] {
    for (auto& l : parser.TakeLinks()) out.links.push_back(std::move(l));
    for (auto& p : parser.TakeProblems()) out.problems.push_back(p);
  };
  if (chunk == 0) {
    parser.Feed(text);
  } else {
    for (size_t i = 0; i < text.size(); i += chunk) {
      parser.Feed(std::string_view(text).substr(i, chunk));
      take();
    }
  }
  parser.Finish();
  take();
  out.status = parser.status();
  out.lines = parser.lines();
  return out;
}

std::vector<std::string> Slugs(const Parsed& p) {
  std::vector<std::string> out;
  for (const auto& l : p.links) out.push_back(l.slug);
  return out;
}

std::vector<int64_t> ProblemLines(const Parsed& p) {
  std::vector<int64_t> out;
  for (const auto& x : p.problems) out.push_back(x.line);
  return out;
}

bool ProblemSays(const Parsed& p, size_t i, const std::string& text) {
  return i < p.problems.size() &&
         p.problems[i].message.find(text) != std::string::npos;
}

constexpr char kGolink[] =
    R"({"Short":"wiki","Long":"https://wiki.example.com/","Created":"2022-11-22T17:40:59.123456789Z","LastEdit":"2023-01-02T03:04:05-08:00","Owner":"ada@example.com"})"
    "\n"
    R"({"Short":"gh","Long":"https://github.com/{{.Path}}","Created":"2022-11-22T17:40:59Z","LastEdit":"0001-01-01T00:00:00Z","Owner":"","Clicks":42})"
    "\n";

TEST_CASE("import: formats are recognised from their first bytes") {
  struct Case {
    std::string head;
    ImportFormat want;
  };
  const Case cases[] = {
      {R"({"shorty_export":1,"shorty_version":"0.1.0"})"
       "\n",
       ImportFormat::kShorty},
      {kGolink, ImportFormat::kGolink},
      {"\xEF\xBB\xBF\r\n\r\n" + std::string(kGolink), ImportFormat::kGolink},
      {"Long URL,Short code,Title,Tags\r\nhttps://a.example/,a,,\r\n",
       ImportFormat::kShlink},
      {"long url;short code;domain\n", ImportFormat::kShlink},
      {"\"Long URL\",\"Short Code\"\n", ImportFormat::kShlink},
      {"keyword,url,title,timestamp,ip,clicks\n", ImportFormat::kYourls},
      {"ozh,http://ozh.org/,Ozh,2009-12-01 11:36:09,127.0.0.1,12\n",
       ImportFormat::kYourls},
      {R"({"limit":10,"skip":0,"total":1,"data":[{"address":"x"}]})",
       ImportFormat::kKutt},
      // Pretty-printed and cut off in the middle: still recognised.
      {"{\n  \"limit\": 10,\n  \"skip\": 0,\n  \"data\": [\n    {\"addr",
       ImportFormat::kKutt},
      {R"([{"address":"x","target":"https://a.example/"}])",
       ImportFormat::kKutt},
  };
  for (const Case& c : cases) {
    INFO(c.head);
    Result<ImportFormat> f = DetectImportFormat(c.head);
    REQUIRE(f.ok());
    CHECK(*f == c.want);
  }
}

TEST_CASE("import: an unknown format names every format tried") {
  for (std::string head :
       {std::string("hello world\n"), std::string("{\"a\":1}\n"),
        std::string("a,b,c\n"), std::string("[1,2,3]"),
        std::string("\x01\x02\x03")}) {
    INFO(head);
    Result<ImportFormat> f = DetectImportFormat(head);
    REQUIRE_FALSE(f.ok());
    const std::string& m = f.status().message();
    CHECK(m.find("shorty export") != std::string::npos);
    CHECK(m.find("golink") != std::string::npos);
    CHECK(m.find("Shlink") != std::string::npos);
    CHECK(m.find("YOURLS") != std::string::npos);
    CHECK(m.find("Kutt") != std::string::npos);
    CHECK(m.find("--from") != std::string::npos);
  }
  Result<ImportFormat> empty = DetectImportFormat("\xEF\xBB\xBF \n\n");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("empty") != std::string::npos);
}

TEST_CASE("import: --from names") {
  CHECK(*ParseImportFormat("golink") == ImportFormat::kGolink);
  CHECK(*ParseImportFormat("kutt") == ImportFormat::kKutt);
  CHECK(*ParseImportFormat("shorty") == ImportFormat::kShorty);
  CHECK(*ParseImportFormat("shlink") == ImportFormat::kShlink);
  CHECK(*ParseImportFormat("yourls") == ImportFormat::kYourls);
  Result<ImportFormat> bad = ParseImportFormat("bitly");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "--from: 'bitly' is not a format shorty reads; use shorty, golink, "
        "shlink, yourls or kutt");
}

TEST_CASE("import: golink export lines") {
  Parsed p = Parse(ImportFormat::kGolink, kGolink);
  REQUIRE(p.status.ok());
  CHECK(p.problems.empty());
  REQUIRE(p.links.size() == 2);
  const SourceLink& wiki = p.links[0];
  CHECK(wiki.line == 1);
  CHECK(wiki.slug == "wiki");
  CHECK(wiki.target == "https://wiki.example.com/");
  CHECK(wiki.created_at == 1669138859);  // fraction dropped
  CHECK(wiki.updated_at == 1672657445);  // -08:00 applied
  CHECK(wiki.created_by == "ada@example.com");
  CHECK(wiki.visits == 0);
  const SourceLink& gh = p.links[1];
  CHECK(gh.line == 2);
  CHECK(gh.target == "https://github.com/{path}");
  CHECK_FALSE(gh.updated_at.has_value());  // Go's zero time
  CHECK(gh.visits == 42);
}

TEST_CASE("import: bad golink lines are reported, the rest read") {
  const std::string text =
      R"({"Short":"a","Long":"https://a.example/"})"
      "\n"
      "not json\n"
      "[1,2]\n"
      R"({"Short":"b"})"
      "\n"
      R"({"Short":"c","Long":"https://c.example/{{if .Path}}x{{end}}"})"
      "\n"
      R"({"Short":7,"Long":"https://d.example/"})"
      "\n"
      R"({"Short":"e","Long":"https://e.example/","Created":"yesterday"})"
      "\n"
      R"({"Short":"f","Long":"https://f.example/","Clicks":1.5})"
      "\n" +
      std::string(100, '[') + "\n" +
      R"({"Short":"g","Long":"https://g.example/"})";  // no final newline
  Parsed p = Parse(ImportFormat::kGolink, text);
  CHECK(Slugs(p) == std::vector<std::string>{"a", "g"});
  CHECK(p.links[1].line == 10);
  CHECK(ProblemLines(p) == std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(ProblemSays(p, 0, "not valid JSON"));
  CHECK(ProblemSays(p, 1, "expected a JSON object"));
  CHECK(p.problems[2].message == "Long: missing; every link needs one");
  CHECK(ProblemSays(p, 3, "only {{.Path}} has a shorty equivalent"));
  CHECK(p.problems[4].message == "Short: expected a string");
  CHECK(ProblemSays(p, 5, "Created: 'yesterday' is not a date and time"));
  CHECK(p.problems[6].message == "Clicks: expected a whole number");
  CHECK(ProblemSays(p, 7, "deeper than 32"));
  CHECK(p.lines == 10);
}

TEST_CASE("import: feeding in pieces of any size gives the same result") {
  const std::string text = std::string(kGolink) +
                           "Long URL is not here\n" + std::string(kGolink);
  Parsed whole = Parse(ImportFormat::kGolink, text);
  for (size_t chunk : {1, 2, 3, 7, 64, 1000}) {
    INFO("chunk ", chunk);
    Parsed p = Parse(ImportFormat::kGolink, text, chunk);
    CHECK(Slugs(p) == Slugs(whole));
    CHECK(ProblemLines(p) == ProblemLines(whole));
  }
  CHECK(Slugs(whole) == std::vector<std::string>{"wiki", "gh", "wiki", "gh"});
  CHECK(ProblemLines(whole) == std::vector<int64_t>{3});
}

TEST_CASE("import: hostile bytes are reported by line") {
  std::string text;
  text += "\xEF\xBB\xBF";  // a byte order mark on line 1 is skipped
  text += R"({"Short":"a","Long":"https://a.example/"})" "\r\n";
  text += std::string("{\"Short\":\"b\0\",\"Long\":\"x\"}", 25) + "\n";
  text += "{\"Short\":\"\xC3\x28\",\"Long\":\"https://c.example/\"}\n";
  text += "{\"Short\":\"\xED\xA0\x80\",\"Long\":\"https://c.example/\"}\n";
  text += "{\"Short\":\"d\",\"Long\":\"https://d.example/" +
          std::string(10 * 1024 * 1024, 'x') + "\"}\r\n";
  text += R"({"Short":"e","Long":"https://e.example/"})" "\r\n";
  text += R"({"Short":"f\u0000","Long":"https://f.example/"})" "\n";
  for (size_t chunk : {size_t{0}, size_t{65536}}) {
    INFO("chunk ", chunk);
    Parsed p = Parse(ImportFormat::kGolink, text, chunk);
    REQUIRE(p.status.ok());
    // An escaped NUL is valid JSON: it is the slug and target rules' to
    // refuse, where the link is checked.
    CHECK(Slugs(p) ==
          std::vector<std::string>{"a", "e", std::string("f\0", 2)});
    CHECK(p.links[0].target == "https://a.example/");  // no \r
    CHECK(ProblemLines(p) == std::vector<int64_t>{2, 3, 4, 5});
    CHECK(p.problems[0].message == "holds a NUL byte; a text file has none");
    CHECK(p.problems[1].message == "not valid UTF-8; save the file as UTF-8");
    CHECK(p.problems[2].message == "not valid UTF-8; save the file as UTF-8");
    CHECK(p.problems[3].message == "longer than 768 KiB; no link is that long");
  }
}

TEST_CASE("import: shorty export lines round-trip every field") {
  Link link;
  link.slug = "Docs";
  link.target = "https://example.com/d?q=1";
  link.title = "Docs \xE2\x80\x94 \"quoted\"";
  link.note = "line one\nline two\ttab";
  link.tags = {"a", "team/x"};
  link.status = 308;
  link.created_at = 1700000000;
  link.updated_at = 1700000100;
  link.created_by = "ada";
  link.expires_at = 1800000000;
  link.max_visits = 10;
  link.visits = 3;
  link.disabled = true;
  link.password_hash = "scrypt$15$8$1$AAAA$BBBB";
  std::vector<HistoryEntry> history(2);
  history[0].at = 1700000000;
  history[0].actor = "ada";
  history[0].action = "create";
  history[0].changes = R"({"target":[null,"https://example.com/d?q=1"]})";
  history[1].at = 1700000100;
  history[1].actor = "bob";
  history[1].action = "disable";
  history[1].changes = R"({"disabled":[false,true]})";
  Link plain;
  plain.slug = "x";
  plain.target = "https://x.example/";
  plain.created_at = plain.updated_at = 5;

  const std::string text = ExportHeaderLine("0.1.0", 1700000200) +
                           ExportLinkLine(link, &history) +
                           ExportLinkLine(plain, nullptr) + ExportEndLine(2);
  CHECK(ExportHeaderLine("0.1.0", 1700000200) ==
        "{\"shorty_export\":1,\"shorty_version\":\"0.1.0\",\"exported_at\":"
        "\"2023-11-14T22:16:40Z\"}\n");
  CHECK(ExportEndLine(2) == "{\"shorty_export_end\":{\"links\":2}}\n");
  CHECK(ExportLinkLine(plain, nullptr) ==
        "{\"slug\":\"x\",\"target\":\"https://x.example/\",\"status\":302,"
        "\"title\":\"\",\"note\":\"\",\"tags\":[],\"created_at\":"
        "\"1970-01-01T00:00:05Z\",\"updated_at\":\"1970-01-01T00:00:05Z\","
        "\"created_by\":\"\",\"expires_at\":null,\"max_visits\":null,"
        "\"visits\":0,\"disabled\":false}\n");

  Parsed p = Parse(ImportFormat::kShorty, text);
  REQUIRE(p.status.ok());
  CHECK(p.problems.empty());
  REQUIRE(p.links.size() == 2);
  const SourceLink& s = p.links[0];
  CHECK(s.line == 2);
  CHECK(s.slug == link.slug);
  CHECK(s.target == link.target);
  CHECK(s.title == link.title);
  CHECK(s.note == link.note);
  CHECK(s.tags == link.tags);
  CHECK(s.status == 308);
  CHECK(s.created_at == link.created_at);
  CHECK(s.updated_at == link.updated_at);
  CHECK(s.created_by == "ada");
  CHECK(s.expires_at == link.expires_at);
  CHECK(s.max_visits == link.max_visits);
  CHECK(s.visits == 3);
  CHECK(s.disabled);
  CHECK(s.password_hash == link.password_hash);
  REQUIRE(s.history.size() == 2);
  CHECK(s.history[1].actor == "bob");
  CHECK(s.history[1].action == "disable");
  CHECK(s.history[1].at == 1700000100);
  CHECK(s.history[1].changes == history[1].changes);
  CHECK(s.history[0].changes == history[0].changes);
  CHECK(p.links[1].password_hash.empty());
  CHECK_FALSE(p.links[1].expires_at.has_value());
  CHECK_FALSE(p.links[1].max_visits.has_value());

  // Writing what was read gives the same line back.
  Link again;
  again.slug = s.slug;
  again.target = s.target;
  again.title = s.title;
  again.note = s.note;
  again.tags = s.tags;
  again.status = *s.status;
  again.created_at = *s.created_at;
  again.updated_at = *s.updated_at;
  again.created_by = s.created_by;
  again.expires_at = s.expires_at;
  again.max_visits = s.max_visits;
  again.visits = s.visits;
  again.disabled = s.disabled;
  again.password_hash = s.password_hash;
  CHECK(ExportLinkLine(again, &s.history) == ExportLinkLine(link, &history));
}

TEST_CASE("import: shorty exports are checked whole") {
  const std::string header = ExportHeaderLine("0.1.0", 0);
  const std::string line =
      R"({"slug":"a","target":"https://a.example/"})"
      "\n";
  SUBCASE("a newer version is refused") {
    Parsed p = Parse(ImportFormat::kShorty,
                     R"({"shorty_export":2})"
                     "\n" +
                         line);
    REQUIRE_FALSE(p.status.ok());
    CHECK(p.status.message() ==
          "line 1: shorty export version 2 is not one this shorty reads (1); "
          "upgrade shorty");
    CHECK(p.links.empty());
  }
  SUBCASE("no header is refused") {
    Parsed p = Parse(ImportFormat::kShorty, line);
    REQUIRE_FALSE(p.status.ok());
    CHECK(p.status.message().find("not a shorty export") != std::string::npos);
  }
  SUBCASE("a cut export is reported, what is there is read") {
    Parsed p = Parse(ImportFormat::kShorty, header + line + line);
    REQUIRE(p.status.ok());
    CHECK(p.links.size() == 2);
    CHECK(ProblemLines(p) == std::vector<int64_t>{3});
    CHECK(ProblemSays(p, 0, "no end line"));
  }
  SUBCASE("a count that does not match, and lines after the end") {
    Parsed p = Parse(ImportFormat::kShorty,
                     header + line + ExportEndLine(3) + line);
    CHECK(p.links.size() == 1);
    CHECK(ProblemLines(p) == std::vector<int64_t>{3, 4});
    CHECK(ProblemSays(p, 0, "says it holds 3 links but has 1"));
    CHECK(ProblemSays(p, 1, "after the export's end line"));
  }
  SUBCASE("bad fields") {
    Parsed p = Parse(
        ImportFormat::kShorty,
        header +
            R"({"slug":"a","target":"https://a/","tags":"x"})"
            "\n"
            R"({"slug":"b","target":"https://b/","disabled":"yes"})"
            "\n"
            R"({"slug":"c","target":"https://c/","history":[{"action":"edit","changes":{}}]})"
            "\n"
            R"({"slug":"d","target":"https://d/","history":[{"at":"2024-01-01T00:00:00Z","action":"edit","changes":"x"}]})"
            "\n"
            R"({"slug":"e","target":"https://e/","max_visits":null,"expires_at":null})"
            "\n" + ExportEndLine(5));
    CHECK(Slugs(p) == std::vector<std::string>{"e"});
    REQUIRE(p.problems.size() == 4);
    CHECK(p.problems[0].message == "tags: expected an array of strings");
    CHECK(p.problems[1].message == "disabled: expected true or false");
    CHECK(p.problems[2].message ==
          "history: at: missing; every change has a time");
    CHECK(p.problems[3].message == "history: changes: expected an object");
  }
}

TEST_CASE("import: Shlink CSV") {
  const std::string text =
      "Long URL,Short Code,Title,Domain,Tags\r\n"
      "https://a.example/,a,Plain,,one|two| three |\r\n"
      "\"https://b.example/?x=1,2\",b,\"Say \"\"hi\"\", world\",s.example,\r\n"
      "https://c.example/,c,\"Two\r\nlines\",,\r\n"
      "\r\n"
      "https://d.example/,d,\"unterminated,,\r\n"
      "https://e.example/,e,E,,\r\n"
      "https://f.example/,f,bad\"quote,,\r\n"
      "https://g.example/,g,\"x\"y,,\r\n"
      "https://h.example/,h\r\n"
      ",i,,,\r\n";
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{5}}) {
    INFO("chunk ", chunk);
    Parsed p = Parse(ImportFormat::kShlink, text, chunk);
    REQUIRE(p.status.ok());
    CHECK(Slugs(p) == std::vector<std::string>{"a", "b", "c", "e"});
    REQUIRE(p.links.size() == 4);
    CHECK(p.links[0].tags == std::vector<std::string>{"one", "two", "three"});
    CHECK(p.links[0].title == "Plain");
    CHECK(p.links[0].note.empty());
    CHECK(p.links[1].target == "https://b.example/?x=1,2");
    CHECK(p.links[1].title == "Say \"hi\", world");
    CHECK(p.links[1].note == "Shlink domain: s.example");
    CHECK(p.links[2].title == "Two\nlines");  // line breaks as read
    CHECK(p.links[2].line == 4);
    CHECK(p.links[3].line == 8);
    CHECK(ProblemLines(p) == std::vector<int64_t>{7, 9, 10, 11, 12});
    CHECK(ProblemSays(p, 0, "quoted field opened on this line is never"));
    CHECK(ProblemSays(p, 1, "a quote inside a field that is not quoted"));
    CHECK(ProblemSays(p, 2, "followed by text"));
    CHECK(p.problems[3].message == "CSV: 2 fields where the header has 5");
    CHECK(p.problems[4].message == "target: the URL column is empty");
  }
}

TEST_CASE("import: Shlink CSV with ';' and an unterminated quote at the end") {
  Parsed p = Parse(ImportFormat::kShlink,
                   "short code;long url\n"
                   "a;https://a.example/\n"
                   "b;\"https://b.example/\n"
                   "c;https://c.example/\n");
  CHECK(Slugs(p) == std::vector<std::string>{"a", "c"});
  CHECK(ProblemLines(p) == std::vector<int64_t>{3});
}

TEST_CASE("import: a CSV quote left open for 64 KiB is given up on") {
  std::string text = "Long URL,Short code\nhttps://a.example/,\"a\n";
  for (int i = 0; i < 2000; ++i) {
    text += "https://x.example/" + std::to_string(i) + ",x" +
            std::to_string(i) + "\n";
  }
  Parsed p = Parse(ImportFormat::kShlink, text);
  CHECK(p.links.size() == 2000);
  CHECK(ProblemLines(p) == std::vector<int64_t>{2});
  CHECK(p.links.front().line == 3);
  CHECK(p.links.back().slug == "x1999");
}

TEST_CASE("import: a CSV without its columns cannot be read") {
  Parsed p = Parse(ImportFormat::kShlink, "url,code\nhttps://a/,a\n");
  REQUIRE_FALSE(p.status.ok());
  CHECK(p.status.message().find("\"Long URL\" and \"Short code\"") !=
        std::string::npos);
  CHECK(p.links.empty());
}

TEST_CASE("import: YOURLS with and without a header") {
  const std::string rows =
      "ozh,http://ozh.org/,Ozh's blog,2009-12-01 11:36:09,127.0.0.1,12\n"
      "\"x y\",https://x.example/,,2010-01-02 03:04:05,::1,0\n"
      "bad,https://b.example/,,2010-13-02 03:04:05,::1,0\n"
      "n,https://n.example/,,2010-01-02 03:04:05,::1,many\n";
  for (bool header : {false, true}) {
    INFO("header ", header);
    Parsed p = Parse(ImportFormat::kYourls,
                     (header ? "keyword,url,title,timestamp,ip,clicks\n" : "") +
                         rows);
    REQUIRE(p.status.ok());
    CHECK(Slugs(p) == std::vector<std::string>{"ozh", "x y"});
    REQUIRE(p.links.size() == 2);
    CHECK(p.links[0].title == "Ozh's blog");
    CHECK(p.links[0].created_at == 1259667369);
    CHECK(p.links[0].updated_at == 1259667369);
    CHECK(p.links[0].visits == 12);
    CHECK(p.links[0].line == (header ? 2 : 1));
    const int64_t base = header ? 1 : 0;
    CHECK(ProblemLines(p) == std::vector<int64_t>{base + 3, base + 4});
    CHECK(ProblemSays(p, 0, "timestamp: '2010-13-02 03:04:05' is not a date"));
    CHECK(p.problems[1].message == "clicks: 'many' is not a whole number");
  }
}

TEST_CASE("import: Kutt API JSON") {
  const std::string text =
      "{\n"
      "  \"limit\": 10, \"skip\": 0, \"total\": 4,\n"
      "  \"data\": [\n"
      "    {\"id\": \"1\", \"address\": \"abc\", \"target\": "
      "\"https://a.example/\",\n"
      "     \"description\": \"A { brace\", \"visit_count\": 7, "
      "\"password\": false,\n"
      "     \"created_at\": \"2024-01-02T03:04:05.000Z\", \"expire_in\": "
      "\"2030-01-01T00:00:00.000Z\", \"banned\": false},\n"
      "    {\"address\": \"locked\", \"target\": \"https://l.example/\", "
      "\"password\": true},\n"
      "    {\"address\": \"ban\", \"target\": \"https://b.example/\", "
      "\"banned\": true, \"domain\": \"k.example\"},\n"
      "    \"junk\"\n"
      "  ]\n"
      "}\n"
      "[{\"address\": \"p2\", \"target\": \"https://p2.example/\", "
      "\"expire_in\": null}]\n";
  for (size_t chunk : {size_t{0}, size_t{3}}) {
    INFO("chunk ", chunk);
    Parsed p = Parse(ImportFormat::kKutt, text, chunk);
    REQUIRE(p.status.ok());
    CHECK(Slugs(p) == std::vector<std::string>{"abc", "ban", "p2"});
    REQUIRE(p.links.size() == 3);
    CHECK(p.links[0].line == 4);
    CHECK(p.links[0].note == "A { brace");
    CHECK(p.links[0].visits == 7);
    CHECK(p.links[0].created_at == 1704164645);
    CHECK(p.links[0].expires_at == 1893456000);
    CHECK_FALSE(p.links[0].disabled);
    CHECK(p.links[1].disabled);
    CHECK(p.links[1].note == "Kutt domain: k.example");
    CHECK(p.links[1].line == 8);
    CHECK(p.links[2].line == 12);
    CHECK_FALSE(p.links[2].expires_at.has_value());
    CHECK(ProblemLines(p) == std::vector<int64_t>{7, 9});
    CHECK(ProblemSays(p, 0, "password-protected in Kutt"));
    CHECK(p.problems[1].message == "data: expected each link to be an object");
  }
}

TEST_CASE("import: broken Kutt documents") {
  Parsed p = Parse(ImportFormat::kKutt,
                   "{\"data\": {}}\n"
                   "garbage\n"
                   "{\"data\": [1,}\n"
                   "{\"data\": [");
  CHECK(p.links.empty());
  CHECK(ProblemLines(p) == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(ProblemSays(p, 0, "data: expected an array"));
  CHECK(ProblemSays(p, 1, "expected Kutt's JSON"));
  CHECK(ProblemSays(p, 2, "not valid JSON"));
  CHECK(ProblemSays(p, 3, "never ends"));
}

TEST_CASE("import: slugs are cleaned to shorty's rules") {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  };
  const Case cases[] = {
      {"wiki", "wiki"},
      {"Wiki_2-x", "Wiki_2-x"},
      {"abc-", "abc-"},
      {"foo.bar", "foo-bar"},
      {"foo/bar/baz", "foo-bar-baz"},
      {"a  b", "a-b"},
      {"-lead", "lead"},
      {"__x", "x"},
      {"x.", "x"},
      {"caf\xC3\xA9", "caf"},
      {"\xC3\xA9t\xC3\xA9", "t"},
      {"x y", "x-y"},
      {std::string(70, 'a'), std::string(64, 'a')},
      {std::string(63, 'a') + ".b", std::string(63, 'a')},
      {"...", std::nullopt},
      {"", std::nullopt},
      {"-_-", std::nullopt},
      {std::string("a\0b", 3), "a-b"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    CHECK(CleanSlug(c.in) == c.out);
  }
}

}  // namespace
}  // namespace shorty
