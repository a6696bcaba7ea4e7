// The link store over SQLite, the embedded default: one database file in WAL
// mode, one writer connection behind a mutex and a small, bounded pool of
// read-only connections so lookups never wait for writes. Only
// shared/sqlite_store.cc includes sqlite3.h.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

class SqliteConnection;  // defined in sqlite_store.cc
class SqliteReaderPool;  // defined in sqlite_store.cc

struct SqliteOptions {
  // The database file. Its directory must exist; the file is created when
  // absent. A lock file PATH.lock is kept beside it.
  std::string path;
  // synchronous=FULL: acknowledged writes also survive power loss (NORMAL,
  // the default, survives a crash of the daemon but not of the machine).
  bool full_sync = false;
  // Slug lookup and uniqueness on the exact slug instead of its ASCII
  // lower-case form. Changing it for an existing database re-keys the links
  // and their history at Open (refused, with nothing changed, when two
  // slugs would collide).
  bool case_sensitive = false;
  // Read-only connections for GetLink, ListLinks, LinkHistory, FindToken,
  // ListTokens and Info; clamped to 1..64.
  int readers = 4;
};

// Thread-safe: every Store method may be called from any thread at once.
class SqliteStore : public Store {
 public:
  // Opens the database, creating it when absent: takes the lock file, checks
  // an existing file (header, PRAGMA quick_check, schema version) before
  // writing anything to it, then switches to WAL and migrates the schema.
  // Errors, each naming the path and what to do:
  //   IOError      the directory is missing, or the file or directory is not
  //                readable or writable;
  //   Unavailable  another shortyd holds the lock ("already running"), or the
  //                schema is newer than this build understands;
  //   Corruption   the file is not a shorty database or is damaged; it is
  //                left exactly as it was;
  //   InvalidArgument  switching to case-insensitive slugs would merge two
  //                links; nothing is changed.
  static Result<std::unique_ptr<SqliteStore>> Open(
      const SqliteOptions& options);

  // Closes the connections (checkpointing the WAL) and releases the lock.
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<Link> CreateLink(const Link& link) override;
  Result<CreatedLink> CreateLinkOnce(const Link& link,
                                     std::string_view idempotency_key) override;
  Result<Link> GetLink(std::string_view slug) override;
  Result<Link> UpdateLink(std::string_view slug, const LinkPatch& patch,
                          UnixTime now, const std::string& actor) override;
  Status DeleteLink(std::string_view slug, UnixTime now,
                    const std::string& actor) override;
  Result<std::vector<HistoryEntry>> LinkHistory(std::string_view slug,
                                                int limit) override;
  Status CreateToken(const Token& token) override;
  Result<Token> FindToken(std::string_view id) override;
  Result<std::vector<Token>> ListTokens() override;
  Status RevokeToken(std::string_view name, UnixTime now) override;
  Status TouchToken(std::string_view id, UnixTime now) override;
  Result<LinkPage> ListLinks(const ListQuery& query) override;
  Status AddVisits(const std::vector<VisitCount>& counts) override;
  Result<bool> ConsumeLimitedVisit(std::string_view slug) override;
  Result<std::vector<VisitBucket>> LinkVisits(std::string_view slug,
                                              UnixTime since) override;
  Result<int64_t> RollUpVisits(UnixTime before) override;
  Result<StoreInfo> Info() override;
  Status Checkpoint() override;
  Result<std::vector<ImportOutcome>> ImportLinks(
      const std::vector<ImportedLink>& links, UnixTime now,
      const std::string& actor) override;
  Result<LinkPage> ListAllLinks(const std::string& cursor, int limit) override;
  // The copy uses SQLite's online backup API from a connection of its own,
  // in one step, so it is one read transaction's snapshot; WAL lets writes
  // go on meanwhile. The copy is in rollback-journal mode, so it can be
  // opened read-only without -wal and -shm files.
  Result<StoreBackup> WriteBackup() override;
  Status Ping() override;
  Result<std::vector<HistoryEntry>> HistoryAfter(int64_t after_seq,
                                                 int limit) override;
  Status AppendHistory(const std::vector<HistoryEntry>& entries) override;

  const std::string& path() const { return path_; }

  // What CheckBackup found in a backup copy.
  struct BackupCheck {
    int64_t links = 0;
    int schema_version = 0;
  };
  // Checks a copy WriteBackup made (and a client saved) without changing
  // it: opens it read-only, runs PRAGMA integrity_check and checks that it
  // is a shorty database (application_id) of a schema this build knows.
  // Corruption naming the file and the problem; IOError when it cannot be
  // read. Never used on the live database: shortyd alone opens that.
  static Result<BackupCheck> CheckBackup(const std::string& path);

 private:
  SqliteStore(std::string path, bool case_sensitive, int lock_fd);

  Status OpenDatabase(const SqliteOptions& options);
  Status Migrate();
  Status ApplyCaseRule();
  // Inserts a link, its tags and its "create" history entry inside the
  // caller's write transaction on `c` (the writer, under writer_mu_).
  Result<Link> InsertLink(SqliteConnection& c, const Link& link);

  const std::string path_;
  const bool case_sensitive_;
  int lock_fd_;  // flock(LOCK_EX) held for the store's lifetime
  // The database file's identity when opened, for Ping.
  dev_t file_dev_ = 0;
  ino_t file_ino_ = 0;
  int schema_version_ = 0;

  std::mutex writer_mu_;  // guards writer_: one write transaction at a time
  std::unique_ptr<SqliteConnection> writer_;
  std::unique_ptr<SqliteReaderPool> readers_;
};

}  // namespace shorty
