// Import, export and backup: the operations on every link at once. Imports
// apply shorty's rules to links from other systems (or from a shorty
// export) and store them in batches; exports page through every link; a
// backup is a consistent copy of the store. Also the JSON of the import API
// (POST /-/api/v1/import), shared by the daemon and the CLI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/import_formats.h"
#include "shared/link.h"
#include "shared/link_service.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

// What an import did with one link.
struct ImportResult {
  enum class Kind {
    kImported,
    kRenamed,         // imported, under `slug`: the source's broke the rules
    kAlreadyPresent,  // a link with the same folded slug and target exists
    kSkipped,         // not imported: `reason`
  };
  Kind kind = Kind::kImported;
  std::string slug;    // kRenamed: the slug it was imported under
  std::string reason;  // kSkipped: the rule broken, e.g. "target: ..."
};

// Thread-safe.
class ImportService {
 public:
  // All three must outlive the service.
  ImportService(Store* store, LinkService* links, VisitLedger* ledger);

  // Imports a batch of links by `actor`, in one store transaction. Each
  // link is checked first: a slug that breaks the slug rules is cleaned
  // (CleanSlug) and the link imported under the new slug (kRenamed), or
  // skipped when nothing is left; a target is checked and normalised as a
  // create's (scheme, length, blocklist, this server's own host); titles,
  // notes and tags are made to fit (control characters become spaces, long
  // text is cut, tags cleaned like slugs); a bad status, visit limit, visit
  // count, password hash or history entry skips the link, with the reason.
  // Then Store::ImportLinks: a link whose folded slug is taken is
  // kAlreadyPresent when the target is the same, else skipped ("slug
  // taken: ..."). Unset times are now; an unset creator is `actor`. One
  // result per link, in order. With `dry_run`, nothing is stored and the
  // results are those an import would have now (against the stored links
  // and the batch's earlier links). Errors are the store's (Unavailable,
  // IOError, ...): then nothing of the batch was stored.
  Result<std::vector<ImportResult>> Import(const std::vector<SourceLink>& links,
                                           const std::string& actor,
                                           bool dry_run);

  // A page of every link, active or not, by folded slug, with the visits
  // not yet flushed added in (Store::ListAllLinks).
  Result<LinkPage> ExportPage(const std::string& cursor, int limit);

  // A link's history for an export: its newest 1000 changes, oldest first.
  Result<std::vector<HistoryEntry>> History(const std::string& slug);

  // A consistent copy of the whole store (Store::WriteBackup); the caller
  // removes the file.
  Result<StoreBackup> WriteBackup();

  UnixTime Now() const { return links_->Now(); }

 private:
  Store* store_;
  LinkService* links_;
  VisitLedger* ledger_;
};

// The import API: POST /-/api/v1/import with
//   {"dry_run": false, "links": [ITEM, ...]}
// at most kMaxImportBatchLinks links. An ITEM holds a SourceLink's fields
// by their names ("slug", "target", "title", "note", "tags", "status",
// "created_at", "updated_at", "created_by", "expires_at", "max_visits",
// "visits", "disabled", "password_hash", "history"); times are seconds
// since the epoch; "history" is [{"at", "actor", "action", "changes"}].
// Fields left out take their defaults.
constexpr size_t kMaxImportBatchLinks = 5000;
// A client keeps its batches below this, under the daemon's 1 MiB limit on
// requests.
constexpr size_t kMaxImportBatchBytes = 900 * 1024;

// One ITEM, as JSON text, so a client can size its batches by bytes.
std::string ImportItemJson(const SourceLink& link);
// The request body for ITEMs made by ImportItemJson.
std::string ImportBatchJson(const std::vector<std::string>& items,
                            bool dry_run);

struct ImportBatch {
  bool dry_run = false;
  std::vector<SourceLink> links;
};
// Parses a request body; BadRequest naming the field for anything
// malformed, unknown or of the wrong type, or for too many links.
Result<ImportBatch> ParseImportBatch(std::string_view body);

// The answer:
//   {"imported": N, "renamed": N, "already_present": N, "skipped": N,
//    "outcomes": "iirps...", "details": [{"index": I, "slug"|"reason": S}]}
// one letter a link (i imported, r renamed, p already present, s skipped),
// details for the renamed and skipped ones.
std::string ImportResultsJson(const std::vector<ImportResult>& results);
// Parses an answer for `expected` links; BadRequest when it is not one.
Result<std::vector<ImportResult>> ParseImportResults(std::string_view body,
                                                     size_t expected);

}  // namespace shorty
