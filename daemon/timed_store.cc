#include "daemon/timed_store.h"

#include <limits>
#include <type_traits>
#include <utility>

namespace shorty {
namespace {

template <typename T>
const Status& StatusOf(const Result<T>& result) {
  return result.status();
}
const Status& StatusOf(const Status& status) { return status; }

}  // namespace

const char* StoreOperationName(StoreOperation operation) {
  switch (operation) {
    case StoreOperation::kCreateLink:
      return "create_link";
    case StoreOperation::kCreateLinkOnce:
      return "create_link_once";
    case StoreOperation::kGetLink:
      return "get_link";
    case StoreOperation::kUpdateLink:
      return "update_link";
    case StoreOperation::kDeleteLink:
      return "delete_link";
    case StoreOperation::kLinkHistory:
      return "link_history";
    case StoreOperation::kCreateToken:
      return "create_token";
    case StoreOperation::kFindToken:
      return "find_token";
    case StoreOperation::kListTokens:
      return "list_tokens";
    case StoreOperation::kRevokeToken:
      return "revoke_token";
    case StoreOperation::kTouchToken:
      return "touch_token";
    case StoreOperation::kListLinks:
      return "list_links";
    case StoreOperation::kAddVisits:
      return "add_visits";
    case StoreOperation::kConsumeLimitedVisit:
      return "consume_limited_visit";
    case StoreOperation::kLinkVisits:
      return "link_visits";
    case StoreOperation::kRollUpVisits:
      return "roll_up_visits";
    case StoreOperation::kInfo:
      return "info";
    case StoreOperation::kImportLinks:
      return "import_links";
    case StoreOperation::kListAllLinks:
      return "list_all_links";
    case StoreOperation::kWriteBackup:
      return "write_backup";
    case StoreOperation::kCheckpoint:
      return "checkpoint";
    case StoreOperation::kPing:
      return "ping";
  }
  return "unknown";
}

bool IsStoreFailure(const Status& status) {
  switch (status.code()) {
    case Code::kUnavailable:
    case Code::kIOError:
    case Code::kCorruption:
    case Code::kInternal:
      return true;
    default:
      return false;
  }
}

TimedStore::TimedStore(std::unique_ptr<Store> inner, Metrics* metrics)
    : inner_(std::move(inner)) {
  for (size_t i = 0; i < kStoreOperations; ++i) {
    Labels labels = {
        {"operation", StoreOperationName(static_cast<StoreOperation>(i))}};
    durations_[i] = metrics->AddHistogram(
        "shorty_db_operation_duration_seconds",
        "Time a call into the link store took, by operation.", kLatencyBuckets,
        labels, Shown::kOnceUsed);
    errors_[i] = metrics->AddCounter(
        "shorty_db_errors_total",
        "Calls into the link store that failed (I/O, corruption, busy, "
        "internal errors; not-found and conflicts are answers), by operation.",
        labels);
  }
}

template <typename Call>
auto TimedStore::Timed(StoreOperation operation, Call call) {
  const size_t i = static_cast<size_t>(operation);
  auto start = std::chrono::steady_clock::now();
  auto result = call();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  durations_[i]->Observe(took.count());
  if (IsStoreFailure(StatusOf(result))) errors_[i]->Inc();
  return result;
}

Result<Link> TimedStore::CreateLink(const Link& link) {
  return Timed(StoreOperation::kCreateLink,
               [&] { return inner_->CreateLink(link); });
}

Result<CreatedLink> TimedStore::CreateLinkOnce(
    const Link& link, std::string_view idempotency_key) {
  return Timed(StoreOperation::kCreateLinkOnce,
               [&] { return inner_->CreateLinkOnce(link, idempotency_key); });
}

Result<Link> TimedStore::GetLink(std::string_view slug) {
  return Timed(StoreOperation::kGetLink, [&] { return inner_->GetLink(slug); });
}

Result<Link> TimedStore::UpdateLink(std::string_view slug,
                                    const LinkPatch& patch, UnixTime now,
                                    const std::string& actor) {
  return Timed(StoreOperation::kUpdateLink,
               [&] { return inner_->UpdateLink(slug, patch, now, actor); });
}

Status TimedStore::DeleteLink(std::string_view slug, UnixTime now,
                              const std::string& actor) {
  return Timed(StoreOperation::kDeleteLink,
               [&] { return inner_->DeleteLink(slug, now, actor); });
}

Result<std::vector<HistoryEntry>> TimedStore::LinkHistory(std::string_view slug,
                                                          int limit) {
  return Timed(StoreOperation::kLinkHistory,
               [&] { return inner_->LinkHistory(slug, limit); });
}

Status TimedStore::CreateToken(const Token& token) {
  return Timed(StoreOperation::kCreateToken,
               [&] { return inner_->CreateToken(token); });
}

Result<Token> TimedStore::FindToken(std::string_view id) {
  return Timed(StoreOperation::kFindToken,
               [&] { return inner_->FindToken(id); });
}

Result<std::vector<Token>> TimedStore::ListTokens() {
  return Timed(StoreOperation::kListTokens,
               [&] { return inner_->ListTokens(); });
}

Status TimedStore::RevokeToken(std::string_view name, UnixTime now) {
  return Timed(StoreOperation::kRevokeToken,
               [&] { return inner_->RevokeToken(name, now); });
}

Status TimedStore::TouchToken(std::string_view id, UnixTime now) {
  return Timed(StoreOperation::kTouchToken,
               [&] { return inner_->TouchToken(id, now); });
}

Result<LinkPage> TimedStore::ListLinks(const ListQuery& query) {
  return Timed(StoreOperation::kListLinks,
               [&] { return inner_->ListLinks(query); });
}

Status TimedStore::AddVisits(const std::vector<VisitCount>& counts) {
  return Timed(StoreOperation::kAddVisits,
               [&] { return inner_->AddVisits(counts); });
}

Result<bool> TimedStore::ConsumeLimitedVisit(std::string_view slug) {
  return Timed(StoreOperation::kConsumeLimitedVisit,
               [&] { return inner_->ConsumeLimitedVisit(slug); });
}

Result<std::vector<VisitBucket>> TimedStore::LinkVisits(std::string_view slug,
                                                        UnixTime since) {
  return Timed(StoreOperation::kLinkVisits,
               [&] { return inner_->LinkVisits(slug, since); });
}

Result<int64_t> TimedStore::RollUpVisits(UnixTime before) {
  return Timed(StoreOperation::kRollUpVisits,
               [&] { return inner_->RollUpVisits(before); });
}

Result<StoreInfo> TimedStore::Info() {
  return Timed(StoreOperation::kInfo, [&] { return inner_->Info(); });
}

Result<std::vector<ImportOutcome>> TimedStore::ImportLinks(
    const std::vector<ImportedLink>& links, UnixTime now,
    const std::string& actor) {
  return Timed(StoreOperation::kImportLinks,
               [&] { return inner_->ImportLinks(links, now, actor); });
}

Result<LinkPage> TimedStore::ListAllLinks(const std::string& cursor,
                                          int limit) {
  return Timed(StoreOperation::kListAllLinks,
               [&] { return inner_->ListAllLinks(cursor, limit); });
}

Result<StoreBackup> TimedStore::WriteBackup() {
  return Timed(StoreOperation::kWriteBackup,
               [&] { return inner_->WriteBackup(); });
}

Status TimedStore::Checkpoint() {
  return Timed(StoreOperation::kCheckpoint,
               [&] { return inner_->Checkpoint(); });
}

Status TimedStore::Ping() {
  return Timed(StoreOperation::kPing, [&] { return inner_->Ping(); });
}

Result<std::vector<HistoryEntry>> TimedStore::HistoryAfter(int64_t after_seq,
                                                           int limit) {
  return inner_->HistoryAfter(after_seq, limit);
}

Status TimedStore::AppendHistory(const std::vector<HistoryEntry>& entries) {
  return inner_->AppendHistory(entries);
}

void RegisterLinkCount(Metrics* metrics, Store* store,
                       std::chrono::milliseconds max_age) {
  metrics->AddGaugeFunc(
      "shorty_links",
      "Links stored: active, expired or disabled (deleted ones are gone).",
      CachedFigure(
          [store] {
            Result<StoreInfo> info = store->Info();
            return info.ok() ? static_cast<double>(info->links)
                             : std::numeric_limits<double>::quiet_NaN();
          },
          max_age));
}

Status StoreProbe::Check(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!probed_ || now_ms - probed_at_ >= interval_ms_) {
    last_ = store_->Ping();
    probed_ = true;
    probed_at_ = now_ms;
  }
  return last_;
}

}  // namespace shorty
