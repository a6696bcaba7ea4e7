// The link store over PostgreSQL, for several shortyd nodes sharing one
// database: the same Store contract as SQLite (tests/store_contract.cc), a
// small pool of libpq connections, and change notices (LISTEN/NOTIFY) so
// that every node's redirect cache forgets a link another node wrote. Only
// shared/pg_store.cc includes libpq-fe.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

struct PgOptions {
  // A libpq connection string or URI for the primary: every write, and
  // every read unless read_conninfo is set.
  std::string conninfo;
  // Optional: reads that may lag the primary by the replication delay
  // (ListLinks, ListAllLinks, LinkHistory, LinkVisits, Info) go here, e.g.
  // a streaming replica ("... target_session_attrs=prefer-standby").
  // GetLink, which fills the redirect cache and answers a client reading
  // back what it wrote, always reads the primary.
  std::string read_conninfo;
  // As SqliteOptions::case_sensitive. Must match how the database was
  // made: Open refuses (InvalidArgument) a database made with the other
  // rule rather than re-keying a shared database under other nodes.
  bool case_sensitive = false;
  // Connections in each pool; clamped to 1..64.
  int connections = 4;
  // libpq's connect_timeout for each (re)connection, in seconds.
  int connect_timeout_seconds = 5;
};

// Thread-safe: every Store method may be called from any thread at once.
// A connection that breaks is dropped and made again on next use, so the
// store recovers by itself when the server comes back; meanwhile methods
// fail with Unavailable naming the server and what to do.
class PgStore : public Store {
 public:
  // Connects, then creates or migrates the schema (tables named shorty_*,
  // a schema_version row in shorty_meta, under an advisory lock so that
  // nodes starting together do not race) and records or checks the case
  // rule. Unavailable when the server cannot be reached (naming its host,
  // port and database, never the password) or is older than PostgreSQL
  // 12; InvalidArgument for a malformed connection string, or a database
  // made with the other case rule (nothing changed); Unavailable when the
  // schema is newer than this build understands.
  static Result<std::unique_ptr<PgStore>> Open(const PgOptions& options);

  // Stops the change watcher and closes every connection.
  ~PgStore() override;

  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // Every write to a link (create, update, delete, import, a limited visit
  // consumed) sends NOTIFY shorty_links with the link's slug key, in the
  // write's own transaction, so it is delivered on commit and only then.
  // WatchChanges starts one thread that LISTENs on a connection of its own
  // to the primary and calls `changed(slug_key)` for each notice, from any
  // node including this one. Notices are not replayed after a connection
  // is lost, so after every (re)connection, the first included, it calls
  // `resync()`: the caller must forget everything it cached. While the
  // server is away it retries every `retry_ms`. Call at most once (later
  // calls do nothing). The callbacks run on the watcher's thread, never
  // after the store's destructor returns; they must not call WatchChanges.
  void WatchChanges(std::function<void(const std::string& slug_key)> changed,
                    std::function<void()> resync, int retry_ms = 500);

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
  Result<StoreInfo> Info() override;  // backend "postgres"
  Status Checkpoint() override;       // nothing to flush: OK
  Result<std::vector<ImportOutcome>> ImportLinks(
      const std::vector<ImportedLink>& links, UnixTime now,
      const std::string& actor) override;
  Result<LinkPage> ListAllLinks(const std::string& cursor, int limit) override;
  // Unimplemented: a PostgreSQL database is backed up with its own tools
  // (pg_dump, pg_basebackup); the message says so.
  Result<StoreBackup> WriteBackup() override;
  Status Ping() override;  // a one-row read on the primary
  // A single snapshot a call. A seq is taken when its entry is written, so
  // while other nodes write, an entry may commit after a page that skipped
  // its seq; shortyd migrate reads a store no one writes to.
  Result<std::vector<HistoryEntry>> HistoryAfter(int64_t after_seq,
                                                 int limit) override;
  Status AppendHistory(const std::vector<HistoryEntry>& entries) override;

  // For migration, which reads tokens, links and history through the Store
  // interface (ListTokens, ListAllLinks, HistoryAfter) and writes them with
  // CreateToken, ImportLinks and AppendHistory: adds `buckets` (summed
  // where they share start, dimension, value and bot) to the visit buckets
  // of the link `slug`, in one transaction. NotFound when the link is
  // absent; buckets of no visits are skipped. Thread-safe.
  Status AddVisitBuckets(const std::vector<VisitBucket>& buckets,
                         std::string_view slug);

 private:
  class Impl;
  explicit PgStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shorty
