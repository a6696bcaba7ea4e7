// ImportService over a real SqliteStore: the rules an import applies to
// each link, dry runs, and the JSON of the import API, written and read
// back. Fakes only at the edges: the clock, the random source, the ledger.
#include "shared/import_service.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "shared/history.h"
#include "shared/slug.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

constexpr UnixTime kNow = 1'700'000'000;

class Ledger : public VisitLedger {
 public:
  void Count(const std::string& key, UnixTime, const VisitTraits&,
             bool counted) override {
    if (!counted) ++pending[key];
  }
  int64_t Pending(const std::string& key) const override {
    auto it = pending.find(key);
    return it == pending.end() ? 0 : it->second;
  }
  std::map<std::string, int64_t> pending;
};

class NoRandom : public RandomSource {
 public:
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(i);
  }
};

struct Fixture {
  std::string dir;
  std::unique_ptr<SqliteStore> store;
  Ledger ledger;
  NoRandom random;
  std::unique_ptr<LinkService> links;
  std::unique_ptr<ImportService> imports;

  Fixture() {
    char name[] = "/tmp/shorty-import-test-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    dir = name;
    SqliteOptions options;
    options.path = dir + "/links.db";
    auto opened = SqliteStore::Open(options);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    ServiceOptions service;
    service.public_url = "https://go.example.com";
    service.rules.own_hosts = {"go.example.com"};
    service.default_status = 307;
    links = std::make_unique<LinkService>(store.get(), &ledger, &random,
                                          [] { return kNow; }, service);
    imports = std::make_unique<ImportService>(store.get(), links.get(),
                                              &ledger);
  }
  ~Fixture() {
    imports.reset();
    links.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::vector<ImportResult> Import(const std::vector<SourceLink>& batch,
                                   bool dry_run = false) {
    auto results = imports->Import(batch, "importer", dry_run);
    INFO(results.status().message());
    REQUIRE(results.ok());
    REQUIRE(results->size() == batch.size());
    return *results;
  }
};

SourceLink Source(const std::string& slug, const std::string& target) {
  SourceLink link;
  link.slug = slug;
  link.target = target;
  return link;
}

using Kind = ImportResult::Kind;

TEST_CASE("import service: defaults, cleaning and every skip reason") {
  Fixture f;
  std::vector<SourceLink> batch;
  batch.push_back(Source("plain", "HTTPS://Example.COM"));
  SourceLink messy = Source("messy", "https://example.com/m");
  messy.title = "tab\there\x01 and \xC2\x85 next line " +
                std::string(400, 'x') + "\xE2\x82\xAC";
  messy.note = "keeps\nnewlines\tand tabs\x7f";
  messy.tags = {"Team Stuff", "ok", "-lead", "ok", "!!!",
                std::string(60, 't')};
  messy.created_by = "owner\nname";
  messy.created_at = 100;
  batch.push_back(messy);
  SourceLink many = Source("many", "https://example.com/");
  for (int i = 0; i < 21; ++i) many.tags.push_back("t" + std::to_string(i));
  batch.push_back(many);
  SourceLink status = Source("status", "https://example.com/");
  status.status = 200;
  batch.push_back(status);
  SourceLink limit = Source("limit", "https://example.com/");
  limit.max_visits = 0;
  batch.push_back(limit);
  SourceLink visits = Source("visits", "https://example.com/");
  visits.visits = -1;
  batch.push_back(visits);
  SourceLink hash = Source("hash", "https://example.com/");
  hash.password_hash = "plaintext";
  batch.push_back(hash);
  SourceLink history = Source("hist", "https://example.com/");
  history.history.resize(1);
  history.history[0].action = "rename";
  history.history[0].changes = "{}";
  batch.push_back(history);
  batch.push_back(Source("loop", "https://go.example.com/x"));
  batch.push_back(Source("js", "javascript:alert(1)"));
  batch.push_back(Source("", "https://example.com/"));

  std::vector<ImportResult> r = f.Import(batch);
  CHECK(r[0].kind == Kind::kImported);
  CHECK(r[1].kind == Kind::kImported);
  const std::vector<std::string> reasons = {
      "tags: at most 20 tags a link; this one has 21",
      "status: 200 is not a redirect status; use 301, 302, 307 or 308",
      "max_visits: must be a whole number from 1 to 1000000000000",
      "visits: must not be negative",
      "password_hash: not a password hash shorty makes (scrypt$...)",
      "history: 'rename' is not a change shorty records",
  };
  for (size_t i = 0; i < reasons.size(); ++i) {
    CAPTURE(i);
    CHECK(r[2 + i].kind == Kind::kSkipped);
    CHECK(r[2 + i].reason == reasons[i]);
  }
  CHECK(r[8].reason.rfind("target: ", 0) == 0);
  CHECK(r[9].reason ==
        "target: scheme 'javascript' is not allowed; use http or https");
  CHECK(r[10].reason ==
        "slug: '' cannot be made into a shorty slug (letters, digits, '-' "
        "and '_', starting with a letter or digit)");

  Result<Link> plain = f.store->GetLink("plain");
  REQUIRE(plain.ok());
  CHECK(plain->target == "https://example.com/");
  CHECK(plain->status == 307);
  CHECK(plain->created_at == kNow);
  CHECK(plain->updated_at == kNow);
  CHECK(plain->created_by == "importer");
  Result<Link> m = f.store->GetLink("messy");
  REQUIRE(m.ok());
  CHECK(m->title.size() <= kMaxTitleBytes);
  CHECK(m->title.rfind("tab here  and   next line xxx", 0) == 0);
  CHECK(m->title.back() == 'x');  // the euro sign did not fit whole
  CHECK(m->note == "keeps\nnewlines\tand tabs ");
  CHECK(m->tags == std::vector<std::string>{"Team-Stuff", "lead", "ok",
                                            std::string(50, 't')});
  CHECK(m->created_by == "owner name");
  CHECK(m->created_at == 100);
  CHECK(m->updated_at == 100);
  CHECK(f.store->Info()->links == 2);
}

TEST_CASE("import service: renamed, present and taken, for real and dry") {
  Fixture f;
  Link mine;
  mine.slug = "mine";
  mine.target = "https://example.com/mine";
  mine.created_at = mine.updated_at = kNow;
  REQUIRE(f.store->CreateLink(mine).ok());
  const std::vector<SourceLink> batch = {
      Source("go/wiki", "https://example.com/wiki"),  // renamed
      Source("go-wiki", "https://example.com/wiki"),  // the same again
      Source("go.wiki", "https://example.com/else"),  // renamed, taken
      Source("MINE", "https://example.com/mine"),     // present
      Source("mine", "https://example.com/theirs"),   // taken
      Source("new", "https://example.com/new"),
      Source("NEW", "https://example.com/new2"),  // taken by the batch
  };
  for (bool dry : {true, false}) {
    CAPTURE(dry);
    std::vector<ImportResult> r = f.Import(batch, dry);
    CHECK(r[0].kind == Kind::kRenamed);
    CHECK(r[0].slug == "go-wiki");
    CHECK(r[1].kind == Kind::kAlreadyPresent);
    CHECK(r[2].kind == Kind::kSkipped);
    CHECK(r[2].reason ==
          "slug taken: 'go-wiki' (made from 'go.wiki') already leads "
          "somewhere else");
    CHECK(r[3].kind == Kind::kAlreadyPresent);
    CHECK(r[4].kind == Kind::kSkipped);
    CHECK(r[4].reason == "slug taken: 'mine' already leads somewhere else");
    CHECK(r[5].kind == Kind::kImported);
    CHECK(r[6].kind == Kind::kSkipped);
    CHECK(f.store->Info()->links == (dry ? 1 : 3));
  }
  std::vector<ImportResult> again = f.Import(batch);
  CHECK(again[0].kind == Kind::kAlreadyPresent);
  CHECK(again[5].kind == Kind::kAlreadyPresent);
  CHECK(f.store->Info()->links == 3);
}

TEST_CASE("import service: export pages add visits not yet flushed") {
  Fixture f;
  std::vector<ImportResult> r = f.Import(
      {Source("b", "https://e.com/b"), Source("A", "https://e.com/a")});
  REQUIRE(r[0].kind == Kind::kImported);
  f.ledger.pending[SlugKey("b", false)] = 4;
  Result<LinkPage> page = f.imports->ExportPage("", 10);
  REQUIRE(page.ok());
  REQUIRE(page->links.size() == 2);
  CHECK(page->links[0].slug == "A");
  CHECK(page->links[1].visits == 4);
  Result<std::vector<HistoryEntry>> history = f.imports->History("b");
  REQUIRE(history.ok());
  REQUIRE(history->size() == 1);
  CHECK((*history)[0].action == "import");
  CHECK((*history)[0].actor == "importer");
}

TEST_CASE("import API JSON: items round-trip every field") {
  SourceLink link;
  link.line = 42;
  link.slug = "s\"l\\ug";
  link.target = "https://example.com/\xC3\xA9?q=\"x\"";
  link.title = "tab\tnl\ncr\rnul\x01";
  link.note = "note";
  link.tags = {"a", "b c"};
  link.status = 301;
  link.created_at = 1;
  link.updated_at = 2;
  link.created_by = "ada";
  link.expires_at = -3;
  link.max_visits = 9;
  link.visits = 8;
  link.disabled = true;
  link.password_hash = "scrypt$x";
  link.history.resize(2);
  link.history[0].at = 5;
  link.history[0].actor = "bob";
  link.history[0].action = "create";
  link.history[0].changes = R"({"a":[null,{"b":[1,2.5,"c",true,null]}]})";
  link.history[1].at = 6;
  link.history[1].action = "edit";
  link.history[1].changes = "{}";
  SourceLink bare;
  bare.slug = "bare";
  bare.target = "https://e.com/";

  const std::string body =
      ImportBatchJson({ImportItemJson(link), ImportItemJson(bare)}, true);
  Result<ImportBatch> parsed = ParseImportBatch(body);
  INFO(parsed.status().message());
  REQUIRE(parsed.ok());
  CHECK(parsed->dry_run);
  REQUIRE(parsed->links.size() == 2);
  const SourceLink& got = parsed->links[0];
  CHECK(got.line == 42);
  CHECK(got.slug == link.slug);
  CHECK(got.target == link.target);
  CHECK(got.title == link.title);
  CHECK(got.note == link.note);
  CHECK(got.tags == link.tags);
  CHECK(got.status == 301);
  CHECK(got.created_at == 1);
  CHECK(got.updated_at == 2);
  CHECK(got.created_by == "ada");
  CHECK(got.expires_at == -3);
  CHECK(got.max_visits == 9);
  CHECK(got.visits == 8);
  CHECK(got.disabled);
  CHECK(got.password_hash == "scrypt$x");
  REQUIRE(got.history.size() == 2);
  CHECK(got.history[0].at == 5);
  CHECK(got.history[0].actor == "bob");
  CHECK(got.history[0].changes == link.history[0].changes);
  CHECK(got.history[1].changes == "{}");
  CHECK(got.history[1].actor.empty());
  const SourceLink& b = parsed->links[1];
  CHECK(b.slug == "bare");
  CHECK_FALSE(b.status.has_value());
  CHECK_FALSE(b.created_at.has_value());
  CHECK_FALSE(b.expires_at.has_value());
  CHECK(b.tags.empty());
  CHECK(b.history.empty());
  CHECK(ParseImportBatch(ImportBatchJson({}, false))->links.empty());
}

TEST_CASE("import API JSON: results round-trip; bad answers are refused") {
  std::vector<ImportResult> results(4);
  results[0].kind = Kind::kImported;
  results[1].kind = Kind::kRenamed;
  results[1].slug = "new-slug";
  results[2].kind = Kind::kAlreadyPresent;
  results[3].kind = Kind::kSkipped;
  results[3].reason = "target: \"bad\"";
  const std::string text = ImportResultsJson(results);
  CHECK(text.find("\"outcomes\":\"irps\"") != std::string::npos);
  CHECK(text.find("\"imported\":1") != std::string::npos);
  Result<std::vector<ImportResult>> back = ParseImportResults(text, 4);
  REQUIRE(back.ok());
  CHECK((*back)[1].kind == Kind::kRenamed);
  CHECK((*back)[1].slug == "new-slug");
  CHECK((*back)[2].kind == Kind::kAlreadyPresent);
  CHECK((*back)[3].reason == "target: \"bad\"");
  for (const std::string& bad :
       {std::string("nope"), std::string("{}"),
        std::string(R"({"outcomes":"ix","details":[]})"),
        std::string(R"({"outcomes":"iii","details":[]})"),
        std::string(R"({"outcomes":"ii","details":[{"index":7}]})")}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseImportResults(bad, 2).ok());
  }
}

}  // namespace
}  // namespace shorty
