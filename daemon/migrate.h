// shortyd migrate: moves a shorty database from SQLite to PostgreSQL, for a
// site that outgrows one machine. Copies every link with all its fields and
// visit count, the history of every slug (deleted links' too), every token
// and the visit buckets behind `shorty stats`, then reads both databases
// back and checks that they hold the same.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"
#include "shared/store.h"
#include "shared/visit.h"

namespace shorty {

// What a store holds, as a migration counts it.
struct StoreCounts {
  int64_t links = 0;
  int64_t history = 0;        // entries of links and of deleted slugs
  int64_t deleted_slugs = 0;  // slugs with a history and no link now
  int64_t tokens = 0;
  int64_t visits = 0;         // the links' visit counts, summed
  int64_t buckets = 0;        // visit buckets (hours and days by dimension)
  int64_t bucket_visits = 0;  // the visits they hold, summed
};

struct MigrationReport {
  StoreCounts source;
  // What the target holds afterwards; history without the import entries.
  StoreCounts target;
  // One "import" history entry a link, by "shortyd migrate", recording
  // when the link moved (Store::ImportLinks adds it).
  int64_t import_entries = 0;
  // By this run; the rest were copied by an earlier run of the same copy.
  int64_t links_copied = 0;
  int64_t tokens_copied = 0;
  int64_t deleted_slugs_copied = 0;
};

// Adds visit buckets to a link of the target (PgStore::AddVisitBuckets).
using BucketWriter = std::function<Status(const std::vector<VisitBucket>&,
                                          std::string_view slug)>;
// Receives a line of progress now and then.
using MigrationProgress = std::function<void(const std::string& line)>;

struct CopyOptions {
  std::string from_name = "the source";  // names the stores in messages
  std::string to_name = "the target";
  bool case_sensitive = false;  // links.case_sensitive of both stores
  UnixTime now = 0;             // when the import entries say it happened
  std::string actor = "shortyd migrate";
  BucketWriter add_buckets;
  MigrationProgress progress;  // may be empty
};

// Copies `from` into `to`, which must be empty or hold only what an earlier
// run of the same copy put there (AlreadyExists naming the first link or
// token that is not from `from` otherwise; nothing is written then). A run
// that was cut off may be run again: it copies what is missing, adds
// nothing twice, and a finished copy run again copies nothing. Then checks,
// link by link and token by token, that `to` holds what `from` holds;
// Internal naming the first difference otherwise. Nothing may write to
// either store meanwhile. Errors of either store are passed on, prefixed
// with what was being done.
Result<MigrationReport> CopyStore(Store* from, Store* to,
                                  const CopyOptions& options);

struct MigrationRequest {
  std::string sqlite_path;
  std::string postgres;  // a libpq connection string
  bool case_sensitive = false;
  int connections = 2;
};

// Opens the SQLite database as shortyd would (NotFound when the file does
// not exist; Unavailable while a shortyd runs on it) and PostgreSQL, then
// CopyStore. Messages never hold the connection string's password.
Result<MigrationReport> Migrate(const MigrationRequest& request,
                                const MigrationProgress& progress);

// What a migration did, a few lines for people, each ending in '\n'.
std::string FormatMigrationReport(const MigrationReport& report);

}  // namespace shorty
