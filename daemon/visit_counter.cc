#include "daemon/visit_counter.h"

#include <functional>
#include <utility>
#include <vector>

namespace shorty {
namespace {

UnixTime WallNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How often buckets are rolled up; they are rolled up by the day, so once
// an hour finds each new day soon enough.
constexpr std::chrono::hours kRollUpEvery{1};

}  // namespace

size_t VisitCounter::GroupKeyHash::operator()(const GroupKey& k) const {
  size_t h = std::hash<std::string>{}(k.referrer);
  h ^= std::hash<int64_t>{}(k.hour) + 0x9e3779b97f4a7c15ULL + (h << 6) +
       (h >> 2);
  const size_t classes = (size_t{k.browser} << 24) | (size_t{k.os} << 16) |
                         (size_t{k.device} << 8) | size_t{k.bot};
  return h ^ (classes * 0x9e3779b97f4a7c15ULL);
}

void VisitCounter::LinkVisits::Merge(LinkVisits&& other) {
  count += other.count;
  if (groups.empty()) {
    groups = std::move(other.groups);
    return;
  }
  for (auto& [key, n] : other.groups) groups[key] += n;
}

VisitCounter::VisitCounter(Store* store, std::chrono::milliseconds interval,
                           std::chrono::seconds retention)
    : store_(store), interval_(interval), retention_(retention) {}

VisitCounter::~VisitCounter() { Stop(); }

VisitCounter::Slot& VisitCounter::SlotForThisThread() const {
  // Each thread keeps the slot it was first given: the pool's threads
  // spread over the slots, and one thread never contends with itself.
  thread_local size_t slot = next_slot_.fetch_add(1, std::memory_order_relaxed);
  return slots_[slot % kSlots];
}

void VisitCounter::Count(const std::string& slug_key, UnixTime hour,
                         const VisitTraits& traits, bool counted) {
  Slot& slot = SlotForThisThread();
  std::lock_guard<std::mutex> lock(slot.mu);
  LinkVisits& pending = slot.links[slug_key];
  if (!counted) ++pending.count;
  GroupKey key{hour,
               traits.referrer,
               static_cast<uint8_t>(traits.browser),
               static_cast<uint8_t>(traits.os),
               static_cast<uint8_t>(traits.device),
               traits.bot};
  auto it = pending.groups.find(key);
  if (it != pending.groups.end()) {
    ++it->second;
    return;
  }
  if (pending.groups.size() >= kMaxGroupsPerLink) key.referrer = "other";
  ++pending.groups[key];
}

int64_t VisitCounter::Pending(const std::string& slug_key) const {
  // Same lock order as Flush, so a count moving to in_flight_ is seen once.
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  int64_t n = 0;
  auto it = in_flight_.find(slug_key);
  if (it != in_flight_.end()) n += it->second.count;
  for (const Slot& slot : slots_) {
    std::lock_guard<std::mutex> slot_lock(slot.mu);
    auto found = slot.links.find(slug_key);
    if (found != slot.links.end()) n += found->second.count;
  }
  return n;
}

Status VisitCounter::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  {
    // Move the slots' counts to in_flight_ with in_flight_mu_ held, so a
    // reader never sees a count in neither place or in both. A slot is
    // locked only to swap its map out: a redirect counting into it never
    // waits for the merge.
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    for (Slot& slot : slots_) {
      PendingMap taken;
      {
        std::lock_guard<std::mutex> slot_lock(slot.mu);
        taken.swap(slot.links);
      }
      for (auto& [key, pending] : taken) {
        in_flight_[key].Merge(std::move(pending));
      }
    }
  }
  std::vector<Store::VisitCount> batch;
  int64_t written = 0;
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    if (in_flight_.empty()) return Status::Ok();
    batch.reserve(in_flight_.size());
    for (const auto& [key, pending] : in_flight_) {
      Store::VisitCount count{key, pending.count, {}};
      count.groups.reserve(pending.groups.size());
      for (const auto& [group, n] : pending.groups) {
        VisitTraits traits;
        traits.referrer = group.referrer;
        traits.browser = static_cast<Browser>(group.browser);
        traits.os = static_cast<Os>(group.os);
        traits.device = static_cast<Device>(group.device);
        traits.bot = group.bot;
        count.groups.push_back({group.hour, std::move(traits), n});
      }
      written += pending.count;
      batch.push_back(std::move(count));
    }
  }
  auto start = std::chrono::steady_clock::now();
  Status s = store_->AddVisits(batch);
  if (metrics_) {
    std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    metrics_->duration->Observe(took.count());
    if (s.ok()) {
      metrics_->flushes->Inc();
      metrics_->written->Inc(static_cast<uint64_t>(written));
    } else {
      metrics_->failures->Inc();
    }
  }
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    in_flight_.clear();
  }
  return s;
}

int64_t VisitCounter::PendingTotal() const {
  // Same lock order as Flush and Pending.
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  int64_t n = 0;
  for (const auto& entry : in_flight_) n += entry.second.count;
  for (const Slot& slot : slots_) {
    std::lock_guard<std::mutex> slot_lock(slot.mu);
    for (const auto& entry : slot.links) n += entry.second.count;
  }
  return n;
}

Result<int64_t> VisitCounter::RollUp(UnixTime now) {
  if (retention_.count() <= 0) return int64_t{0};
  return store_->RollUpVisits(DayOf(now - retention_.count()));
}

void VisitCounter::Start() {
  std::lock_guard<std::mutex> lock(run_mu_);
  if (writer_.joinable()) return;
  stop_ = false;
  writer_ = std::thread([this] { Run(); });
}

void VisitCounter::Stop() {
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  Flush();
}

void VisitCounter::Run() {
  // The first roll-up comes one interval after start, not during it.
  auto next_roll_up = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(run_mu_);
  while (!stop_) {
    wake_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Flush();  // a failure keeps the counts pending for the next round
    if (std::chrono::steady_clock::now() >= next_roll_up) {
      // A failure is tried again in an hour; nothing is lost meanwhile.
      RollUp(WallNow());
      next_roll_up = std::chrono::steady_clock::now() + kRollUpEvery;
    }
    lock.lock();
  }
}

}  // namespace shorty
