// Watching the link store from outside: TimedStore, a Store that times every
// call into shorty_db_operation_duration_seconds{operation} and counts
// failures in shorty_db_errors_total{operation} before handing the answer
// back unchanged; the shorty_links gauge; and StoreProbe, the rate-limited
// database check behind /-/ready.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "daemon/metrics.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

// The operations TimedStore measures, one per Store method.
enum class StoreOperation {
  kCreateLink,
  kCreateLinkOnce,
  kGetLink,
  kUpdateLink,
  kDeleteLink,
  kLinkHistory,
  kCreateToken,
  kFindToken,
  kListTokens,
  kRevokeToken,
  kTouchToken,
  kListLinks,
  kAddVisits,
  kConsumeLimitedVisit,
  kLinkVisits,
  kRollUpVisits,
  kInfo,
  kImportLinks,
  kListAllLinks,
  kWriteBackup,
  kCheckpoint,
  kPing,
};
constexpr size_t kStoreOperations = 22;

// The label value of an operation ("get_link", "add_visits", ...).
const char* StoreOperationName(StoreOperation operation);

// Whether a store's answer means the store failed (IOError, Corruption,
// Unavailable, Internal) rather than answered (NotFound, AlreadyExists,
// InvalidArgument and the like are answers). Pure.
bool IsStoreFailure(const Status& status);

// Delegates every call to `inner` and records how long it took and whether
// it failed. Adds two clock reads and a few relaxed atomic updates to each
// call; no lock, no allocation. Thread-safe as `inner` is.
class TimedStore : public Store {
 public:
  // Registers the operation metrics on `metrics`, which must outlive this.
  TimedStore(std::unique_ptr<Store> inner, Metrics* metrics);

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
  Result<std::vector<ImportOutcome>> ImportLinks(
      const std::vector<ImportedLink>& links, UnixTime now,
      const std::string& actor) override;
  Result<LinkPage> ListAllLinks(const std::string& cursor, int limit) override;
  Result<StoreBackup> WriteBackup() override;
  Status Checkpoint() override;
  Status Ping() override;
  // Handed on untimed: only shortyd migrate uses them, never a daemon.
  Result<std::vector<HistoryEntry>> HistoryAfter(int64_t after_seq,
                                                 int limit) override;
  Status AppendHistory(const std::vector<HistoryEntry>& entries) override;

 private:
  // Times `call` as `operation`; returns what it returned.
  template <typename Call>
  auto Timed(StoreOperation operation, Call call);

  std::unique_ptr<Store> inner_;
  std::array<Histogram*, kStoreOperations> durations_{};
  std::array<Counter*, kStoreOperations> errors_{};
};

// shorty_links: the links stored (active, expired or disabled; deleted ones
// are gone), from store->Info() at most every `max_age`, NaN while the
// store cannot say. `store` must outlive `metrics`' scrapes.
void RegisterLinkCount(Metrics* metrics, Store* store,
                       std::chrono::milliseconds max_age);

// Whether the store can serve, asked of Store::Ping at most once per
// `interval`; in between, the last answer. Thread-safe: callers that come
// while a probe runs wait for its answer.
class StoreProbe {
 public:
  StoreProbe(Store* store, int64_t interval_ms)
      : store_(store), interval_ms_(interval_ms) {}

  // OK, or the last probe's failure. `now_ms` is a monotonic clock in
  // milliseconds (MonotonicMs in daemon/api.h).
  Status Check(int64_t now_ms);

 private:
  Store* store_;
  const int64_t interval_ms_;
  std::mutex mu_;
  bool probed_ = false;    // guarded by mu_
  int64_t probed_at_ = 0;  // guarded by mu_
  Status last_;            // guarded by mu_
};

}  // namespace shorty
