#include "daemon/migrate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <unordered_set>
#include <utility>

#include "shared/config.h"
#include "shared/pg_store.h"
#include "shared/slug.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

// Links a round trip: each page is one ImportLinks transaction.
constexpr int kLinkPage = 500;
// The most LinkHistory and HistoryAfter give at once.
constexpr int kHistoryPage = 1000;

std::string Quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// A store's failure with what the migration was doing.
Status Failed(const std::string& doing, const Status& status) {
  return Status(status.code(), doing + ": " + status.message());
}

// Every history entry of a slug, oldest first. LinkHistory gives the
// newest kHistoryPage; a slug with more is read from the whole history.
Result<std::vector<HistoryEntry>> FullHistory(Store* store,
                                              const std::string& slug,
                                              bool case_sensitive) {
  Result<std::vector<HistoryEntry>> newest =
      store->LinkHistory(slug, kHistoryPage);
  if (!newest.ok() || static_cast<int>(newest->size()) < kHistoryPage) {
    return newest;
  }
  const std::string key = SlugKey(slug, case_sensitive);
  std::vector<HistoryEntry> all;
  int64_t after = 0;
  for (;;) {
    Result<std::vector<HistoryEntry>> page =
        store->HistoryAfter(after, kHistoryPage);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back().seq;
    for (HistoryEntry& entry : *page) {
      if (SlugKey(entry.slug, case_sensitive) == key) {
        all.push_back(std::move(entry));
      }
    }
  }
  return all;
}

int64_t SumOfVisits(const std::vector<VisitBucket>& buckets) {
  int64_t sum = 0;
  for (const VisitBucket& bucket : buckets) sum += bucket.visits;
  return sum;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The first field in which two copies of a link differ; "" when none.
std::string LinkDifference(const Link& a, const Link& b) {
  if (a.slug != b.slug) return "slug";
  if (a.target != b.target) return "target";
  if (a.title != b.title) return "title";
  if (a.note != b.note) return "note";
  if (Sorted(a.tags) != Sorted(b.tags)) return "tags";
  if (a.status != b.status) return "status";
  if (a.created_at != b.created_at) return "created_at";
  if (a.updated_at != b.updated_at) return "updated_at";
  if (a.created_by != b.created_by) return "created_by";
  if (a.expires_at != b.expires_at) return "expires_at";
  if (a.max_visits != b.max_visits) return "max_visits";
  if (a.visits != b.visits) return "visits";
  if (a.disabled != b.disabled) return "disabled";
  if (a.password_hash != b.password_hash) return "password";
  return "";
}

std::string TokenDifference(const Token& a, const Token& b) {
  if (a.name != b.name) return "name";
  if (a.secret_digest != b.secret_digest) return "secret";
  if (a.scope != b.scope) return "scope";
  if (a.created_at != b.created_at) return "created_at";
  if (a.created_by != b.created_by) return "created_by";
  if (a.last_used_at != b.last_used_at) return "last_used_at";
  if (a.expires_at != b.expires_at) return "expires_at";
  if (a.revoked_at != b.revoked_at) return "revoked_at";
  return "";
}

class Copier {
 public:
  Copier(Store* from, Store* to, const CopyOptions& options)
      : from_(from), to_(to), o_(options) {}

  Result<MigrationReport> Run() {
    if (Status s = CheckTarget(); !s.ok()) return s;
    if (Status s = CopyTokens(); !s.ok()) return s;
    if (Status s = CopyLinks(); !s.ok()) return s;
    if (Status s = CopyDeletedHistory(); !s.ok()) return s;
    Say("verifying");
    if (Status s = VerifyTokens(); !s.ok()) return s;
    if (Status s = VerifyLinks(); !s.ok()) return s;
    if (Status s = VerifyTotals(); !s.ok()) return s;
    return report_;
  }

 private:
  void Say(const std::string& line) {
    if (o_.progress) o_.progress(line);
  }

  Status Mismatch(const std::string& what) {
    return Status::Internal("verification failed: " + what + "; the copy in " +
                            o_.to_name +
                            " is not to be used: empty it and run "
                            "shortyd migrate again");
  }

  // The target must be empty, or hold only links and tokens of the source:
  // what an earlier run of this same copy wrote before it was cut off.
  Status CheckTarget() {
    const std::string refusal =
        " already holds data that is not from " + o_.from_name +
        "; shortyd migrate copies into an empty database, or finishes an "
        "earlier run of the same copy; create an empty database (createdb) "
        "and migrate into that";
    Result<std::vector<Token>> tokens = to_->ListTokens();
    if (!tokens.ok()) {
      return Failed("reading the tokens of " + o_.to_name, tokens.status());
    }
    for (const Token& token : *tokens) {
      Result<Token> mine = from_->FindToken(token.id);
      if (!mine.ok() && mine.status().code() != Code::kNotFound) {
        return Failed("reading a token of " + o_.from_name, mine.status());
      }
      if (!mine.ok() || mine->name != token.name) {
        return Status::AlreadyExists(o_.to_name + refusal + " (token " +
                                     Quoted(token.name) + ")");
      }
    }
    std::string cursor;
    do {
      Result<LinkPage> page = to_->ListAllLinks(cursor, kLinkPage);
      if (!page.ok()) {
        return Failed("reading the links of " + o_.to_name, page.status());
      }
      for (const Link& link : page->links) {
        Result<Link> mine = from_->GetLink(link.slug);
        if (!mine.ok() && mine.status().code() != Code::kNotFound) {
          return Failed("reading a link of " + o_.from_name, mine.status());
        }
        if (!mine.ok() || mine->target != link.target) {
          return Status::AlreadyExists(o_.to_name + refusal + " (link " +
                                       Quoted(link.slug) + ")");
        }
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    return Status::Ok();
  }

  Status CopyTokens() {
    Result<std::vector<Token>> tokens = from_->ListTokens();
    if (!tokens.ok()) {
      return Failed("reading the tokens of " + o_.from_name, tokens.status());
    }
    for (const Token& token : *tokens) {
      Status created = to_->CreateToken(token);
      if (created.ok()) {
        ++report_.tokens_copied;
      } else if (created.code() != Code::kAlreadyExists) {
        // AlreadyExists: an earlier run copied it; verified below.
        return Failed("copying token " + Quoted(token.name), created);
      }
    }
    report_.source.tokens = static_cast<int64_t>(tokens->size());
    Say("tokens: " + std::to_string(report_.tokens_copied) + " copied of " +
        std::to_string(tokens->size()));
    return Status::Ok();
  }

  // Links a page at a time, each page with its links' history in one
  // ImportLinks transaction, so a run cut off leaves whole links behind;
  // then each link's visit buckets.
  Status CopyLinks() {
    std::string cursor;
    int pages = 0;
    do {
      Result<LinkPage> page = from_->ListAllLinks(cursor, kLinkPage);
      if (!page.ok()) {
        return Failed("reading the links of " + o_.from_name, page.status());
      }
      std::vector<ImportedLink> batch;
      batch.reserve(page->links.size());
      for (const Link& link : page->links) {
        Result<std::vector<HistoryEntry>> history =
            FullHistory(from_, link.slug, o_.case_sensitive);
        if (!history.ok()) {
          return Failed("reading the history of " + Quoted(link.slug),
                        history.status());
        }
        batch.push_back({link, std::move(*history)});
      }
      Result<std::vector<ImportOutcome>> outcomes =
          to_->ImportLinks(batch, o_.now, o_.actor);
      if (!outcomes.ok()) {
        return Failed("copying links into " + o_.to_name, outcomes.status());
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        const Link& link = batch[i].link;
        const ImportOutcome outcome = (*outcomes)[i];
        if (outcome == ImportOutcome::kSlugTaken) {
          return Status::AlreadyExists(
              o_.to_name + " holds another link with the slug " +
              Quoted(link.slug) + "; migrate into an empty database");
        }
        if (outcome == ImportOutcome::kImported) ++report_.links_copied;
        if (Status s = CopyBuckets(link, outcome); !s.ok()) return s;
      }
      if (++pages % 20 == 0) {
        Say("links: " + std::to_string(report_.links_copied) + " copied");
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    Say("links: " + std::to_string(report_.links_copied) + " copied");
    return Status::Ok();
  }

  Status CopyBuckets(const Link& link, ImportOutcome outcome) {
    Result<std::vector<VisitBucket>> buckets = from_->LinkVisits(link.slug, 0);
    if (!buckets.ok()) {
      return Failed("reading the visits of " + Quoted(link.slug),
                    buckets.status());
    }
    if (buckets->empty()) return Status::Ok();
    if (outcome == ImportOutcome::kAlreadyPresent) {
      // Copied by an earlier run, unless it was cut off between the link
      // and its buckets.
      Result<std::vector<VisitBucket>> there = to_->LinkVisits(link.slug, 0);
      if (!there.ok()) {
        return Failed(
            "reading the visits of " + Quoted(link.slug) + " in " + o_.to_name,
            there.status());
      }
      if (!there->empty()) return Status::Ok();
    }
    Status added = o_.add_buckets(*buckets, link.slug);
    if (!added.ok()) {
      return Failed("copying the visits of " + Quoted(link.slug), added);
    }
    return Status::Ok();
  }

  // Slugs whose link was deleted keep their history, which no link carries
  // across: each such slug's whole history is stored in one transaction.
  // A slug without a link has a "delete" as its last entry, so those
  // entries find them all.
  Status CopyDeletedHistory() {
    std::unordered_set<std::string> done;
    int64_t after = 0;
    for (;;) {
      Result<std::vector<HistoryEntry>> page =
          from_->HistoryAfter(after, kHistoryPage);
      if (!page.ok()) {
        return Failed("reading the history of " + o_.from_name, page.status());
      }
      if (page->empty()) break;
      after = page->back().seq;
      history_in_source_ += static_cast<int64_t>(page->size());
      for (const HistoryEntry& entry : *page) {
        if (entry.action != "delete") continue;
        const std::string key = SlugKey(entry.slug, o_.case_sensitive);
        if (done.count(key) != 0) continue;
        Result<Link> link = from_->GetLink(entry.slug);
        if (link.ok()) continue;  // recreated since: copied with the link
        if (link.status().code() != Code::kNotFound) {
          return Failed("reading link " + Quoted(entry.slug), link.status());
        }
        done.insert(key);
        if (Status s = CopyHistoryOf(entry.slug); !s.ok()) return s;
      }
    }
    Say("history of deleted links: " +
        std::to_string(report_.deleted_slugs_copied) + " slugs copied of " +
        std::to_string(report_.source.deleted_slugs));
    return Status::Ok();
  }

  Status CopyHistoryOf(const std::string& slug) {
    Result<std::vector<HistoryEntry>> history =
        FullHistory(from_, slug, o_.case_sensitive);
    if (!history.ok()) {
      return Failed("reading the history of " + Quoted(slug), history.status());
    }
    Result<std::vector<HistoryEntry>> there = to_->LinkHistory(slug, 1);
    if (!there.ok()) {
      return Failed(
          "reading the history of " + Quoted(slug) + " in " + o_.to_name,
          there.status());
    }
    if (there->empty()) {
      Status appended = to_->AppendHistory(*history);
      if (!appended.ok()) {
        return Failed("copying the history of deleted link " + Quoted(slug),
                      appended);
      }
      ++report_.deleted_slugs_copied;
    }
    Result<std::vector<HistoryEntry>> copied =
        FullHistory(to_, slug, o_.case_sensitive);
    if (!copied.ok()) {
      return Failed(
          "reading the history of " + Quoted(slug) + " in " + o_.to_name,
          copied.status());
    }
    if (copied->size() != history->size()) {
      return Mismatch("deleted link " + Quoted(slug) + " has " +
                      std::to_string(history->size()) + " history entries in " +
                      o_.from_name + " and " + std::to_string(copied->size()) +
                      " in " + o_.to_name);
    }
    ++report_.source.deleted_slugs;
    ++report_.target.deleted_slugs;
    report_.source.history += static_cast<int64_t>(history->size());
    report_.target.history += static_cast<int64_t>(copied->size());
    return Status::Ok();
  }

  Status VerifyTokens() {
    Result<std::vector<Token>> mine = from_->ListTokens();
    Result<std::vector<Token>> theirs = to_->ListTokens();
    if (!mine.ok()) return Failed("reading tokens", mine.status());
    if (!theirs.ok()) return Failed("reading tokens", theirs.status());
    std::map<std::string, const Token*> by_id;
    for (const Token& token : *theirs) by_id[token.id] = &token;
    for (const Token& token : *mine) {
      auto it = by_id.find(token.id);
      if (it == by_id.end()) {
        return Mismatch("token " + Quoted(token.name) + " is missing from " +
                        o_.to_name);
      }
      const std::string field = TokenDifference(token, *it->second);
      if (!field.empty()) {
        return Mismatch("token " + Quoted(token.name) + " differs in " + field);
      }
    }
    report_.target.tokens = static_cast<int64_t>(theirs->size());
    if (theirs->size() != mine->size()) {
      return Mismatch(std::to_string(mine->size()) + " tokens in " +
                      o_.from_name + ", " + std::to_string(theirs->size()) +
                      " in " + o_.to_name);
    }
    return Status::Ok();
  }

  Status VerifyLinks() {
    std::string cursor;
    do {
      Result<LinkPage> page = from_->ListAllLinks(cursor, kLinkPage);
      if (!page.ok()) return Failed("reading links", page.status());
      for (const Link& link : page->links) {
        if (Status s = VerifyLink(link); !s.ok()) return s;
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    return Status::Ok();
  }

  Status VerifyLink(const Link& link) {
    const std::string name = "link " + Quoted(link.slug);
    Result<Link> copy = to_->GetLink(link.slug);
    if (!copy.ok()) {
      if (copy.status().code() == Code::kNotFound) {
        return Mismatch(name + " is missing from " + o_.to_name);
      }
      return Failed("reading " + name, copy.status());
    }
    const std::string field = LinkDifference(link, *copy);
    if (!field.empty()) return Mismatch(name + " differs in " + field);
    ++report_.source.links;
    ++report_.target.links;
    report_.source.visits += link.visits;
    report_.target.visits += copy->visits;

    Result<std::vector<HistoryEntry>> history =
        FullHistory(from_, link.slug, o_.case_sensitive);
    Result<std::vector<HistoryEntry>> copied =
        FullHistory(to_, link.slug, o_.case_sensitive);
    if (!history.ok()) return Failed("reading history", history.status());
    if (!copied.ok()) return Failed("reading history", copied.status());
    // The copy's history is the original's and then the import entry.
    if (copied->size() != history->size() + 1 ||
        copied->back().action != "import") {
      return Mismatch(name + " has " + std::to_string(history->size()) +
                      " history entries in " + o_.from_name + " and " +
                      std::to_string(copied->size()) + " in " + o_.to_name +
                      ", where one more (its import) was expected");
    }
    for (size_t i = 0; i < history->size(); ++i) {
      const HistoryEntry& a = (*history)[i];
      const HistoryEntry& b = (*copied)[i];
      if (a.at != b.at || a.actor != b.actor || a.action != b.action ||
          a.changes != b.changes) {
        return Mismatch(name + ": history entry " + std::to_string(i + 1) +
                        " differs");
      }
    }
    report_.source.history += static_cast<int64_t>(history->size());
    report_.target.history += static_cast<int64_t>(copied->size()) - 1;
    ++report_.import_entries;

    Result<std::vector<VisitBucket>> buckets = from_->LinkVisits(link.slug, 0);
    Result<std::vector<VisitBucket>> copied_buckets =
        to_->LinkVisits(link.slug, 0);
    if (!buckets.ok()) return Failed("reading visits", buckets.status());
    if (!copied_buckets.ok()) {
      return Failed("reading visits", copied_buckets.status());
    }
    const int64_t sum = SumOfVisits(*buckets);
    const int64_t copied_sum = SumOfVisits(*copied_buckets);
    if (buckets->size() != copied_buckets->size() || sum != copied_sum) {
      return Mismatch(name + " has " + std::to_string(buckets->size()) +
                      " visit buckets (" + std::to_string(sum) +
                      " visits) in " + o_.from_name + " and " +
                      std::to_string(copied_buckets->size()) + " (" +
                      std::to_string(copied_sum) + ") in " + o_.to_name);
    }
    report_.source.buckets += static_cast<int64_t>(buckets->size());
    report_.target.buckets += static_cast<int64_t>(copied_buckets->size());
    report_.source.bucket_visits += sum;
    report_.target.bucket_visits += copied_sum;
    return Status::Ok();
  }

  Status VerifyTotals() {
    Result<StoreInfo> mine = from_->Info();
    Result<StoreInfo> theirs = to_->Info();
    if (!mine.ok()) return Failed("reading " + o_.from_name, mine.status());
    if (!theirs.ok()) return Failed("reading " + o_.to_name, theirs.status());
    if (mine->links != report_.source.links ||
        theirs->links != report_.target.links) {
      return Mismatch(std::to_string(mine->links) + " links in " +
                      o_.from_name + ", " + std::to_string(theirs->links) +
                      " in " + o_.to_name + ", " +
                      std::to_string(report_.source.links) + " compared");
    }
    // Every entry belongs to a link or to a deleted slug; one that did not
    // would have been left behind.
    if (history_in_source_ != report_.source.history) {
      return Mismatch(
          std::to_string(history_in_source_ - report_.source.history) +
          " history entries of " + o_.from_name +
          " belong to no link and no deleted link, and were not copied");
    }
    return Status::Ok();
  }

  Store* from_;
  Store* to_;
  const CopyOptions& o_;
  MigrationReport report_;
  int64_t history_in_source_ = 0;  // every entry, counted while copying
};

}  // namespace

Result<MigrationReport> CopyStore(Store* from, Store* to,
                                  const CopyOptions& options) {
  return Copier(from, to, options).Run();
}

Result<MigrationReport> Migrate(const MigrationRequest& request,
                                const MigrationProgress& progress) {
  const std::string from_name = "sqlite:" + request.sqlite_path;
  struct stat st {};
  if (::stat(request.sqlite_path.c_str(), &st) != 0) {
    const int err = errno;
    return Status::NotFound(from_name + ": " + std::strerror(err) +
                            "; give the database shortyd used "
                            "(storage.path, e.g. /var/lib/shorty/shorty.db)");
  }
  SqliteOptions sqlite;
  sqlite.path = request.sqlite_path;
  sqlite.case_sensitive = request.case_sensitive;
  sqlite.readers = 2;
  Result<std::unique_ptr<SqliteStore>> from = SqliteStore::Open(sqlite);
  if (!from.ok()) {
    if (from.status().code() == Code::kUnavailable) {
      return Status::Unavailable(from.status().message() +
                                 "; stop shortyd first (systemctl stop "
                                 "shortyd): the copy must not miss a write");
    }
    return from.status();
  }
  PgOptions postgres;
  postgres.conninfo = request.postgres;
  postgres.case_sensitive = request.case_sensitive;
  postgres.connections = request.connections;
  Result<std::unique_ptr<PgStore>> to = PgStore::Open(postgres);
  if (!to.ok()) {
    return Status(to.status().code(),
                  "postgres:" + ConninfoForLog(request.postgres) + ": " +
                      to.status().message());
  }
  PgStore* target = to->get();
  CopyOptions options;
  options.from_name = from_name;
  options.to_name = "PostgreSQL";
  options.case_sensitive = request.case_sensitive;
  options.now = static_cast<UnixTime>(std::time(nullptr));
  options.add_buckets = [target](const std::vector<VisitBucket>& buckets,
                                 std::string_view slug) {
    return target->AddVisitBuckets(buckets, slug);
  };
  options.progress = progress;
  return CopyStore(from->get(), target, options);
}

std::string FormatMigrationReport(const MigrationReport& r) {
  auto n = [](int64_t value) { return std::to_string(value); };
  auto earlier = [&](int64_t total, int64_t now) {
    return total == now ? std::string()
                        : " (" + n(total - now) + " by an earlier run)";
  };
  std::string out;
  out += "links:    " + n(r.source.links) + ", " + n(r.links_copied) +
         " copied now" + earlier(r.source.links, r.links_copied) + "\n";
  out += "history:  " + n(r.source.history) + " entries, of " +
         n(r.source.links) + " links and " + n(r.source.deleted_slugs) +
         " deleted links, plus " + n(r.import_entries) +
         " \"import\" entries that record the move\n";
  out += "tokens:   " + n(r.source.tokens) + ", " + n(r.tokens_copied) +
         " copied now" + earlier(r.source.tokens, r.tokens_copied) + "\n";
  out += "visits:   " + n(r.source.visits) + " counted, " +
         n(r.source.buckets) + " stats buckets\n";
  out +=
      "verified: PostgreSQL holds the same links, history, tokens and "
      "visits\n";
  return out;
}

}  // namespace shorty
