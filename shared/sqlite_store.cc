#include "shared/sqlite_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "shared/history.h"
#include "shared/import_formats.h"
#include "shared/slug.h"
#include "shared/store_rows.h"
#include "shared/timeparse.h"

namespace shorty {

namespace {

using store_rows::ContainsPattern;
using store_rows::MakeCursor;
using store_rows::NotFound;
using store_rows::ParseCanonicalInt;
using store_rows::ParseCursor;
using store_rows::SortedUnique;
using store_rows::UnpackTags;
using store_rows::ValidScope;

// PRAGMA application_id ("shor"): marks the file as shorty's, so Open never
// migrates another program's SQLite database into ours.
constexpr int32_t kApplicationId = 0x73686f72;
constexpr int kBusyTimeoutMs = 5000;
constexpr int kMaxReaders = 64;
// ListQuery.limit and LinkHistory's limit outside 1..kMaxListLimit are
// clamped silently: the service validates what users send; the store only
// protects itself.
constexpr int kMaxListLimit = 1000;

// Schema steps, applied in order in their own transactions: step i brings
// PRAGMA user_version from i to i+1. Never edit a step that has shipped;
// append one.
struct Migration {
  const char* what;
  const char* sql;
};

// AUTOINCREMENT: a link id is never reused, so nothing that refers to a
// deleted link's id can ever attach to a new one.
constexpr Migration kMigrations[] = {
    {"links and tags", R"sql(
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
)sql"},
    // History is keyed by the folded slug, not by link id and without a
    // foreign key: it outlives the link, and a later link of the same slug
    // continues it. seq orders changes across all links.
    {"link history and tokens", R"sql(
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
)sql"},
    // A password hash per link (NULL: none), and the idempotency keys of
    // recent creates. A key names the slug it created, not a row id: it
    // outlives neither the link nor a day.
    {"link passwords and idempotency keys", R"sql(
ALTER TABLE links ADD COLUMN password_hash TEXT;

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  link_slug TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
)sql"},
    // Visits by hour (rolled up by day once old), one row per dimension
    // value, so a link's rows grow with the values seen, not with visits.
    // Keyed by link id: a deleted link's buckets go with it, and a later
    // link of the same slug starts from none.
    {"visit buckets", R"sql(
CREATE TABLE visit_buckets (
  link_id INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
  start INTEGER NOT NULL,
  dimension TEXT NOT NULL,
  value TEXT NOT NULL,
  bot INTEGER NOT NULL,
  visits INTEGER NOT NULL,
  PRIMARY KEY (link_id, start, dimension, value, bot)
) WITHOUT ROWID;
CREATE INDEX visit_buckets_by_start ON visit_buckets (start);
)sql"},
};
constexpr int kSchemaVersion =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// The columns ReadLink expects, in order. Tags come packed into one column
// as "<bytes>:<tag>" repeated, so that a link is one row of one statement
// (one implicit read transaction, no second query per link).
#define SHORTY_LINK_COLUMNS                                                 \
  "slug, target, title, note, status, created_at, updated_at, created_by, " \
  "expires_at, max_visits, visits, disabled, "                              \
  "(SELECT group_concat(length(CAST(tag AS BLOB)) || ':' || tag, '') "      \
  "FROM link_tags WHERE link_id = links.id), id, password_hash "

constexpr char kGetLinkSql[] =
    "SELECT " SHORTY_LINK_COLUMNS "FROM links WHERE slug_key = ?1";

// Keyset pagination over the (created_at, id) index, newest first. A NULL
// pattern or tag means "no filter"; ?3 true shows inactive links too.
constexpr char kListLinksSql[] = "SELECT " SHORTY_LINK_COLUMNS R"sql(
FROM links
WHERE (created_at, id) < (?5, ?6)
  AND (?1 IS NULL OR slug LIKE ?1 ESCAPE '\' OR target LIKE ?1 ESCAPE '\'
       OR title LIKE ?1 ESCAPE '\' OR note LIKE ?1 ESCAPE '\')
  AND (?2 IS NULL OR EXISTS (SELECT 1 FROM link_tags
                             WHERE link_id = links.id AND tag = ?2))
  AND (?3 OR (disabled = 0
              AND (expires_at IS NULL OR expires_at > ?4)
              AND (max_visits IS NULL OR visits < max_visits)))
ORDER BY created_at DESC, id DESC
LIMIT ?7)sql";

// Every link by folded slug, after ?1, for exports.
constexpr char kListAllLinksSql[] = "SELECT " SHORTY_LINK_COLUMNS
                                    "FROM links WHERE slug_key > ?1 "
                                    "ORDER BY slug_key LIMIT ?2";

#undef SHORTY_LINK_COLUMNS

// An imported link goes in only where its folded slug is free; where it is
// taken, the stored target tells "already present" from "slug taken".
constexpr char kImportLinkSql[] = R"sql(
INSERT INTO links (slug, slug_key, target, title, note, status, created_at,
                   updated_at, created_by, expires_at, max_visits, visits,
                   disabled, password_hash)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (slug_key) DO NOTHING)sql";
constexpr char kStoredTargetSql[] =
    "SELECT target FROM links WHERE slug_key = ?1";

constexpr char kInsertLinkSql[] = R"sql(
INSERT INTO links (slug, slug_key, target, title, note, status, created_at,
                   updated_at, created_by, expires_at, max_visits, visits,
                   disabled, password_hash)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14))sql";

// Each odd parameter says whether the following one replaces the column.
constexpr char kUpdateLinkSql[] = R"sql(
UPDATE links SET
  target = CASE WHEN ?1 THEN ?2 ELSE target END,
  title = CASE WHEN ?3 THEN ?4 ELSE title END,
  note = CASE WHEN ?5 THEN ?6 ELSE note END,
  status = CASE WHEN ?7 THEN ?8 ELSE status END,
  expires_at = CASE WHEN ?9 THEN ?10 ELSE expires_at END,
  max_visits = CASE WHEN ?11 THEN ?12 ELSE max_visits END,
  disabled = CASE WHEN ?13 THEN ?14 ELSE disabled END,
  password_hash = CASE WHEN ?17 THEN ?18 ELSE password_hash END,
  updated_at = ?15
WHERE id = ?16)sql";

constexpr char kDeleteTagsSql[] = "DELETE FROM link_tags WHERE link_id = ?1";
constexpr char kInsertTagSql[] =
    "INSERT INTO link_tags (link_id, tag) VALUES (?1, ?2)";
constexpr char kDeleteLinkSql[] = "DELETE FROM links WHERE id = ?1";
constexpr char kAddVisitsSql[] =
    "UPDATE links SET visits = visits + ?1 WHERE slug_key = ?2 RETURNING id";
constexpr char kLinkIdSql[] = "SELECT id FROM links WHERE slug_key = ?1";
constexpr char kAddBucketSql[] = R"sql(
INSERT INTO visit_buckets (link_id, start, dimension, value, bot, visits)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT DO UPDATE SET visits = visits + excluded.visits)sql";
constexpr char kLinkVisitsSql[] = R"sql(
SELECT start, dimension, value, bot, visits FROM visit_buckets
WHERE link_id = ?1 AND start >= ?2)sql";
// Hourly buckets are those not on a day boundary; the one at 00:00 is
// already where its day's roll-up goes.
constexpr char kRollUpSql[] = R"sql(
INSERT INTO visit_buckets (link_id, start, dimension, value, bot, visits)
SELECT link_id, start - start % 86400, dimension, value, bot, sum(visits)
FROM visit_buckets WHERE start < ?1 AND start % 86400 != 0
GROUP BY link_id, start - start % 86400, dimension, value, bot
ON CONFLICT DO UPDATE SET visits = visits + excluded.visits)sql";
constexpr char kDropRolledUpSql[] =
    "DELETE FROM visit_buckets WHERE start < ?1 AND start % 86400 != 0";
constexpr char kConsumeVisitSql[] = R"sql(
UPDATE links SET visits = visits + 1
WHERE slug_key = ?1 AND (max_visits IS NULL OR visits < max_visits))sql";
constexpr char kLinkExistsSql[] = "SELECT 1 FROM links WHERE slug_key = ?1";
constexpr char kCountLinksSql[] = "SELECT count(*) FROM links";
// A read that touches a real table but no more than its first page.
constexpr char kPingSql[] = "SELECT count(*) FROM (SELECT 1 FROM meta LIMIT 1)";

constexpr char kPurgeKeysSql[] =
    "DELETE FROM idempotency_keys WHERE created_at < ?1";
constexpr char kFindKeySql[] =
    "SELECT link_slug, created_at FROM idempotency_keys WHERE key = ?1";
constexpr char kInsertKeySql[] =
    "INSERT INTO idempotency_keys (key, link_slug, created_at) "
    "VALUES (?1, ?2, ?3)";

constexpr char kInsertHistorySql[] = R"sql(
INSERT INTO link_history (slug_key, slug, at, actor, action, changes)
VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql";

// The newest ?2 entries of a slug, returned oldest first.
constexpr char kLinkHistorySql[] = R"sql(
SELECT seq, slug, at, actor, action, changes FROM (
  SELECT * FROM link_history WHERE slug_key = ?1 ORDER BY seq DESC LIMIT ?2)
ORDER BY seq)sql";

// Every slug's history after ?1, for copying a whole store.
constexpr char kHistoryAfterSql[] = R"sql(
SELECT seq, slug, at, actor, action, changes FROM link_history
WHERE seq > ?1 ORDER BY seq LIMIT ?2)sql";

#define SHORTY_TOKEN_COLUMNS                                 \
  "name, id, secret_digest, scope, created_at, created_by, " \
  "last_used_at, expires_at, revoked_at "

constexpr char kInsertTokenSql[] = "INSERT INTO tokens (" SHORTY_TOKEN_COLUMNS
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                                   "?9)";
constexpr char kFindTokenSql[] =
    "SELECT " SHORTY_TOKEN_COLUMNS "FROM tokens WHERE id = ?1";
constexpr char kListTokensSql[] =
    "SELECT " SHORTY_TOKEN_COLUMNS "FROM tokens ORDER BY name";

#undef SHORTY_TOKEN_COLUMNS

constexpr char kTokenNameTakenSql[] = "SELECT 1 FROM tokens WHERE name = ?1";
// coalesce: revoking again keeps the first time.
constexpr char kRevokeTokenSql[] =
    "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1";
constexpr char kTouchTokenSql[] =
    "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1";

std::string ErrnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A prepared statement borrowed from a connection's cache; reset and
// unbound when it goes out of scope. A failure to prepare or bind is kept
// and returned by Step, so call sites check one result code.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, int rc) : stmt_(stmt), rc_(rc) {}
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), rc_(other.rc_) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void Bind(int i, std::string_view text) {
    // A null data pointer would bind SQL NULL instead of ''.
    const char* data = text.data() != nullptr ? text.data() : "";
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text64(stmt_, i, data, text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8);
    }
  }
  // As Bind, without copying: `text` must outlive the statement's use.
  void BindStatic(int i, std::string_view text) {
    const char* data = text.data() != nullptr ? text.data() : "";
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text64(stmt_, i, data, text.size(), SQLITE_STATIC,
                                SQLITE_UTF8);
    }
  }
  void Bind(int i, int64_t value) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, i, value);
  }
  void BindBlob(int i, std::string_view bytes) {
    // As for text: a null pointer would bind NULL instead of an empty blob.
    const char* data = bytes.data() != nullptr ? bytes.data() : "";
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_blob64(stmt_, i, data, bytes.size(), SQLITE_TRANSIENT);
    }
  }
  // "" binds NULL: for columns where NULL means "none".
  void BindOrNull(int i, std::string_view text) {
    if (!text.empty()) {
      Bind(i, text);
    } else if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_null(stmt_, i);
    }
  }
  void Bind(int i, const std::optional<int64_t>& value) {
    if (value) {
      Bind(i, *value);
    } else if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_null(stmt_, i);
    }
  }

  // SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int Step() { return rc_ != SQLITE_OK ? rc_ : sqlite3_step(stmt_); }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<int64_t> OptionalInt(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return Int(column);
  }
  std::string Blob(int column) const {
    const void* blob = sqlite3_column_blob(stmt_, column);
    if (blob == nullptr) return std::string();
    return std::string(
        static_cast<const char*>(blob),
        static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return std::string();
    return std::string(
        reinterpret_cast<const char*>(text),
        static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  sqlite3_stmt* stmt_;
  int rc_;
};

}  // namespace

// One sqlite3 handle and its prepared statements. Used by one thread at a
// time (the writer under writer_mu_, a reader while leased), so the handle
// is opened with SQLITE_OPEN_NOMUTEX.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() {
    for (auto& entry : statements_) sqlite3_finalize(entry.second);
    sqlite3_close(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sqlite3* db() const { return db_; }

  // The cached statement for `sql`, prepared on first use.
  Statement Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return Statement(it->second, SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Statement(nullptr, rc);
    }
    statements_.emplace(sql, stmt);
    return Statement(stmt, SQLITE_OK);
  }

  // Runs a statement without parameters that returns no rows we need.
  int Run(const char* sql) {
    Statement stmt = Prepare(sql);
    int rc;
    while ((rc = stmt.Step()) == SQLITE_ROW) {
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }

  // The writer watches its -wal file: from now on, a commit finding it
  // gone or replaced is copied into the database file before it counts.
  void WatchWal(const std::string& wal_path) {
    wal_path_ = wal_path;
    struct stat st {};
    wal_ino_ = ::stat(wal_path.c_str(), &st) == 0 ? st.st_ino : 0;
  }

  // Called after each COMMIT of the writer. SQLite goes on appending to a
  // -wal file that was deleted behind its back, and a crash would then
  // take every change in it along; so, when the file is gone, the WAL is
  // checkpointed into the database file, and a change that cannot be is
  // reported as failed, never acknowledged.
  int EnsureWalKept() {
    if (wal_path_.empty()) return SQLITE_OK;
    struct stat st {};
    bool present = ::stat(wal_path_.c_str(), &st) == 0;
    if (present && wal_ino_ == 0) wal_ino_ = st.st_ino;
    if (present && st.st_ino == wal_ino_) return SQLITE_OK;
    if (!wal_lost_reported_) {
      wal_lost_reported_ = true;
      std::fprintf(stderr,
                   "shortyd: %s was deleted or replaced while in use; every "
                   "change is now copied into the database file before it is "
                   "acknowledged, and reads may fail: restart shortyd\n",
                   wal_path_.c_str());
    }
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_FULL,
                                       &log, &done);
    if (rc != SQLITE_OK) return rc;
    return log == done ? SQLITE_OK : SQLITE_IOERR;
  }

 private:
  sqlite3* db_;
  std::string wal_path_;
  ino_t wal_ino_ = 0;
  bool wal_lost_reported_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// A bounded set of read-only connections. Acquire waits for a free one, so
// lookups share a fixed amount of page cache however many threads ask.
class SqliteReaderPool {
 public:
  void Add(std::unique_ptr<SqliteConnection> connection) {
    idle_.push_back(connection.get());
    all_.push_back(std::move(connection));
  }
  SqliteConnection* Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    released_.wait(lock, [this] { return !idle_.empty(); });
    SqliteConnection* connection = idle_.back();
    idle_.pop_back();
    return connection;
  }
  void Release(SqliteConnection* connection) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(connection);
    }
    released_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<SqliteConnection*> idle_;  // guarded by mu_
  std::vector<std::unique_ptr<SqliteConnection>> all_;
};

namespace {

class ReaderLease {
 public:
  explicit ReaderLease(SqliteReaderPool& pool)
      : pool_(pool), connection_(pool.Acquire()) {}
  ~ReaderLease() { pool_.Release(connection_); }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  SqliteConnection& operator*() const { return *connection_; }

 private:
  SqliteReaderPool& pool_;
  SqliteConnection* connection_;
};

// Begin() starts a BEGIN IMMEDIATE transaction; destruction rolls it back
// unless committed, so every early return leaves nothing half-written.
class WriteTransaction {
 public:
  explicit WriteTransaction(SqliteConnection& connection)
      : connection_(connection) {}
  ~WriteTransaction() {
    if (sqlite3_get_autocommit(connection_.db()) == 0) {
      connection_.Run("ROLLBACK");
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  int Begin() { return connection_.Run("BEGIN IMMEDIATE"); }
  int Commit() {
    int rc = connection_.Run("COMMIT");
    return rc == SQLITE_OK ? connection_.EnsureWalKept() : rc;
  }

 private:
  SqliteConnection& connection_;
};

// Maps an SQLite result code to a Status that says what to do.
Status SqliteError(int rc, SqliteConnection& connection,
                   const std::string& path, std::string_view action) {
  std::string detail = sqlite3_errmsg(connection.db());
  std::string where = " while " + std::string(action);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("database " + Quoted(path) + " is busy" +
                                 where + " (" + detail + "); try again");
    case SQLITE_FULL:
      return Status::IOError("disk full" + where + " in " + Quoted(path) +
                             "; nothing was written: free space on its disk "
                             "and try again");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(
          "database " + Quoted(path) + " is damaged (" + detail + ")" + where +
          "; stop shortyd, keep the file for inspection and restore the "
          "database from a backup");
    case SQLITE_READONLY:
      return Status::IOError("database " + Quoted(path) + " is read-only (" +
                             detail + ")" + where +
                             "; shortyd needs write access to the file and "
                             "its directory");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::IOError("cannot open database " + Quoted(path) + " (" +
                             detail + ")" + where +
                             "; check that shortyd may read and write the "
                             "file and its directory");
    case SQLITE_IOERR:
      return Status::IOError("I/O error on database " + Quoted(path) + " (" +
                             detail + ")" + where +
                             "; check the disk and the system log");
    case SQLITE_NOMEM:
      return Status::Unavailable("out of memory" + where + "; try again");
    case SQLITE_TOOBIG:
      return Status::TooLarge("a value is too large to store" + where);
    default:
      return Status::Internal("SQLite error " + std::to_string(rc) + where +
                              " on " + Quoted(path) + ": " + detail);
  }
}

Result<std::unique_ptr<SqliteConnection>> OpenConnection(
    const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                           nullptr);
  auto connection = std::make_unique<SqliteConnection>(db);
  if (db == nullptr) {
    return Status::Unavailable("out of memory opening database " +
                               Quoted(path) + "; try again");
  }
  if (rc != SQLITE_OK) {
    return SqliteError(rc, *connection, path, "opening it");
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // No memory-mapped reads: each connection would map the file apart and
  // count every page it ever touched as its own resident memory (a
  // million-link database is hundreds of MiB), while hot links are served
  // from the redirect cache anyway. A bounded page cache a connection.
  if ((rc = connection->Run("PRAGMA cache_size = -2048")) != SQLITE_OK) {
    return SqliteError(rc, *connection, path, "setting cache_size");
  }
  return connection;
}

Status CheckDirectory(const std::string& path) {
  std::string dir = ParentDirectory(path);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) {
      return Status::IOError("database directory " + Quoted(dir) +
                             " does not exist; create it (shortyd does so at "
                             "start) or fix storage.path");
    }
    return Status::IOError("cannot reach database directory " + Quoted(dir) +
                           ": " + ErrnoText(err) + "; check its permissions");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IOError(Quoted(dir) +
                           ", the database's directory, is not a directory; "
                           "fix storage.path");
  }
  return Status::Ok();
}

// Takes PATH.lock, held until the returned descriptor is closed. flock locks
// belong to the open file description, so a second Open in the same process
// is refused too; the kernel drops the lock when the process dies.
Result<int> TakeLock(const std::string& path) {
  std::string lock_path = path + ".lock";
  int fd =
      open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    int err = errno;
    return Status::IOError(
        "cannot open lock file " + Quoted(lock_path) + ": " + ErrnoText(err) +
        "; shortyd needs write access to the database directory " +
        Quoted(ParentDirectory(path)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Unavailable(
          "database " + Quoted(path) +
          " is in use by another shortyd (already running); stop it first, "
          "or point storage.path at another database");
    }
    return Status::IOError("cannot lock " + Quoted(lock_path) + ": " +
                           ErrnoText(err));
  }
  return fd;
}

std::string NotModified(const std::string& path) {
  return " The file " + Quoted(path) + " was NOT modified.";
}

// Looks at an existing file before SQLite may write to it. Sets *fresh when
// there is no database yet (no file, or an empty one).
Status CheckHeader(const std::string& path, bool* fresh) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) {
      *fresh = true;
      return Status::Ok();
    }
    return Status::IOError("cannot reach database " + Quoted(path) + ": " +
                           ErrnoText(err) + "; check its permissions");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::IOError("database " + Quoted(path) +
                           " is not a regular file; fix storage.path");
  }
  *fresh = st.st_size == 0;
  if (*fresh) return Status::Ok();

  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    return Status::IOError("cannot read database " + Quoted(path) + ": " +
                           ErrnoText(err) +
                           "; shortyd needs read and write access to it");
  }
  static constexpr char kMagic[] = "SQLite format 3";  // and its NUL
  char header[sizeof(kMagic)] = {};
  ssize_t n = pread(fd, header, sizeof(header), 0);
  int err = errno;
  close(fd);
  if (n < 0) {
    return Status::IOError("cannot read database " + Quoted(path) + ": " +
                           ErrnoText(err) + "; check the disk");
  }
  if (static_cast<size_t>(n) != sizeof(header) ||
      std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(
        Quoted(path) + " is not a shorty database (not an SQLite file)." +
        NotModified(path) +
        " If it is shorty's database, restore it from a backup; otherwise "
        "point storage.path at another file.");
  }
  return Status::Ok();
}

// Runs PRAGMA quick_check (page structure, not index contents: a full
// integrity_check reads every index and is too slow for every start).
Status CheckIntegrity(SqliteConnection& connection, const std::string& path) {
  Statement check = connection.Prepare("PRAGMA quick_check(5)");
  std::string problems;
  int rc;
  while ((rc = check.Step()) == SQLITE_ROW) {
    std::string line = check.Text(0);
    if (line == "ok") continue;
    // One line for a log: drop the "*** in database main ***" heading.
    constexpr std::string_view kHeading = "*** in database main ***\n";
    if (line.compare(0, kHeading.size(), kHeading) == 0) {
      line.erase(0, kHeading.size());
    }
    std::replace(line.begin(), line.end(), '\n', ' ');
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    problems = sqlite3_errmsg(connection.db());
  } else if (rc != SQLITE_DONE) {
    return SqliteError(rc, connection, path, "checking it");
  }
  if (problems.empty()) return Status::Ok();
  return Status::Corruption(
      "database " + Quoted(path) + " is damaged (quick_check: " + problems +
      ")." + NotModified(path) +
      " Stop here: restore the database from a backup, and keep the damaged "
      "file for inspection.");
}

// Reads a single-integer PRAGMA or query.
int QueryInt(SqliteConnection& connection, const char* sql, int64_t* value) {
  Statement stmt = connection.Prepare(sql);
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) {
    *value = stmt.Int(0);
    return SQLITE_OK;
  }
  return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
}

// Reads a row of kGetLinkSql or kListLinksSql.
bool ReadLink(const Statement& row, Link* link) {
  link->slug = row.Text(0);
  link->target = row.Text(1);
  link->title = row.Text(2);
  link->note = row.Text(3);
  link->status = static_cast<int>(row.Int(4));
  link->created_at = row.Int(5);
  link->updated_at = row.Int(6);
  link->created_by = row.Text(7);
  link->expires_at = row.OptionalInt(8);
  link->max_visits = row.OptionalInt(9);
  link->visits = row.Int(10);
  link->disabled = row.Int(11) != 0;
  link->password_hash = row.Text(14);
  link->tags.clear();
  return UnpackTags(row.Text(12), &link->tags);
}

Status TagsDamaged(const std::string& path, std::string_view slug) {
  return Status::Corruption("the tags of link " + Quoted(slug) + " in " +
                            Quoted(path) +
                            " cannot be read; restore the database from a "
                            "backup");
}

// The link stored under `key`, and its row id when `id` is given; `slug`
// names it in messages.
Result<Link> LoadLink(SqliteConnection& connection, const std::string& path,
                      std::string_view slug, const std::string& key,
                      int64_t* id = nullptr) {
  Statement get = connection.Prepare(kGetLinkSql);
  get.Bind(1, key);
  int rc = get.Step();
  if (rc == SQLITE_DONE) return NotFound(slug);
  if (rc != SQLITE_ROW) {
    return SqliteError(rc, connection, path, "reading a link");
  }
  Link link;
  if (!ReadLink(get, &link)) return TagsDamaged(path, slug);
  if (id != nullptr) *id = get.Int(13);
  return link;
}

// Appends one history entry; called inside the write transaction of the
// change it describes, so neither lands without the other.
Status RecordHistory(SqliteConnection& connection, const std::string& path,
                     const std::string& key, const std::string& slug,
                     UnixTime at, const std::string& actor,
                     const std::string& action, const std::string& changes) {
  Statement insert = connection.Prepare(kInsertHistorySql);
  insert.Bind(1, key);
  insert.Bind(2, slug);
  insert.Bind(3, at);
  insert.Bind(4, actor);
  insert.Bind(5, action);
  insert.Bind(6, changes);
  int rc = insert.Step();
  if (rc != SQLITE_DONE) {
    return SqliteError(rc, connection, path, "recording link history");
  }
  return Status::Ok();
}

// Reads a row of kFindTokenSql or kListTokensSql; Corruption for a scope
// this build does not know.
Result<Token> ReadToken(const Statement& row, const std::string& path) {
  Token token;
  token.name = row.Text(0);
  token.id = row.Text(1);
  token.secret_digest = row.Blob(2);
  int64_t scope = row.Int(3);
  if (!ValidScope(scope)) {
    return Status::Corruption(
        "token " + Quoted(token.name) + " in " + Quoted(path) +
        " has an unknown scope " + std::to_string(scope) +
        " (1 to 3 are known); the database is damaged: restore it from a "
        "backup");
  }
  token.scope = static_cast<Scope>(scope);
  token.created_at = row.Int(4);
  token.created_by = row.Text(5);
  token.last_used_at = row.OptionalInt(6);
  token.expires_at = row.OptionalInt(7);
  token.revoked_at = row.OptionalInt(8);
  return token;
}

// Runs a token UPDATE (?1 the name or id, ?2 the time) in its own write
// transaction; NotFound when no row matched. The caller holds the writer
// lock. sqlite3_changes counts matched rows, changed or not.
Status UpdateToken(SqliteConnection& connection, const std::string& path,
                   const char* sql, std::string_view key, UnixTime now,
                   std::string_view action, const std::string& not_found) {
  WriteTransaction txn(connection);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, connection, path, action);
  {
    Statement update = connection.Prepare(sql);
    update.Bind(1, key);
    update.Bind(2, now);
    rc = update.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, connection, path, action);
    if (sqlite3_changes(connection.db()) == 0) {
      return Status::NotFound(not_found);
    }
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, connection, path, action);
  }
  return Status::Ok();
}

Status InsertTags(SqliteConnection& connection, const std::string& path,
                  int64_t link_id, const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) {
    Statement insert = connection.Prepare(kInsertTagSql);
    insert.Bind(1, link_id);
    insert.Bind(2, tag);
    int rc = insert.Step();
    if (rc != SQLITE_DONE) {
      return SqliteError(rc, connection, path, "storing tags");
    }
  }
  return Status::Ok();
}

// The changes of an "import" history entry: those of a create, as
// LinkChanges(std::nullopt, link) writes them (the contract tests hold the
// two to the same bytes), built directly: an import of a million links
// would otherwise spend a third of its time building JSON values.
std::string ImportChanges(const Link& link) {
  std::string out = "{\"disabled\":[null,";
  out += link.disabled ? "true" : "false";
  out += "],\"expires_at\":[null,";
  if (link.expires_at) {
    AppendJsonString(&out, FormatTime(*link.expires_at));
  } else {
    out += "null";
  }
  out += "],\"max_visits\":[null,";
  out += link.max_visits ? std::to_string(*link.max_visits) : "null";
  out += "],\"note\":[null,";
  AppendJsonString(&out, link.note);
  out += "],\"password\":[null,";
  out += link.password_hash.empty() ? "\"none\"" : "\"set\"";
  out += "],\"status\":[null,";
  out += std::to_string(link.status);
  out += "],\"tags\":[null,[";
  for (size_t i = 0; i < link.tags.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(&out, link.tags[i]);
  }
  out += "]],\"target\":[null,";
  AppendJsonString(&out, link.target);
  out += "],\"title\":[null,";
  AppendJsonString(&out, link.title);
  out += "]}";
  return out;
}

// Backup copies are named "<database file>.backup-XXXXXX" beside it.
std::string BackupPrefix(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return (slash == std::string::npos ? path : path.substr(slash + 1)) +
         ".backup-";
}

// Removes backup copies a daemon killed while sending them left behind. Run
// under the lock file, when no backup of this database can be in progress.
void RemoveStaleBackups(const std::string& path) {
  const std::string dir = ParentDirectory(path);
  const std::string prefix = BackupPrefix(path);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    if (name.size() == prefix.size() + 6 &&
        name.compare(0, prefix.size(), prefix) == 0) {
      ::unlink((dir + "/" + std::string(name)).c_str());
    }
  }
  ::closedir(d);
}

}  // namespace

SqliteStore::SqliteStore(std::string path, bool case_sensitive, int lock_fd)
    : path_(std::move(path)),
      case_sensitive_(case_sensitive),
      lock_fd_(lock_fd) {}

SqliteStore::~SqliteStore() {
  // Readers first: the writer, closing last, checkpoints and removes the WAL.
  readers_.reset();
  writer_.reset();
  if (lock_fd_ >= 0) close(lock_fd_);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const SqliteOptions& options) {
  if (options.path.empty()) {
    return Status::InvalidArgument("storage.path: must not be empty");
  }
  if (Status s = CheckDirectory(options.path); !s.ok()) return s;
  Result<int> lock_fd = TakeLock(options.path);
  if (!lock_fd.ok()) return lock_fd.status();
  RemoveStaleBackups(options.path);
  std::unique_ptr<SqliteStore> store(
      new SqliteStore(options.path, options.case_sensitive, *lock_fd));
  if (Status s = store->OpenDatabase(options); !s.ok()) return s;
  return store;
}

Status SqliteStore::OpenDatabase(const SqliteOptions& options) {
  bool fresh = false;
  if (Status s = CheckHeader(path_, &fresh); !s.ok()) return s;

  Result<std::unique_ptr<SqliteConnection>> writer =
      OpenConnection(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!writer.ok()) return writer.status();
  writer_ = std::move(*writer);
  SqliteConnection& c = *writer_;
  if (sqlite3_db_readonly(c.db(), "main") == 1) {
    return Status::IOError("database " + Quoted(path_) +
                           " is read-only; shortyd needs write access to it: "
                           "fix the file's owner or mode");
  }

  // Everything up to the first write only reads, so a file that is not ours
  // or is damaged stays byte for byte as it was.
  if (!fresh) {
    if (Status s = CheckIntegrity(c, path_); !s.ok()) return s;
  }
  int64_t application_id = 0;
  int64_t version = 0;
  int64_t objects = 0;
  int rc;
  if ((rc = QueryInt(c, "PRAGMA application_id", &application_id)) !=
          SQLITE_OK ||
      (rc = QueryInt(c, "PRAGMA user_version", &version)) != SQLITE_OK ||
      (rc = QueryInt(c, "SELECT count(*) FROM sqlite_schema", &objects)) !=
          SQLITE_OK) {
    return SqliteError(rc, c, path_, "reading its schema version");
  }
  bool empty = application_id == 0 && version == 0 && objects == 0;
  if (!empty && application_id != kApplicationId) {
    return Status::Corruption(
        Quoted(path_) +
        " is an SQLite database of another program, not shorty's." +
        NotModified(path_) +
        " Point storage.path at shorty's database or at a new file.");
  }
  if (version > kSchemaVersion) {
    return Status::Unavailable("database schema version " +
                               std::to_string(version) +
                               " is newer than this shortyd understands (" +
                               std::to_string(kSchemaVersion) +
                               "); upgrade shorty." + NotModified(path_));
  }

  // WAL: readers never wait for the writer. journal_mode is persistent;
  // the rest is per connection.
  {
    Statement wal = c.Prepare("PRAGMA journal_mode = WAL");
    rc = wal.Step();
    if (rc != SQLITE_ROW) {
      return SqliteError(rc, c, path_, "switching it to WAL mode");
    }
    if (wal.Text(0) != "wal") {
      return Status::IOError("database " + Quoted(path_) +
                             " cannot use WAL mode (it stays in '" +
                             wal.Text(0) + "'); put it on a local file system");
    }
  }
  if ((rc = c.Run(options.full_sync ? "PRAGMA synchronous = FULL"
                                    : "PRAGMA synchronous = NORMAL")) !=
          SQLITE_OK ||
      (rc = c.Run("PRAGMA foreign_keys = ON")) != SQLITE_OK) {
    return SqliteError(rc, c, path_, "configuring it");
  }
  if (Status s = Migrate(); !s.ok()) return s;
  if (Status s = ApplyCaseRule(); !s.ok()) return s;
  // A new database's schema would otherwise live only in the WAL until the
  // first checkpoint: a lost -wal file would leave an empty file that the
  // next start takes for a new database.
  rc = sqlite3_wal_checkpoint_v2(c.db(), "main", SQLITE_CHECKPOINT_TRUNCATE,
                                 nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, "checkpointing it");
  c.WatchWal(path_ + "-wal");

  readers_ = std::make_unique<SqliteReaderPool>();
  int readers = std::clamp(options.readers, 1, kMaxReaders);
  for (int i = 0; i < readers; ++i) {
    Result<std::unique_ptr<SqliteConnection>> reader =
        OpenConnection(path_, SQLITE_OPEN_READONLY);
    if (!reader.ok()) return reader.status();
    readers_->Add(std::move(*reader));
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    return Status::IOError("cannot stat database " + Quoted(path_) + ": " +
                           ErrnoText(err));
  }
  file_dev_ = st.st_dev;
  file_ino_ = st.st_ino;
  return Status::Ok();
}

Status SqliteStore::Migrate() {
  SqliteConnection& c = *writer_;
  for (;;) {
    WriteTransaction txn(c);
    int rc = txn.Begin();
    int64_t version = 0;
    if (rc == SQLITE_OK) rc = QueryInt(c, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) {
      return SqliteError(rc, c, path_, "reading its schema version");
    }
    if (version >= kSchemaVersion) {
      schema_version_ = static_cast<int>(version);
      return Status::Ok();
    }
    const Migration& step = kMigrations[version];
    std::string action = "migrating its schema to version " +
                         std::to_string(version + 1) + " (" + step.what + ")";
    // Migrations are fixed SQL without values; user_version cannot be bound.
    std::string set_version =
        "PRAGMA user_version = " + std::to_string(version + 1);
    if ((rc = sqlite3_exec(c.db(), step.sql, nullptr, nullptr, nullptr)) !=
            SQLITE_OK ||
        (rc = sqlite3_exec(c.db(), set_version.c_str(), nullptr, nullptr,
                           nullptr)) != SQLITE_OK ||
        (rc = txn.Commit()) != SQLITE_OK) {
      return SqliteError(rc, c, path_, action);
    }
  }
}

// Keys are folded at write time, so a database created under one case rule
// must be re-keyed before it is used under the other.
Status SqliteStore::ApplyCaseRule() {
  constexpr char kAction[] = "applying the slug case rule";
  const std::string rule = case_sensitive_ ? "sensitive" : "insensitive";
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);

  std::optional<std::string> stored_rule;
  {
    Statement get = c.Prepare("SELECT value FROM meta WHERE key = 'slug_case'");
    rc = get.Step();
    if (rc == SQLITE_ROW) {
      stored_rule = get.Text(0);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(rc, c, path_, kAction);
    }
  }
  if (stored_rule == rule) return Status::Ok();

  if (stored_rule) {
    struct Rekey {
      int64_t id;
      std::string slug;
      std::string key;
    };
    std::vector<Rekey> changes;
    {
      Statement all = c.Prepare("SELECT id, slug, slug_key FROM links");
      while ((rc = all.Step()) == SQLITE_ROW) {
        std::string slug = all.Text(1);
        std::string key = SlugKey(slug, case_sensitive_);
        if (key != all.Text(2)) {
          changes.push_back({all.Int(0), std::move(slug), std::move(key)});
        }
      }
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
    // Re-keying one way never collides; the other way (sensitive to
    // insensitive) collides only where two slugs differ in case alone.
    for (const Rekey& change : changes) {
      Statement update =
          c.Prepare("UPDATE links SET slug_key = ?1 WHERE id = ?2");
      update.Bind(1, change.key);
      update.Bind(2, change.id);
      rc = update.Step();
      if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        std::string other;
        Statement get = c.Prepare("SELECT slug FROM links WHERE slug_key = ?1");
        get.Bind(1, change.key);
        if (get.Step() == SQLITE_ROW) other = get.Text(0);
        return Status::InvalidArgument(
            "storage.case_sensitive: cannot make slugs case-insensitive: " +
            Quoted(change.slug) + " and " + Quoted(other) +
            " would be the same link. Start once with case-sensitive slugs "
            "and rename or delete one of them; the database was not "
            "changed.");
      }
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
    // History follows its slug, deleted links' too: each entry is re-keyed
    // from the slug it was recorded with, as the links were. Entries never
    // collide, so this cannot fail the way links can.
    struct HistoryRekey {
      int64_t seq;
      std::string key;
    };
    std::vector<HistoryRekey> history_changes;
    {
      Statement all = c.Prepare("SELECT seq, slug, slug_key FROM link_history");
      while ((rc = all.Step()) == SQLITE_ROW) {
        std::string key = SlugKey(all.Text(1), case_sensitive_);
        if (key != all.Text(2)) {
          history_changes.push_back({all.Int(0), std::move(key)});
        }
      }
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
    for (const HistoryRekey& change : history_changes) {
      Statement update =
          c.Prepare("UPDATE link_history SET slug_key = ?1 WHERE seq = ?2");
      update.Bind(1, change.key);
      update.Bind(2, change.seq);
      rc = update.Step();
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
  }
  Statement set = c.Prepare(
      "INSERT OR REPLACE INTO meta (key, value) VALUES ('slug_case', ?1)");
  set.Bind(1, rule);
  rc = set.Step();
  if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return Status::Ok();
}

Result<Link> SqliteStore::InsertLink(SqliteConnection& c, const Link& link) {
  constexpr char kAction[] = "creating a link";
  const std::string key = SlugKey(link.slug, case_sensitive_);
  int64_t id = 0;
  {
    Statement insert = c.Prepare(kInsertLinkSql);
    insert.Bind(1, link.slug);
    insert.Bind(2, key);
    insert.Bind(3, link.target);
    insert.Bind(4, link.title);
    insert.Bind(5, link.note);
    insert.Bind(6, int64_t{link.status});
    insert.Bind(7, link.created_at);
    insert.Bind(8, link.updated_at);
    insert.Bind(9, link.created_by);
    insert.Bind(10, link.expires_at);
    insert.Bind(11, link.max_visits);
    insert.Bind(12, link.visits);
    insert.Bind(13, int64_t{link.disabled});
    insert.BindOrNull(14, link.password_hash);
    int rc = insert.Step();
    // slug_key is the only UNIQUE column a new row can collide on.
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
      return Status::AlreadyExists("slug " + Quoted(link.slug) + " is taken");
    }
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    id = sqlite3_last_insert_rowid(c.db());
  }
  if (Status s = InsertTags(c, path_, id, SortedUnique(link.tags)); !s.ok()) {
    return s;
  }
  Result<Link> stored = LoadLink(c, path_, link.slug, key);
  if (!stored.ok()) return stored;
  if (Status s = RecordHistory(c, path_, key, stored->slug, link.created_at,
                               link.created_by, "create",
                               LinkChanges(std::nullopt, *stored));
      !s.ok()) {
    return s;
  }
  return stored;
}

Result<Link> SqliteStore::CreateLink(const Link& link) {
  constexpr char kAction[] = "creating a link";
  if (link.slug.empty()) {
    return Status::InvalidArgument("slug: must not be empty");
  }
  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  Result<Link> stored = InsertLink(c, link);
  if (!stored.ok()) return stored;
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return stored;
}

Result<CreatedLink> SqliteStore::CreateLinkOnce(
    const Link& link, std::string_view idempotency_key) {
  constexpr char kAction[] = "creating a link";
  if (link.slug.empty()) {
    return Status::InvalidArgument("slug: must not be empty");
  }
  if (idempotency_key.empty()) {
    return Status::InvalidArgument("idempotency key: must not be empty");
  }
  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  {
    // Forgotten first, so an old key is never replayed even if no create
    // came along for a while to purge it.
    Statement purge = c.Prepare(kPurgeKeysSql);
    purge.Bind(1, link.created_at - kIdempotencyKeySeconds);
    rc = purge.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  }
  std::optional<std::string> seen_slug;
  UnixTime seen_at = 0;
  {
    Statement find = c.Prepare(kFindKeySql);
    find.Bind(1, idempotency_key);
    rc = find.Step();
    if (rc == SQLITE_ROW) {
      seen_slug = find.Text(0);
      seen_at = find.Int(1);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(rc, c, path_, kAction);
    }
  }
  if (seen_slug) {
    Result<Link> earlier =
        LoadLink(c, path_, *seen_slug, SlugKey(*seen_slug, case_sensitive_));
    if (!earlier.ok() && earlier.status().code() != Code::kNotFound) {
      return earlier.status();
    }
    // The link a key made was created in the key's own transaction, at the
    // key's time; a link of the same slug made later is another link.
    if (!earlier.ok() || earlier->created_at != seen_at) {
      return Status::AlreadyExists(
          "idempotency key was used for a link since deleted; send a new "
          "key to create it again");
    }
    if (earlier->created_by != link.created_by) {
      return Status::AlreadyExists(
          "idempotency key was already used by another client; send a new "
          "key");
    }
    if ((rc = txn.Commit()) != SQLITE_OK) {
      return SqliteError(rc, c, path_, kAction);
    }
    return CreatedLink{std::move(*earlier), true};
  }
  Result<Link> stored = InsertLink(c, link);
  if (!stored.ok()) return stored.status();
  {
    Statement remember = c.Prepare(kInsertKeySql);
    remember.Bind(1, idempotency_key);
    remember.Bind(2, stored->slug);
    remember.Bind(3, link.created_at);
    rc = remember.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return CreatedLink{std::move(*stored), false};
}

Result<Link> SqliteStore::GetLink(std::string_view slug) {
  ReaderLease reader(*readers_);
  return LoadLink(*reader, path_, slug, SlugKey(slug, case_sensitive_));
}

Result<Link> SqliteStore::UpdateLink(std::string_view slug,
                                     const LinkPatch& patch, UnixTime now,
                                     const std::string& actor) {
  constexpr char kAction[] = "updating a link";
  const std::string key = SlugKey(slug, case_sensitive_);

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  int64_t id = 0;
  Result<Link> before = LoadLink(c, path_, slug, key, &id);
  if (!before.ok()) return before;
  {
    Statement update = c.Prepare(kUpdateLinkSql);
    update.Bind(1, int64_t{patch.target.has_value()});
    update.Bind(2, patch.target.value_or(""));
    update.Bind(3, int64_t{patch.title.has_value()});
    update.Bind(4, patch.title.value_or(""));
    update.Bind(5, int64_t{patch.note.has_value()});
    update.Bind(6, patch.note.value_or(""));
    update.Bind(7, int64_t{patch.status.has_value()});
    update.Bind(8, int64_t{patch.status.value_or(0)});
    update.Bind(9, int64_t{patch.expires_at.has_value()});
    update.Bind(10, patch.expires_at.value_or(std::nullopt));
    update.Bind(11, int64_t{patch.max_visits.has_value()});
    update.Bind(12, patch.max_visits.value_or(std::nullopt));
    update.Bind(13, int64_t{patch.disabled.has_value()});
    update.Bind(14, int64_t{patch.disabled.value_or(false)});
    update.Bind(15, now);
    update.Bind(16, id);
    update.Bind(17, int64_t{patch.password_hash.has_value()});
    update.BindOrNull(18, patch.password_hash.value_or(""));
    rc = update.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  }
  if (patch.tags) {
    {
      Statement clear = c.Prepare(kDeleteTagsSql);
      clear.Bind(1, id);
      rc = clear.Step();
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
    Status s = InsertTags(c, path_, id, SortedUnique(*patch.tags));
    if (!s.ok()) return s;
  }
  Result<Link> after = LoadLink(c, path_, slug, key);
  if (!after.ok()) return after;
  // The patch is applied by SQL and compared afterwards, so "changed" means
  // what the database holds (tags sorted and unique), not what was sent.
  std::string changes = LinkChanges(*before, *after);
  if (changes == "{}") {
    // Nothing changed: the transaction rolls back, so updated_at stays and
    // history records nothing.
    return before;
  }
  if (Status s = RecordHistory(c, path_, key, after->slug, now, actor,
                               ActionOf(patch, now), changes);
      !s.ok()) {
    return s;
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return after;
}

Status SqliteStore::DeleteLink(std::string_view slug, UnixTime now,
                               const std::string& actor) {
  constexpr char kAction[] = "deleting a link";
  const std::string key = SlugKey(slug, case_sensitive_);

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  int64_t id = 0;
  Result<Link> before = LoadLink(c, path_, slug, key, &id);
  if (!before.ok()) return before.status();
  {
    // Tags go with it: ON DELETE CASCADE, foreign_keys is on. History
    // stays: it has no foreign key.
    Statement remove = c.Prepare(kDeleteLinkSql);
    remove.Bind(1, id);
    rc = remove.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  }
  if (Status s = RecordHistory(c, path_, key, before->slug, now, actor,
                               "delete", LinkChanges(*before, std::nullopt));
      !s.ok()) {
    return s;
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return Status::Ok();
}

Result<std::vector<HistoryEntry>> SqliteStore::LinkHistory(
    std::string_view slug, int limit) {
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement list = c.Prepare(kLinkHistorySql);
  list.Bind(1, SlugKey(slug, case_sensitive_));
  list.Bind(2, int64_t{std::clamp(limit, 1, kMaxListLimit)});
  std::vector<HistoryEntry> entries;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    HistoryEntry entry;
    entry.seq = list.Int(0);
    entry.slug = list.Text(1);
    entry.at = list.Int(2);
    entry.actor = list.Text(3);
    entry.action = list.Text(4);
    entry.changes = list.Text(5);
    entries.push_back(std::move(entry));
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(rc, c, path_, "reading link history");
  }
  return entries;
}

Result<std::vector<HistoryEntry>> SqliteStore::HistoryAfter(int64_t after_seq,
                                                            int limit) {
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement list = c.Prepare(kHistoryAfterSql);
  list.Bind(1, after_seq);
  list.Bind(2, int64_t{std::clamp(limit, 1, kMaxListLimit)});
  std::vector<HistoryEntry> entries;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    HistoryEntry entry;
    entry.seq = list.Int(0);
    entry.slug = list.Text(1);
    entry.at = list.Int(2);
    entry.actor = list.Text(3);
    entry.action = list.Text(4);
    entry.changes = list.Text(5);
    entries.push_back(std::move(entry));
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(rc, c, path_, "reading link history");
  }
  return entries;
}

Status SqliteStore::AppendHistory(const std::vector<HistoryEntry>& entries) {
  constexpr char kAction[] = "storing link history";
  for (const HistoryEntry& entry : entries) {
    if (entry.slug.empty()) {
      return Status::InvalidArgument("slug: must not be empty");
    }
  }
  if (entries.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  for (const HistoryEntry& entry : entries) {
    if (Status s = RecordHistory(c, path_, SlugKey(entry.slug, case_sensitive_),
                                 entry.slug, entry.at, entry.actor,
                                 entry.action, entry.changes);
        !s.ok()) {
      return s;
    }
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return Status::Ok();
}

Status SqliteStore::CreateToken(const Token& token) {
  constexpr char kAction[] = "creating a token";
  if (token.name.empty()) {
    return Status::InvalidArgument("token name: must not be empty");
  }
  if (token.id.empty()) {
    return Status::InvalidArgument("token id: must not be empty");
  }
  const int64_t scope = static_cast<int64_t>(token.scope);
  if (!ValidScope(scope)) {
    return Status::InvalidArgument("token scope: " + std::to_string(scope) +
                                   " is not one of read, write, admin");
  }

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  {
    Statement insert = c.Prepare(kInsertTokenSql);
    insert.Bind(1, token.name);
    insert.Bind(2, token.id);
    insert.BindBlob(3, token.secret_digest);
    insert.Bind(4, scope);
    insert.Bind(5, token.created_at);
    insert.Bind(6, token.created_by);
    insert.Bind(7, token.last_used_at);
    insert.Bind(8, token.expires_at);
    insert.Bind(9, token.revoked_at);
    rc = insert.Step();
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    // Name or id; the name is what a person chose, so it is named.
    Statement taken = c.Prepare(kTokenNameTakenSql);
    taken.Bind(1, token.name);
    int found = taken.Step();
    if (found == SQLITE_ROW) {
      return Status::AlreadyExists("token " + Quoted(token.name) +
                                   " already exists");
    }
    if (found != SQLITE_DONE) return SqliteError(found, c, path_, kAction);
    return Status::AlreadyExists(
        "a token with this id already exists; create the token again for a "
        "new id");
  }
  if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return Status::Ok();
}

Result<Token> SqliteStore::FindToken(std::string_view id) {
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement find = c.Prepare(kFindTokenSql);
  find.Bind(1, id);
  int rc = find.Step();
  if (rc == SQLITE_DONE) {
    return Status::NotFound("no token with id " + Quoted(id));
  }
  if (rc != SQLITE_ROW) return SqliteError(rc, c, path_, "finding a token");
  return ReadToken(find, path_);
}

Result<std::vector<Token>> SqliteStore::ListTokens() {
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement list = c.Prepare(kListTokensSql);
  std::vector<Token> tokens;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    Result<Token> token = ReadToken(list, path_);
    if (!token.ok()) return token.status();
    tokens.push_back(std::move(*token));
  }
  if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, "listing tokens");
  return tokens;
}

Status SqliteStore::RevokeToken(std::string_view name, UnixTime now) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  return UpdateToken(*writer_, path_, kRevokeTokenSql, name, now,
                     "revoking a token", "no token named " + Quoted(name));
}

Status SqliteStore::TouchToken(std::string_view id, UnixTime now) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  return UpdateToken(*writer_, path_, kTouchTokenSql, id, now,
                     "recording a token's use",
                     "no token with id " + Quoted(id));
}

Result<LinkPage> SqliteStore::ListLinks(const ListQuery& query) {
  int64_t before_created = std::numeric_limits<int64_t>::max();
  int64_t before_id = std::numeric_limits<int64_t>::max();
  if (!query.cursor.empty() &&
      !ParseCursor(query.cursor, &before_created, &before_id)) {
    return Status::InvalidArgument(
        "cursor: malformed; pass the next_cursor of a previous page");
  }
  const int limit = std::clamp(query.limit, 1, kMaxListLimit);

  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement list = c.Prepare(kListLinksSql);
  if (!query.search.empty()) list.Bind(1, ContainsPattern(query.search));
  if (!query.tag.empty()) list.Bind(2, query.tag);
  list.Bind(3, int64_t{query.include_inactive});
  list.Bind(4, query.now);
  list.Bind(5, before_created);
  list.Bind(6, before_id);
  list.Bind(7, int64_t{limit} + 1);  // one more tells whether a page follows

  LinkPage page;
  int64_t last_id = 0;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    if (static_cast<int>(page.links.size()) == limit) {
      page.next_cursor = MakeCursor(page.links.back().created_at, last_id);
      break;
    }
    Link link;
    if (!ReadLink(list, &link)) return TagsDamaged(path_, link.slug);
    last_id = list.Int(13);
    page.links.push_back(std::move(link));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteError(rc, c, path_, "listing links");
  }
  return page;
}

Status SqliteStore::AddVisits(const std::vector<VisitCount>& counts) {
  constexpr char kAction[] = "adding visit counts";
  for (const VisitCount& count : counts) {
    if (count.count < 0) {
      return Status::InvalidArgument("visits: count for " + Quoted(count.slug) +
                                     " must not be negative");
    }
  }
  if (counts.empty()) return Status::Ok();

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  for (const VisitCount& count : counts) {
    const std::string key = SlugKey(count.slug, case_sensitive_);
    // One statement adds the count and names the link's row for its
    // buckets (adding 0 when only traits are new: a limited link's visits).
    int64_t link_id = 0;
    {
      Statement add = c.Prepare(kAddVisitsSql);
      add.Bind(1, count.count);
      add.Bind(2, key);
      rc = add.Step();
      if (rc == SQLITE_DONE) continue;  // deleted since its visits
      if (rc != SQLITE_ROW) return SqliteError(rc, c, path_, kAction);
      link_id = add.Int(0);
      // Step to the end, so the update is complete before the next one.
      if ((rc = add.Step()) != SQLITE_DONE) {
        return SqliteError(rc, c, path_, kAction);
      }
    }
    if (count.groups.empty()) continue;
    for (const VisitGroup& group : count.groups) {
      if (group.count <= 0) continue;
      for (const VisitBucket& bucket : BucketsOf(group)) {
        Statement add = c.Prepare(kAddBucketSql);
        add.Bind(1, link_id);
        add.Bind(2, bucket.start);
        add.Bind(3, bucket.dimension);
        add.Bind(4, bucket.value);
        add.Bind(5, int64_t{bucket.bot ? 1 : 0});
        add.Bind(6, bucket.visits);
        rc = add.Step();
        if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
      }
    }
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return Status::Ok();
}

Result<std::vector<VisitBucket>> SqliteStore::LinkVisits(std::string_view slug,
                                                         UnixTime since) {
  constexpr char kAction[] = "reading visit stats";
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  int64_t link_id = 0;
  int rc;
  {
    Statement find = c.Prepare(kLinkIdSql);
    find.Bind(1, SlugKey(slug, case_sensitive_));
    rc = find.Step();
    if (rc == SQLITE_DONE) return NotFound(slug);
    if (rc != SQLITE_ROW) return SqliteError(rc, c, path_, kAction);
    link_id = find.Int(0);
  }
  Statement read = c.Prepare(kLinkVisitsSql);
  read.Bind(1, link_id);
  read.Bind(2, since);
  std::vector<VisitBucket> buckets;
  while ((rc = read.Step()) == SQLITE_ROW) {
    buckets.push_back({read.Int(0), read.Text(1), read.Text(2),
                       read.Int(3) != 0, read.Int(4)});
  }
  if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  return buckets;
}

Result<int64_t> SqliteStore::RollUpVisits(UnixTime before) {
  constexpr char kAction[] = "rolling up visit stats";
  if (before % kDay != 0) {
    return Status::InvalidArgument("before: must be on a day boundary");
  }
  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  {
    Statement roll = c.Prepare(kRollUpSql);
    roll.Bind(1, before);
    rc = roll.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
  }
  int64_t folded = 0;
  {
    Statement drop = c.Prepare(kDropRolledUpSql);
    drop.Bind(1, before);
    rc = drop.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    folded = sqlite3_changes(c.db());
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return folded;
}

Result<bool> SqliteStore::ConsumeLimitedVisit(std::string_view slug) {
  constexpr char kAction[] = "counting a visit";
  const std::string key = SlugKey(slug, case_sensitive_);

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  bool counted = false;
  {
    // The limit is checked by the UPDATE itself, so no visit slips past it.
    Statement consume = c.Prepare(kConsumeVisitSql);
    consume.Bind(1, key);
    rc = consume.Step();
    if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    counted = sqlite3_changes(c.db()) == 1;
  }
  if (!counted) {
    Statement exists = c.Prepare(kLinkExistsSql);
    exists.Bind(1, key);
    rc = exists.Step();
    if (rc == SQLITE_DONE) return NotFound(slug);
    if (rc != SQLITE_ROW) return SqliteError(rc, c, path_, kAction);
    return false;  // used up; the transaction rolls back having changed nothing
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return true;
}

Result<StoreInfo> SqliteStore::Info() {
  ReaderLease lease(*readers_);
  StoreInfo info;
  int rc = QueryInt(*lease, kCountLinksSql, &info.links);
  if (rc != SQLITE_OK) return SqliteError(rc, *lease, path_, "counting links");
  info.schema_version = schema_version_;
  info.backend = "sqlite";
  return info;
}

Status SqliteStore::Ping() {
  // SQLite keeps reading and writing a file that was moved or deleted
  // through its open descriptors, so a read alone would say all is well
  // while every change goes to a file no one will find at the next start.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    return Status::Unavailable(
        "database " + Quoted(path_) + " cannot be found (" + ErrnoText(err) +
        "); it was moved or deleted while shortyd ran: put it back, or "
        "restart shortyd");
  }
  if (st.st_dev != file_dev_ || st.st_ino != file_ino_) {
    return Status::Unavailable(
        "database " + Quoted(path_) +
        " is no longer the file shortyd opened (it was replaced while "
        "shortyd ran): put the original back, or restart shortyd");
  }
  ReaderLease lease(*readers_);
  int64_t rows = 0;
  int rc = QueryInt(*lease, kPingSql, &rows);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, *lease, path_, "checking it is readable");
    return Status::Unavailable(s.message());
  }
  return Status::Ok();
}

Status SqliteStore::Checkpoint() {
  std::lock_guard<std::mutex> lock(writer_mu_);
  int rc = sqlite3_wal_checkpoint_v2(
      writer_->db(), "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(rc, *writer_, path_, "checkpointing the WAL");
  }
  return Status::Ok();
}

Result<std::vector<ImportOutcome>> SqliteStore::ImportLinks(
    const std::vector<ImportedLink>& links, UnixTime now,
    const std::string& actor) {
  constexpr char kAction[] = "importing links";
  for (const ImportedLink& imported : links) {
    if (imported.link.slug.empty()) {
      return Status::InvalidArgument("slug: must not be empty");
    }
  }
  std::vector<ImportOutcome> outcomes;
  outcomes.reserve(links.size());
  if (links.empty()) return outcomes;

  std::lock_guard<std::mutex> lock(writer_mu_);
  SqliteConnection& c = *writer_;
  WriteTransaction txn(c);
  int rc = txn.Begin();
  if (rc != SQLITE_OK) return SqliteError(rc, c, path_, kAction);
  for (const ImportedLink& imported : links) {
    const Link& link = imported.link;
    const std::string key = SlugKey(link.slug, case_sensitive_);
    {
      // Static binds: the strings outlive the step, and a million copies
      // are a tenth of an import's time.
      Statement insert = c.Prepare(kImportLinkSql);
      insert.BindStatic(1, link.slug);
      insert.BindStatic(2, key);
      insert.BindStatic(3, link.target);
      insert.BindStatic(4, link.title);
      insert.BindStatic(5, link.note);
      insert.Bind(6, int64_t{link.status});
      insert.Bind(7, link.created_at);
      insert.Bind(8, link.updated_at);
      insert.BindStatic(9, link.created_by);
      insert.Bind(10, link.expires_at);
      insert.Bind(11, link.max_visits);
      insert.Bind(12, link.visits);
      insert.Bind(13, int64_t{link.disabled});
      insert.BindOrNull(14, link.password_hash);
      rc = insert.Step();
      if (rc != SQLITE_DONE) return SqliteError(rc, c, path_, kAction);
    }
    if (sqlite3_changes(c.db()) == 0) {
      Statement stored = c.Prepare(kStoredTargetSql);
      stored.Bind(1, key);
      rc = stored.Step();
      if (rc != SQLITE_ROW) return SqliteError(rc, c, path_, kAction);
      outcomes.push_back(stored.Text(0) == link.target
                             ? ImportOutcome::kAlreadyPresent
                             : ImportOutcome::kSlugTaken);
      continue;
    }
    const int64_t id = sqlite3_last_insert_rowid(c.db());
    Link as_stored = link;
    as_stored.tags = SortedUnique(link.tags);
    if (Status s = InsertTags(c, path_, id, as_stored.tags); !s.ok()) return s;
    for (const HistoryEntry& entry : imported.history) {
      if (Status s = RecordHistory(c, path_, key, link.slug, entry.at,
                                   entry.actor, entry.action, entry.changes);
          !s.ok()) {
        return s;
      }
    }
    {
      const std::string changes = ImportChanges(as_stored);
      Statement record = c.Prepare(kInsertHistorySql);
      record.BindStatic(1, key);
      record.BindStatic(2, link.slug);
      record.Bind(3, now);
      record.BindStatic(4, actor);
      record.BindStatic(5, "import");
      record.BindStatic(6, changes);
      rc = record.Step();
      if (rc != SQLITE_DONE) {
        return SqliteError(rc, c, path_, "recording link history");
      }
    }
    outcomes.push_back(ImportOutcome::kImported);
  }
  if ((rc = txn.Commit()) != SQLITE_OK) {
    return SqliteError(rc, c, path_, kAction);
  }
  return outcomes;
}

Result<LinkPage> SqliteStore::ListAllLinks(const std::string& cursor,
                                           int limit) {
  // The cursor is the folded slug of the last link of the previous page.
  if (!cursor.empty() && (!ValidateCustomSlug(cursor).ok() ||
                          SlugKey(cursor, case_sensitive_) != cursor)) {
    return Status::InvalidArgument(
        "cursor: malformed; pass the next_cursor of a previous page");
  }
  limit = std::clamp(limit, 1, kMaxListLimit);
  ReaderLease lease(*readers_);
  SqliteConnection& c = *lease;
  Statement list = c.Prepare(kListAllLinksSql);
  list.Bind(1, cursor);
  list.Bind(2, int64_t{limit} + 1);  // one more tells whether a page follows
  LinkPage page;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    if (static_cast<int>(page.links.size()) == limit) {
      page.next_cursor = SlugKey(page.links.back().slug, case_sensitive_);
      break;
    }
    Link link;
    if (!ReadLink(list, &link)) return TagsDamaged(path_, link.slug);
    page.links.push_back(std::move(link));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteError(rc, c, path_, "listing links");
  }
  return page;
}

Result<StoreBackup> SqliteStore::WriteBackup() {
  constexpr char kAction[] = "writing a backup copy";
  std::string copy =
      ParentDirectory(path_) + "/" + BackupPrefix(path_) + "XXXXXX";
  int fd = ::mkostemp(copy.data(), O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Status::IOError("cannot make a backup copy beside " + Quoted(path_) +
                           ": " + ErrnoText(err) +
                           "; shortyd needs write access and free space in "
                           "the database's directory");
  }
  ::close(fd);
  // Whatever goes wrong below, no half copy is left behind.
  struct Remover {
    std::string path;
    bool keep = false;
    ~Remover() {
      if (!keep) ::unlink(path.c_str());
    }
  } remover{copy};

  Result<std::unique_ptr<SqliteConnection>> source =
      OpenConnection(path_, SQLITE_OPEN_READONLY);
  if (!source.ok()) return source.status();
  Result<std::unique_ptr<SqliteConnection>> target =
      OpenConnection(copy, SQLITE_OPEN_READWRITE);
  if (!target.ok()) return target.status();
  SqliteConnection& dest = **target;
  sqlite3_backup* backup =
      sqlite3_backup_init(dest.db(), "main", (*source)->db(), "main");
  if (backup == nullptr) {
    return SqliteError(sqlite3_errcode(dest.db()), dest, copy, kAction);
  }
  // All pages in one step: one read transaction on the source, so the copy
  // is one moment's snapshot (a copy made in several steps would start over
  // after every write).
  int rc = sqlite3_backup_step(backup, -1);
  int finish = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return SqliteError(rc, dest, copy, kAction);
  if (finish != SQLITE_OK) return SqliteError(finish, dest, copy, kAction);
  {
    // The copy keeps WAL mode from its source; in rollback-journal mode it
    // is one self-contained file that opens read-only anywhere.
    Statement mode = dest.Prepare("PRAGMA journal_mode = DELETE");
    rc = mode.Step();
    if (rc != SQLITE_ROW) return SqliteError(rc, dest, copy, kAction);
  }
  StoreBackup result;
  rc = QueryInt(dest, kCountLinksSql, &result.links);
  if (rc != SQLITE_OK) return SqliteError(rc, dest, copy, kAction);
  target->reset();
  struct stat st {};
  if (::stat(copy.c_str(), &st) != 0) {
    int err = errno;
    return Status::IOError("cannot read the backup copy " + Quoted(copy) +
                           ": " + ErrnoText(err));
  }
  result.path = copy;
  result.bytes = static_cast<int64_t>(st.st_size);
  remover.keep = true;
  return result;
}

Result<SqliteStore::BackupCheck> SqliteStore::CheckBackup(
    const std::string& path) {
  constexpr char kAction[] = "checking a backup";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    return Status::IOError("cannot read " + Quoted(path) + ": " +
                           ErrnoText(err));
  }
  bool fresh = false;
  if (Status s = CheckHeader(path, &fresh); !s.ok()) return s;
  if (fresh) {
    return Status::Corruption(Quoted(path) +
                              " is empty: it is not a shorty backup");
  }
  Result<std::unique_ptr<SqliteConnection>> opened =
      OpenConnection(path, SQLITE_OPEN_READONLY);
  if (!opened.ok()) return opened.status();
  SqliteConnection& c = **opened;
  int64_t application_id = 0;
  int64_t version = 0;
  int rc;
  if ((rc = QueryInt(c, "PRAGMA application_id", &application_id)) !=
          SQLITE_OK ||
      (rc = QueryInt(c, "PRAGMA user_version", &version)) != SQLITE_OK) {
    return SqliteError(rc, c, path, kAction);
  }
  if (application_id != kApplicationId) {
    return Status::Corruption(Quoted(path) +
                              " is an SQLite database but not shorty's "
                              "(application_id); it is not a shorty backup");
  }
  if (version < 1 || version > kSchemaVersion) {
    return Status::Corruption(Quoted(path) + " has schema version " +
                              std::to_string(version) +
                              ", which this shorty "
                              "does not know (1 to " +
                              std::to_string(kSchemaVersion) + ")");
  }
  std::string problems;
  {
    Statement check = c.Prepare("PRAGMA integrity_check(5)");
    while ((rc = check.Step()) == SQLITE_ROW) {
      std::string line = check.Text(0);
      if (line == "ok") continue;
      std::replace(line.begin(), line.end(), '\n', ' ');
      if (!problems.empty()) problems += "; ";
      problems += line;
    }
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
      problems = sqlite3_errmsg(c.db());
    } else if (rc != SQLITE_DONE) {
      return SqliteError(rc, c, path, kAction);
    }
  }
  if (!problems.empty()) {
    return Status::Corruption(
        Quoted(path) + " is damaged (integrity_check: " + problems + ")");
  }
  BackupCheck result;
  result.schema_version = static_cast<int>(version);
  rc = QueryInt(c, kCountLinksSql, &result.links);
  if (rc != SQLITE_OK) return SqliteError(rc, c, path, kAction);
  return result;
}

}  // namespace shorty
