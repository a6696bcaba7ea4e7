// SqliteStore: runs the Store contract (tests/store_contract.cc) on SQLite,
// and checks what is SQLite's own: files, locks, damage, schema versions.
#include "shared/sqlite_store.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/store_contract.h"

namespace shorty {
namespace {

// A directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/shorty-store-test-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 ignored);
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace
}  // namespace shorty

std::shared_ptr<shorty::Store> MakeContractStore(bool case_sensitive) {
  auto dir = std::make_shared<shorty::TempDir>();
  shorty::SqliteOptions options;
  options.path = dir->File("links.db");
  options.case_sensitive = case_sensitive;
  shorty::Result<std::unique_ptr<shorty::SqliteStore>> opened =
      shorty::SqliteStore::Open(options);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  std::shared_ptr<shorty::SqliteStore> store = std::move(*opened);
  // The store is closed before its directory is removed.
  return std::shared_ptr<shorty::Store>(store.get(),
                                        [store, dir](shorty::Store*) mutable {
                                          store.reset();
                                          dir.reset();
                                        });
}

namespace shorty {
namespace {

constexpr UnixTime kNow = 1'750'000'000;

Result<std::unique_ptr<SqliteStore>> OpenAt(const std::string& path,
                                            bool case_sensitive = false,
                                            int readers = 4) {
  SqliteOptions options;
  options.path = path;
  options.case_sensitive = case_sensitive;
  options.readers = readers;
  return SqliteStore::Open(options);
}

std::unique_ptr<SqliteStore> MustOpen(const std::string& path,
                                      bool case_sensitive = false,
                                      int readers = 4) {
  Result<std::unique_ptr<SqliteStore>> store =
      OpenAt(path, case_sensitive, readers);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(*store);
}

Link NewLink(const std::string& slug, UnixTime created_at = kNow) {
  Link link;
  link.slug = slug;
  link.target = "https://example.com/" + slug;
  link.created_at = created_at;
  link.updated_at = created_at;
  return link;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes,
                std::streamoff offset = -1) {
  std::fstream out;
  if (offset < 0) {
    out.open(path, std::ios::binary | std::ios::out | std::ios::trunc);
  } else {
    out.open(path, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(offset);
  }
  REQUIRE(out.good());
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Runs SQL on a raw connection of its own, as another program would.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error != nullptr ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("sqlite: links survive closing and reopening") {
  TempDir dir;
  std::string path = dir.File("links.db");
  Link link = NewLink("Keep");
  link.title = "kept";
  link.tags = {"b", "a"};
  link.expires_at = kNow + 60;
  link.max_visits = 9;
  {
    auto store = MustOpen(path);
    REQUIRE(store->CreateLink(link).ok());
    REQUIRE(store->CreateLink(NewLink("gone")).ok());
    REQUIRE(store->DeleteLink("gone", kNow, "tester").ok());
    REQUIRE(store->AddVisits({{"keep", 4}}).ok());
    REQUIRE(*store->ConsumeLimitedVisit("keep"));
    Token token;
    token.name = "kept-token";
    token.id = "id-kept";
    token.secret_digest = std::string(32, '\x7f');
    token.scope = Scope::kAdmin;
    REQUIRE(store->CreateToken(token).ok());
    REQUIRE(store->RevokeToken("kept-token", kNow + 1).ok());
  }
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = MustOpen(path);
    Result<Link> got = store->GetLink("keep");
    REQUIRE(got.ok());
    CHECK(got->slug == "Keep");
    CHECK(got->title == "kept");
    CHECK(got->tags == std::vector<std::string>{"a", "b"});
    CHECK(got->expires_at == kNow + 60);
    CHECK(got->max_visits == 9);
    CHECK(got->visits == 5);
    CHECK(store->GetLink("gone").status().code() == Code::kNotFound);
    Result<std::vector<HistoryEntry>> history = store->LinkHistory("gone", 10);
    REQUIRE(history.ok());
    REQUIRE(history->size() == 2);
    CHECK((*history)[1].action == "delete");
    Result<Token> token = store->FindToken("id-kept");
    REQUIRE(token.ok());
    CHECK(token->scope == Scope::kAdmin);
    CHECK(token->secret_digest == std::string(32, '\x7f'));
    CHECK(token->revoked_at == kNow + 1);
    Result<StoreInfo> info = store->Info();
    REQUIRE(info.ok());
    CHECK(info->links == 1);
    CHECK(info->schema_version == 4);
    CHECK(info->backend == "sqlite");
  }
}

TEST_CASE("sqlite: HistoryAfter reads every slug's history, deleted too") {
  TempDir dir;
  auto store = MustOpen(dir.File("links.db"));
  REQUIRE(store->CreateLink(NewLink("Kept")).ok());
  REQUIRE(store->CreateLink(NewLink("gone")).ok());
  LinkPatch patch;
  patch.title = "new title";
  REQUIRE(store->UpdateLink("kept", patch, kNow + 1, "editor").ok());
  REQUIRE(store->DeleteLink("gone", kNow + 2, "remover").ok());

  Result<std::vector<HistoryEntry>> all = store->HistoryAfter(0, 1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 4);
  const char* slugs[] = {"Kept", "gone", "Kept", "gone"};
  const char* actions[] = {"create", "create", "edit", "delete"};
  for (size_t i = 0; i < all->size(); ++i) {
    CHECK((*all)[i].slug == slugs[i]);
    CHECK((*all)[i].action == actions[i]);
    if (i > 0) CHECK((*all)[i].seq > (*all)[i - 1].seq);
  }
  CHECK((*all)[3].actor == "remover");
  CHECK((*all)[3].at == kNow + 2);

  // Pages: after a seq, at most a limit; nothing after the last.
  Result<std::vector<HistoryEntry>> page =
      store->HistoryAfter((*all)[1].seq, 1);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 1);
  CHECK((*page)[0].seq == (*all)[2].seq);
  page = store->HistoryAfter((*all)[3].seq, 10);
  REQUIRE(page.ok());
  CHECK(page->empty());
}

TEST_CASE("sqlite: AppendHistory stores entries as given, links or not") {
  TempDir dir;
  auto store = MustOpen(dir.File("links.db"));
  HistoryEntry created;
  created.slug = "Old";
  created.at = kNow - 100;
  created.actor = "alice";
  created.action = "create";
  created.changes = R"({"target":[null,"https://example.com/"]})";
  HistoryEntry deleted = created;
  deleted.at = kNow - 50;
  deleted.actor = "bob";
  deleted.action = "delete";
  deleted.changes = R"({"target":["https://example.com/",null]})";
  REQUIRE(store->AppendHistory({created, deleted}).ok());

  Result<std::vector<HistoryEntry>> history = store->LinkHistory("old", 10);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].slug == "Old");
  CHECK((*history)[0].at == kNow - 100);
  CHECK((*history)[0].actor == "alice");
  CHECK((*history)[0].action == "create");
  CHECK((*history)[0].changes == created.changes);
  CHECK((*history)[1].actor == "bob");
  CHECK((*history)[1].action == "delete");
  CHECK(store->GetLink("old").status().code() == Code::kNotFound);

  // An entry without a slug stores nothing at all.
  HistoryEntry nameless = created;
  nameless.slug = "";
  Status refused = store->AppendHistory({created, nameless});
  CHECK(refused.code() == Code::kInvalidArgument);
  history = store->LinkHistory("old", 10);
  REQUIRE(history.ok());
  CHECK(history->size() == 2);
  CHECK(store->AppendHistory({}).ok());
}

TEST_CASE("sqlite: a second Open of the same database is refused") {
  TempDir dir;
  std::string path = dir.File("links.db");
  auto first = MustOpen(path);
  REQUIRE(first->CreateLink(NewLink("mine")).ok());

  Result<std::unique_ptr<SqliteStore>> second = OpenAt(path);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::kUnavailable);
  CHECK(Contains(second.status().message(), "already running"));
  CHECK(Contains(second.status().message(), path));
  // The refused Open did not disturb the running store.
  CHECK(first->GetLink("mine").ok());
  CHECK(first->CreateLink(NewLink("still-mine")).ok());

  first.reset();
  auto third = MustOpen(path);
  CHECK(third->GetLink("still-mine").ok());
}

TEST_CASE("sqlite: a file that is not a database is refused, untouched") {
  TempDir dir;
  std::string path = dir.File("links.db");
  for (const std::string& content :
       {std::string(8192, 'x'), std::string("short text\n"),
        std::string("SQLite format 3") /* header without its NUL */}) {
    std::string text = content;
    if (text.size() == 8192) {
      for (size_t i = 0; i < text.size(); i += 64) text[i] = '\n';
    }
    WriteBytes(path, text);
    for (int attempt = 0; attempt < 2; ++attempt) {
      Result<std::unique_ptr<SqliteStore>> store = OpenAt(path);
      REQUIRE_FALSE(store.ok());
      CHECK(store.status().code() == Code::kCorruption);
      CHECK(Contains(store.status().message(), path));
      CHECK(Contains(store.status().message(), "NOT modified"));
      CHECK(Contains(store.status().message(), "backup"));
      CHECK(ReadBytes(path) == text);
    }
  }
}

TEST_CASE("sqlite: a damaged database is refused, untouched") {
  TempDir dir;
  std::string path = dir.File("links.db");
  {
    auto store = MustOpen(path);
    for (int i = 0; i < 3000; ++i) {
      Link link = NewLink("link-" + std::to_string(i), kNow + i);
      link.title = "title of link number " + std::to_string(i);
      link.tags = {"tag" + std::to_string(i % 7)};
      REQUIRE(store->CreateLink(link).ok());
    }
  }
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  std::string intact = ReadBytes(path);
  REQUIRE(intact.size() > 20 * 4096);

  // Junk over one whole page in the middle of the file.
  std::streamoff middle =
      static_cast<std::streamoff>(intact.size() / 2 / 4096 * 4096);
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) {
    junk[i] = static_cast<char>("garbage!"[i % 8]);
  }
  WriteBytes(path, junk, middle);
  std::string damaged = ReadBytes(path);
  REQUIRE(damaged != intact);

  Result<std::unique_ptr<SqliteStore>> store = OpenAt(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kCorruption);
  CHECK(Contains(store.status().message(), path));
  CHECK(Contains(store.status().message(), "NOT modified"));
  CHECK(ReadBytes(path) == damaged);
}

TEST_CASE("sqlite: a schema newer than this build is refused, untouched") {
  TempDir dir;
  std::string path = dir.File("links.db");
  MustOpen(path).reset();
  RawExec(path, "PRAGMA user_version = 99");
  std::string before = ReadBytes(path);

  Result<std::unique_ptr<SqliteStore>> store = OpenAt(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kUnavailable);
  CHECK(Contains(store.status().message(),
                 "database schema version 99 is newer than this shortyd "
                 "understands (4); upgrade shorty"));
  CHECK(ReadBytes(path) == before);
}

TEST_CASE("sqlite: another program's SQLite database is refused, untouched") {
  TempDir dir;
  std::string path = dir.File("other.db");
  RawExec(path,
          "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('a')");
  std::string before = ReadBytes(path);
  Result<std::unique_ptr<SqliteStore>> store = OpenAt(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kCorruption);
  CHECK(Contains(store.status().message(), "another program"));
  CHECK(ReadBytes(path) == before);
}

TEST_CASE("sqlite: an empty file becomes a new database") {
  TempDir dir;
  std::string path = dir.File("links.db");
  WriteBytes(path, "");
  auto store = MustOpen(path);
  CHECK(store->CreateLink(NewLink("first")).ok());
}

TEST_CASE("sqlite: a missing directory is an IOError naming it") {
  TempDir dir;
  std::string missing = dir.File("no/such");
  Result<std::unique_ptr<SqliteStore>> store = OpenAt(missing + "/links.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kIOError);
  CHECK(Contains(store.status().message(), "'" + missing + "'"));
  CHECK(Contains(store.status().message(), "does not exist"));
  CHECK_FALSE(std::filesystem::exists(dir.File("no")));

  CHECK(OpenAt("").status().code() == Code::kInvalidArgument);
}

TEST_CASE("sqlite: read-only files and directories are IOErrors") {
  if (geteuid() == 0) {
    MESSAGE("skipped: root ignores file permissions");
    return;
  }
  TempDir dir;
  std::string path = dir.File("links.db");
  MustOpen(path).reset();

  REQUIRE(chmod(path.c_str(), 0444) == 0);
  Result<std::unique_ptr<SqliteStore>> store = OpenAt(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kIOError);
  CHECK(Contains(store.status().message(), "read-only"));
  REQUIRE(chmod(path.c_str(), 0644) == 0);

  TempDir ro;
  REQUIRE(chmod(ro.path().c_str(), 0555) == 0);
  store = OpenAt(ro.File("links.db"));
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Code::kIOError);
  CHECK(Contains(store.status().message(), ro.path()));
}

TEST_CASE("sqlite: the database is in WAL mode and marked as shorty's") {
  TempDir dir;
  std::string path = dir.File("links.db");
  auto store = MustOpen(path);
  REQUIRE(store->CreateLink(NewLink("wal")).ok());
  CHECK(RawQuery(path, "PRAGMA journal_mode") == "wal");
  CHECK(RawQuery(path, "PRAGMA user_version") == "4");
  CHECK(RawQuery(path, "PRAGMA application_id") == std::to_string(0x73686f72));
  CHECK(RawQuery(path, "SELECT slug_key FROM links") == "wal");
  CHECK(std::filesystem::exists(path + ".lock"));
}

TEST_CASE("sqlite: changing the case rule re-keys existing links") {
  TempDir dir;
  std::string path = dir.File("links.db");
  {
    auto store = MustOpen(path, /*case_sensitive=*/false);
    REQUIRE(store->CreateLink(NewLink("MixedCase")).ok());
  }
  {
    auto store = MustOpen(path, /*case_sensitive=*/true);
    CHECK(store->GetLink("MixedCase").ok());
    CHECK(store->GetLink("mixedcase").status().code() == Code::kNotFound);
    REQUIRE(store->CreateLink(NewLink("mixedcase")).ok());
  }
  std::string before = ReadBytes(path);
  // Back to insensitive would merge MixedCase and mixedcase: refused.
  Result<std::unique_ptr<SqliteStore>> merged = OpenAt(path, false);
  REQUIRE_FALSE(merged.ok());
  CHECK(merged.status().code() == Code::kInvalidArgument);
  CHECK(Contains(merged.status().message(), "'MixedCase'"));
  CHECK(Contains(merged.status().message(), "'mixedcase'"));
  CHECK(ReadBytes(path) == before);
  {
    auto store = MustOpen(path, true);
    REQUIRE(store->DeleteLink("mixedcase", kNow, "tester").ok());
  }
  auto store = MustOpen(path, false);
  CHECK(store->GetLink("MIXEDCASE")->slug == "MixedCase");
  CHECK(store->CreateLink(NewLink("mixedCASE")).status().code() ==
        Code::kAlreadyExists);
}

TEST_CASE("sqlite: changing the case rule re-keys history too") {
  TempDir dir;
  std::string path = dir.File("links.db");
  auto count = [](SqliteStore& store, const std::string& slug) {
    Result<std::vector<HistoryEntry>> history = store.LinkHistory(slug, 100);
    REQUIRE(history.ok());
    return history->size();
  };
  LinkPatch patch;
  patch.title = "edited";
  {
    auto store = MustOpen(path, /*case_sensitive=*/false);
    REQUIRE(store->CreateLink(NewLink("MixedCase")).ok());
    REQUIRE(store->UpdateLink("mixedcase", patch, kNow + 1, "bob").ok());
    REQUIRE(store->CreateLink(NewLink("GoneLink")).ok());
    REQUIRE(store->DeleteLink("gonelink", kNow + 2, "bob").ok());
  }
  {
    auto store = MustOpen(path, /*case_sensitive=*/true);
    CHECK(count(*store, "MixedCase") == 2);
    CHECK(count(*store, "mixedcase") == 0);
    // A deleted link's history follows its slug as well.
    CHECK(count(*store, "GoneLink") == 2);
    CHECK(count(*store, "gonelink") == 0);
    REQUIRE(store->CreateLink(NewLink("mixedcase")).ok());
    CHECK(count(*store, "mixedcase") == 1);
    CHECK(count(*store, "MixedCase") == 2);
    REQUIRE(store->DeleteLink("mixedcase", kNow + 3, "bob").ok());
  }
  // Back to case-insensitive: the two slugs' histories are one again, as
  // they would have been had the rule never changed.
  auto store = MustOpen(path, /*case_sensitive=*/false);
  Result<std::vector<HistoryEntry>> history =
      store->LinkHistory("MIXEDCASE", 100);
  REQUIRE(history.ok());
  std::vector<std::string> slugs;
  for (const HistoryEntry& entry : *history) slugs.push_back(entry.slug);
  CHECK(slugs == std::vector<std::string>{"MixedCase", "MixedCase", "mixedcase",
                                          "mixedcase"});
  CHECK(count(*store, "gonelink") == 2);
}

// The schema exactly as version 1 shipped it (kMigrations[0]), with what
// SqliteStore::Open of that version wrote besides.
constexpr char kVersion1Schema[] = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  slug TEXT NOT NULL,
  slug_key TEXT NOT NULL UNIQUE,
  target TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL DEFAULT 302,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  expires_at INTEGER,
  max_visits INTEGER,
  visits INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX links_by_created ON links (created_at, id);

CREATE TABLE link_tags (
  link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (link_id, tag)
) WITHOUT ROWID;
CREATE INDEX link_tags_by_tag ON link_tags (tag, link_id);

PRAGMA application_id = 1936224114;
PRAGMA user_version = 1;
PRAGMA journal_mode = WAL;
INSERT INTO meta (key, value) VALUES ('slug_case', 'insensitive');
)sql";

TEST_CASE(
    "sqlite: a version 1 database migrates to the newest, keeping links") {
  TempDir dir;
  std::string path = dir.File("links.db");
  RawExec(path, kVersion1Schema);
  RawExec(path, R"sql(
INSERT INTO links (slug, slug_key, target, title, status, created_at,
                   updated_at, created_by, expires_at, max_visits, visits)
VALUES ('OldLink', 'oldlink', 'https://old.example/', 'from v1', 301,
        1700000000, 1700000100, 'admin', 1800000000, 50, 7);
INSERT INTO link_tags (link_id, tag) VALUES (1, 'legacy'), (1, 'v1');
)sql");
  REQUIRE(RawQuery(path, "PRAGMA user_version") == "1");

  {
    auto store = MustOpen(path);
    Result<Link> link = store->GetLink("oldlink");
    REQUIRE(link.ok());
    CHECK(link->slug == "OldLink");
    CHECK(link->target == "https://old.example/");
    CHECK(link->title == "from v1");
    CHECK(link->status == 301);
    CHECK(link->created_at == 1700000000);
    CHECK(link->updated_at == 1700000100);
    CHECK(link->created_by == "admin");
    CHECK(link->expires_at == 1800000000);
    CHECK(link->max_visits == 50);
    CHECK(link->visits == 7);
    CHECK(link->tags == std::vector<std::string>{"legacy", "v1"});
    CHECK(store->Info()->schema_version == 4);

    // No history from before there was history, and no tokens.
    Result<std::vector<HistoryEntry>> history =
        store->LinkHistory("OldLink", 100);
    REQUIRE(history.ok());
    CHECK(history->empty());
    Result<std::vector<Token>> tokens = store->ListTokens();
    REQUIRE(tokens.ok());
    CHECK(tokens->empty());

    // From now on, changes are recorded.
    LinkPatch patch;
    patch.title = "from v2";
    REQUIRE(store->UpdateLink("OLDLINK", patch, kNow, "admin").ok());
    history = store->LinkHistory("oldlink", 100);
    REQUIRE(history.ok());
    REQUIRE(history->size() == 1);
    CHECK((*history)[0].action == "edit");
    CHECK((*history)[0].slug == "OldLink");
  }
  CHECK(RawQuery(path, "PRAGMA user_version") == "4");
  CHECK(RawQuery(path,
                 "SELECT count(*) FROM sqlite_schema WHERE name IN "
                 "('link_history', 'link_history_by_slug', 'tokens')") == "3");
  // History outlives links: no foreign key ties it to them.
  CHECK(RawQuery(path,
                 "SELECT count(*) FROM pragma_foreign_key_list("
                 "'link_history')") == "0");
  // Opening again migrates nothing more.
  auto store = MustOpen(path);
  CHECK(store->Info()->schema_version == 4);
  CHECK(store->LinkHistory("oldlink", 100)->size() == 1);
}

// What version 2 added to version 1 (kMigrations[1]), as it shipped.
constexpr char kVersion2Step[] = R"sql(
CREATE TABLE link_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  slug_key TEXT NOT NULL,
  slug TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  changes TEXT NOT NULL
);
CREATE INDEX link_history_by_slug ON link_history (slug_key, seq);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  secret_digest BLOB NOT NULL,
  scope INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  last_used_at INTEGER,
  expires_at INTEGER,
  revoked_at INTEGER
);
PRAGMA user_version = 2;
)sql";

TEST_CASE("sqlite: a version 2 database migrates to 3: no passwords, no keys") {
  TempDir dir;
  std::string path = dir.File("links.db");
  RawExec(path, kVersion1Schema);
  RawExec(path, kVersion2Step);
  RawExec(path, R"sql(
INSERT INTO links (slug, slug_key, target, created_at, updated_at)
VALUES ('Two', 'two', 'https://two.example/', 1700000000, 1700000000);
)sql");
  REQUIRE(RawQuery(path, "PRAGMA user_version") == "2");
  {
    auto store = MustOpen(path);
    CHECK(store->Info()->schema_version == 4);
    Result<Link> link = store->GetLink("two");
    REQUIRE(link.ok());
    CHECK(link->password_hash.empty());
    LinkPatch patch;
    patch.password_hash = std::string("scrypt$15$8$1$x$y");
    REQUIRE(store->UpdateLink("two", patch, kNow, "admin").ok());
    Result<CreatedLink> once = store->CreateLinkOnce(NewLink("three"), "k");
    REQUIRE(once.ok());
    CHECK_FALSE(once->replayed);
    CHECK(store->CreateLinkOnce(NewLink("four"), "k")->replayed);
  }
  CHECK(RawQuery(path, "PRAGMA user_version") == "4");
  CHECK(RawQuery(path, "SELECT password_hash FROM links WHERE slug = 'Two'") ==
        "scrypt$15$8$1$x$y");
  CHECK(RawQuery(path,
                 "SELECT count(*) FROM links WHERE password_hash IS "
                 "NULL") == "1");
  CHECK(RawQuery(path,
                 "SELECT link_slug FROM idempotency_keys WHERE key = "
                 "'k'") == "three");
}

TEST_CASE(
    "sqlite: a token with a scope this build does not know is Corruption") {
  TempDir dir;
  std::string path = dir.File("links.db");
  {
    auto store = MustOpen(path);
    Token token;
    token.name = "good";
    token.id = "id-good";
    token.secret_digest = std::string(32, 'x');
    REQUIRE(store->CreateToken(token).ok());
  }
  RawExec(path,
          "INSERT INTO tokens (id, name, secret_digest, scope, created_at, "
          "created_by) VALUES ('id-odd', 'odd', x'00', 9, 0, 'admin')");
  auto store = MustOpen(path);
  Result<Token> odd = store->FindToken("id-odd");
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.status().code() == Code::kCorruption);
  CHECK(Contains(odd.status().message(), "'odd'"));
  CHECK(Contains(odd.status().message(), "scope 9"));
  CHECK(store->ListTokens().status().code() == Code::kCorruption);
  CHECK(store->FindToken("id-good").ok());

  // Nor is an unknown scope written.
  Token bad;
  bad.name = "bad";
  bad.id = "id-bad";
  bad.scope = static_cast<Scope>(0);
  CHECK(store->CreateToken(bad).code() == Code::kInvalidArgument);
  CHECK(store->FindToken("id-bad").status().code() == Code::kNotFound);
}

TEST_CASE("sqlite: one reader connection serves many threads") {
  TempDir dir;
  auto store = MustOpen(dir.File("links.db"), false, /*readers=*/1);
  REQUIRE(store->CreateLink(NewLink("shared")).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!store->GetLink("shared").ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
}

TEST_CASE("sqlite: Ping fails while the database file is moved away") {
  TempDir dir;
  const std::string path = dir.File("links.db");
  auto store = MustOpen(path);
  REQUIRE(store->CreateLink(NewLink("kept")).ok());
  REQUIRE(store->Ping().ok());

  REQUIRE(::rename(path.c_str(), dir.File("moved.db").c_str()) == 0);
  Status moved = store->Ping();
  CHECK(moved.code() == Code::kUnavailable);
  CHECK(Contains(moved.message(), path));
  CHECK(Contains(moved.message(), "moved or deleted"));
  // Reads through the open file still work: only Ping notices.
  CHECK(store->GetLink("kept").ok());

  // Another file in its place is not the database that was opened.
  {
    std::ofstream other(path);
    other << "not the database";
  }
  Status replaced = store->Ping();
  CHECK(replaced.code() == Code::kUnavailable);
  CHECK(Contains(replaced.message(), "no longer the file"));

  REQUIRE(::rename(dir.File("moved.db").c_str(), path.c_str()) == 0);
  Status back = store->Ping();
  INFO(back.message());
  CHECK(back.ok());
}

// Part of the Store contract for stores that write backups (PostgreSQL is
// backed up with its own tools: its WriteBackup refuses).
TEST_CASE("sqlite: WriteBackup copies one moment while creates go on") {
  TempDir dir;
  auto store = MustOpen(dir.File("links.db"));
  for (int i = 0; i < 200; ++i) {
    REQUIRE(store->CreateLink(NewLink("pre" + std::to_string(i))).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      if (store->CreateLink(NewLink("during" + std::to_string(i))).ok()) {
        ++created;
      }
    }
  });
  const int64_t before = 200 + created;
  Result<StoreBackup> backup = store->WriteBackup();
  const int64_t after = 200 + created;
  stop = true;
  writer.join();
  INFO(backup.status().message());
  REQUIRE(backup.ok());
  CHECK(backup->links >= before);
  CHECK(backup->links <= after + 1);
  CHECK(backup->bytes > 0);
  struct stat st {};
  REQUIRE(::stat(backup->path.c_str(), &st) == 0);
  CHECK(st.st_size == backup->bytes);
  // A second backup is another file; the caller removes each.
  Result<StoreBackup> second = store->WriteBackup();
  REQUIRE(second.ok());
  CHECK(second->path != backup->path);
  CHECK(second->links == store->Info()->links);
  CHECK(::unlink(backup->path.c_str()) == 0);
  CHECK(::unlink(second->path.c_str()) == 0);
}

TEST_CASE("sqlite: a backup copy passes CheckBackup and opens as a store") {
  TempDir dir;
  const std::string db = dir.File("links.db");
  std::string copy;
  {
    auto store = MustOpen(db);
    for (int i = 0; i < 50; ++i) {
      REQUIRE(store->CreateLink(NewLink("s" + std::to_string(i))).ok());
    }
    Result<StoreBackup> backup = store->WriteBackup();
    INFO(backup.status().message());
    REQUIRE(backup.ok());
    CHECK(backup->links == 50);
    // Beside the database, named after it.
    CHECK(backup->path.rfind(db + ".backup-", 0) == 0);
    copy = backup->path;
    Result<SqliteStore::BackupCheck> check = SqliteStore::CheckBackup(copy);
    INFO(check.status().message());
    REQUIRE(check.ok());
    CHECK(check->links == 50);
    CHECK(check->schema_version >= 3);
    // Self-contained: no -wal or -shm beside it, before or after the check.
    CHECK_FALSE(std::filesystem::exists(copy + "-wal"));
    CHECK_FALSE(std::filesystem::exists(copy + "-shm"));
  }
  // Restored: the copy is a database a store opens, with every link.
  const std::string restored = dir.File("restored.db");
  std::filesystem::copy_file(copy, restored);
  {
    auto store = MustOpen(restored);
    CHECK(store->Info()->links == 50);
    CHECK(store->GetLink("S49").ok());
  }
  // A copy a killed daemon left behind goes when the database next opens.
  REQUIRE(std::filesystem::exists(copy));
  { auto store = MustOpen(db); }
  CHECK_FALSE(std::filesystem::exists(copy));
}

TEST_CASE("sqlite: CheckBackup refuses what is not a whole shorty backup") {
  TempDir dir;
  const std::string empty = dir.File("empty.db");
  { std::ofstream(empty).flush(); }
  Result<SqliteStore::BackupCheck> check = SqliteStore::CheckBackup(empty);
  REQUIRE_FALSE(check.ok());
  CHECK(check.status().code() == Code::kCorruption);

  const std::string text = dir.File("text.db");
  { std::ofstream(text) << "not a database at all, just some text here\n"; }
  check = SqliteStore::CheckBackup(text);
  REQUIRE_FALSE(check.ok());
  CHECK(check.status().code() == Code::kCorruption);

  const std::string other = dir.File("other.db");
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "CREATE TABLE t (x)", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  check = SqliteStore::CheckBackup(other);
  REQUIRE_FALSE(check.ok());
  CHECK(check.status().message().find("not shorty's") != std::string::npos);

  CHECK(SqliteStore::CheckBackup(dir.File("missing.db")).status().code() ==
        Code::kIOError);
}

}  // namespace
}  // namespace shorty
