// Visit counts gathered in memory off the redirect path and written to the
// store in batches by one writer thread, so a redirect never waits on a
// database write.
#pragma once

#include <array>
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

class VisitCounter : public VisitLedger {
 public:
  VisitCounter(Store* store, std::chrono::milliseconds flush_interval);
  ~VisitCounter() override;  // stops and flushes

  // Thread-safe, no I/O: a short lock on one of several shards.
  void Count(const std::string& slug_key) override;
  int64_t Pending(const std::string& slug_key) const override;

  // Every visit counted and not yet written, over all links. Thread-safe;
  // takes each shard's lock in turn, so it is for scrapes, not hot paths.
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

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, int64_t> counts;
  };
  Shard& ShardFor(const std::string& key) const;
  void Run();

  Store* store_;
  std::chrono::milliseconds interval_;
  const VisitWriterMetrics* metrics_ = nullptr;
  mutable std::array<Shard, kShards> shards_;

  std::mutex flush_mu_;  // one flush at a time; pending counts stay visible
  // Counts taken out of the shards for the flush under way; still pending.
  std::unordered_map<std::string, int64_t> in_flight_;
  mutable std::mutex in_flight_mu_;

  std::mutex run_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace shorty
