// Visit counts gathered in memory off the redirect path and written to the
// store in batches by one writer thread, so a redirect never waits on a
// database write.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "daemon/metrics.h"
#include "shared/link_service.h"
#include "shared/store.h"

namespace shorty {

// Counts and traits are gathered per slot: each serving thread keeps to one
// slot of kSlots, so a hot link's visits from many threads take many locks
// rather than one (the way Shlink splits hot counters). A slot's map is
// keyed by link; each link keeps its count and one entry per hour and
// traits seen, at most kMaxGroupsPerLink (past that, new referrers are
// kept as "other"), so hostile headers cannot grow memory without bound.
class VisitCounter : public VisitLedger {
 public:
  // Flushes every `flush_interval`; rolls hourly buckets older than
  // `retention` up into days once an hour (a retention of zero: never).
  VisitCounter(Store* store, std::chrono::milliseconds flush_interval,
               std::chrono::seconds retention = std::chrono::seconds(0));
  ~VisitCounter() override;  // stops and flushes

  // Thread-safe, no I/O: a short lock on the calling thread's slot.
  void Count(const std::string& slug_key, UnixTime hour,
             const VisitTraits& traits, bool counted) override;
  // Thread-safe; takes each slot's lock in turn.
  int64_t Pending(const std::string& slug_key) const override;

  // Every visit counted and not yet written, over all links. Thread-safe;
  // takes each slot's lock in turn, so it is for scrapes, not hot paths.
  int64_t PendingTotal() const;

  // Where flushes are counted and timed from now on; null for nowhere (the
  // default). `metrics` must outlive this. Call before Start().
  void set_metrics(const VisitWriterMetrics* metrics) { metrics_ = metrics; }

  // Starts the writer thread that flushes every interval.
  void Start();
  // Stops the writer thread after a last flush. Idempotent.
  void Stop();

  // Writes what is pending in one transaction. On failure the counts stay
  // pending (merged with newer ones) for the next try, so a count is never
  // lost while the daemon lives and never written twice.
  Status Flush();

  // Rolls up the hourly buckets that started before the day `now -
  // retention` falls in. Returns the store's answer; a no-op without a
  // retention.
  Result<int64_t> RollUp(UnixTime now);

  static constexpr size_t kSlots = 32;
  static constexpr size_t kMaxGroupsPerLink = 1000;

 private:
  struct GroupKey {
    UnixTime hour;
    std::string referrer;
    uint8_t browser, os, device;
    bool bot;
    bool operator==(const GroupKey& o) const {
      return hour == o.hour && referrer == o.referrer && browser == o.browser &&
             os == o.os && device == o.device && bot == o.bot;
    }
  };
  struct GroupKeyHash {
    size_t operator()(const GroupKey& k) const;
  };
  struct LinkVisits {
    int64_t count = 0;  // visits not yet added to the link's count
    std::unordered_map<GroupKey, int64_t, GroupKeyHash> groups;
    void Merge(LinkVisits&& other);
  };
  using PendingMap = std::unordered_map<std::string, LinkVisits>;
  struct Slot {
    mutable std::mutex mu;
    PendingMap links;
  };
  Slot& SlotForThisThread() const;
  void Run();

  Store* store_;
  std::chrono::milliseconds interval_;
  std::chrono::seconds retention_;
  const VisitWriterMetrics* metrics_ = nullptr;
  mutable std::array<Slot, kSlots> slots_;
  mutable std::atomic<size_t> next_slot_{0};

  std::mutex flush_mu_;  // one flush at a time; pending counts stay visible
  // Counts taken out of the slots for the flush under way; still pending.
  PendingMap in_flight_;
  mutable std::mutex in_flight_mu_;

  std::mutex run_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace shorty
