// The link store: the one interface behind which links, visit counts,
// tokens, history and idempotency keys are kept. It speaks in links and slugs,
// never in SQL, row ids or connection handles. SQLite is the embedded
// implementation; the contract tests in tests/store_contract.cc hold for every
// implementation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"
#include "shared/visit.h"

namespace shorty {

// How long an idempotency key is remembered: a create retried later than
// this with the same key makes a new link.
constexpr UnixTime kIdempotencyKeySeconds = 24 * 3600;

// What CreateLinkOnce did.
struct CreatedLink {
  Link link;
  // The key was seen before: nothing was created, and `link` is the link
  // the first create with the key made (as stored now).
  bool replayed = false;
};

struct StoreInfo {
  int64_t links = 0;  // every stored link, active or not
  int schema_version = 0;
  std::string backend;  // "sqlite"
};

// One link of an import, checked by the caller as for CreateLink.
struct ImportedLink {
  Link link;
  // The link's history where it came from, oldest first (seq and slug are
  // ignored); kept ahead of the import's own entry.
  std::vector<HistoryEntry> history;
};

// What ImportLinks did with one link.
enum class ImportOutcome {
  kImported,
  kAlreadyPresent,  // its folded slug is taken by a link with the same target
  kSlugTaken,       // its folded slug is taken by a link with another target
};

// A consistent copy of the whole store, in one file.
struct StoreBackup {
  std::string path;  // a new file beside the database; the caller removes it
  int64_t bytes = 0;
  int64_t links = 0;  // links in the copy
};

// Every method is thread-safe. Slugs passed in are looked up by their folded
// key (shared/slug.h SlugKey) under the store's case rule.
class Store {
 public:
  virtual ~Store() = default;

  // Stores a new link; its slug must be valid and its target validated by the
  // caller. AlreadyExists when the folded slug is taken. Records a "create"
  // history entry by link.created_by at link.created_at in the same
  // transaction. Durable on return.
  virtual Result<Link> CreateLink(const Link& link) = 0;

  // CreateLink at most once per `idempotency_key` (non-empty, else
  // InvalidArgument), so a client may retry a create whose answer it never
  // got. In one transaction: forgets keys recorded more than
  // kIdempotencyKeySeconds before link.created_at; then, when the key is
  // remembered and the link it made still exists, returns that link with
  // replayed = true and changes nothing else; when the key is remembered but
  // its link was deleted since, AlreadyExists "idempotency key was used for
  // a link since deleted"; when it was used by another creator (a different
  // created_by), AlreadyExists too. Otherwise creates the link exactly as
  // CreateLink does (AlreadyExists for a taken slug, the key then not
  // recorded) and remembers the key for it at link.created_at. Durable on
  // return.
  virtual Result<CreatedLink> CreateLinkOnce(
      const Link& link, std::string_view idempotency_key) = 0;

  // The link for a slug, or NotFound.
  virtual Result<Link> GetLink(std::string_view slug) = 0;

  // Applies a patch and sets updated_at = now. NotFound when absent.
  // Records a history entry by `actor` (action from ActionOf(patch, now),
  // changes from LinkChanges(before, after); shared/history.h) in the same
  // transaction; a patch that changes nothing records nothing. Returns the
  // link as stored after the change. Durable on return.
  virtual Result<Link> UpdateLink(std::string_view slug, const LinkPatch& patch,
                                  UnixTime now, const std::string& actor) = 0;

  // Deletes a link and its tags, recording a "delete" history entry by
  // `actor`; the slug's history stays. NotFound when absent. Durable on
  // return.
  virtual Status DeleteLink(std::string_view slug, UnixTime now,
                            const std::string& actor) = 0;

  // Every history entry of a slug (by its folded key, so a deleted link's
  // and an earlier link's of the same slug too), oldest first, at most
  // `limit` of the newest. Empty (not NotFound) when there are none.
  virtual Result<std::vector<HistoryEntry>> LinkHistory(std::string_view slug,
                                                        int limit) = 0;

  // Tokens. CreateToken: AlreadyExists when the name or id is taken.
  virtual Status CreateToken(const Token& token) = 0;
  // The token with this id, revoked and expired ones too; NotFound.
  virtual Result<Token> FindToken(std::string_view id) = 0;
  // Every token, revoked ones too, by name.
  virtual Result<std::vector<Token>> ListTokens() = 0;
  // Sets revoked_at = now; NotFound when no token has this name. Revoking a
  // revoked token keeps the first time.
  virtual Status RevokeToken(std::string_view name, UnixTime now) = 0;
  // Sets last_used_at = now. NotFound when absent.
  virtual Status TouchToken(std::string_view id, UnixTime now) = 0;

  // A page of links, newest first. InvalidArgument for a malformed cursor.
  virtual Result<LinkPage> ListLinks(const ListQuery& query) = 0;

  // Adds counted visits, all in one transaction: `count` to the link's
  // visit count, and each group to the link's hourly buckets (BucketsOf).
  // A group may describe visits whose count was already consumed
  // (ConsumeLimitedVisit): `count` need not be the groups' sum. Slugs that
  // no longer exist are skipped. On failure nothing is added, so the caller
  // may retry.
  struct VisitCount {
    VisitCount() = default;
    VisitCount(std::string slug_in, int64_t count_in,
               std::vector<VisitGroup> groups_in = {})
        : slug(std::move(slug_in)),
          count(count_in),
          groups(std::move(groups_in)) {}
    std::string slug;
    int64_t count = 0;
    std::vector<VisitGroup> groups;
  };
  virtual Status AddVisits(const std::vector<VisitCount>& counts) = 0;

  // The link's visit buckets that start at or after `since`, in no set
  // order. NotFound when the link is absent.
  virtual Result<std::vector<VisitBucket>> LinkVisits(std::string_view slug,
                                                      UnixTime since) = 0;

  // Rolls the hourly buckets that start before `before` (a day boundary)
  // up into one bucket a day, in one transaction, so a busy link's buckets
  // stop growing by the hour. Returns how many hourly buckets were folded.
  virtual Result<int64_t> RollUpVisits(UnixTime before) = 0;

  // Counts one visit of a link that has a visit limit, atomically and
  // durably: true when counted, false when the limit was already reached.
  // NotFound when the link is absent.
  virtual Result<bool> ConsumeLimitedVisit(std::string_view slug) = 0;

  virtual Result<StoreInfo> Info() = 0;

  // Imports links in one transaction, in order: a link whose folded slug
  // is free is stored with every field as given (created_at, visits and
  // created_by too), then its `history` entries, then an "import" entry by
  // `actor` at `now` whose changes are those of a create; a link whose
  // folded slug is taken stores nothing (kAlreadyPresent or kSlugTaken, as
  // the stored link's target is the same or not; an earlier link of the
  // same batch counts). So importing the same links twice adds nothing the
  // second time. One outcome per link, in order. On failure nothing at all
  // is stored. Durable on return.
  virtual Result<std::vector<ImportOutcome>> ImportLinks(
      const std::vector<ImportedLink>& links, UnixTime now,
      const std::string& actor) = 0;

  // A page of every link, active or not, in the order of their folded
  // slugs, so that the order does not depend on when links were made (for
  // exports). `cursor` is "" for the first page, then the previous page's
  // next_cursor; InvalidArgument for one that is not. `limit` is clamped to
  // 1..1000.
  virtual Result<LinkPage> ListAllLinks(const std::string& cursor,
                                        int limit) = 0;

  // Writes a copy of the whole store, consistent as of one moment, while
  // reads and writes go on, into a new file in the database's directory
  // (under systemd the one place the daemon may write); the caller sends it
  // on and removes it. IOError (disk full, no write access) with nothing
  // left behind.
  virtual Result<StoreBackup> WriteBackup() = 0;

  // Flushes what the engine buffers (a WAL checkpoint for SQLite) before a
  // clean shutdown.
  virtual Status Checkpoint() = 0;

  // Copying a whole store into another (shortyd migrate) needs two things
  // the methods above do not give: the history of slugs that have no link
  // any more, and a way to store it. A store that does not support them
  // answers Internal "... not supported"; SQLite and PostgreSQL do.

  // Every history entry of every slug, deleted links' too, with seq >
  // after_seq, oldest first, at most `limit` (clamped to 1..1000); empty
  // after the last. Entries are read as of one moment for each call.
  virtual Result<std::vector<HistoryEntry>> HistoryAfter(int64_t after_seq,
                                                         int limit) {
    (void)after_seq;
    (void)limit;
    return Status::Internal(
        "reading all history is not supported by this "
        "store");
  }

  // Stores history entries as given (slug, at, actor, action and changes;
  // each gets a new seq, in the order given) in one transaction, whether or
  // not a link of the slug exists; InvalidArgument for an entry with an
  // empty slug, and nothing stored. Durable on return.
  virtual Status AppendHistory(const std::vector<HistoryEntry>& entries) {
    (void)entries;
    return Status::Internal(
        "storing history entries is not supported by "
        "this store");
  }

  // A cheap, real check that the store can serve now: a trivial read, and
  // that the database is still the one opened (for SQLite: the file at the
  // configured path is the same file, not moved, deleted or replaced).
  // Unavailable with a message naming the database and what to do
  // otherwise. For readiness probes; costs about one indexed read.
  virtual Status Ping() = 0;
};

}  // namespace shorty
