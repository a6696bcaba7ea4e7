#include "daemon/visit_counter.h"

#include <functional>
#include <utility>
#include <vector>

namespace shorty {

VisitCounter::VisitCounter(Store* store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval) {}

VisitCounter::~VisitCounter() { Stop(); }

VisitCounter::Shard& VisitCounter::ShardFor(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

void VisitCounter::Count(const std::string& slug_key) {
  Shard& shard = ShardFor(slug_key);
  std::lock_guard<std::mutex> lock(shard.mu);
  ++shard.counts[slug_key];
}

int64_t VisitCounter::Pending(const std::string& slug_key) const {
  // Same lock order as Flush, so a count moving to in_flight_ is seen once.
  std::lock_guard<std::mutex> lock(in_flight_mu_);
  int64_t n = 0;
  auto it = in_flight_.find(slug_key);
  if (it != in_flight_.end()) n += it->second;
  Shard& shard = ShardFor(slug_key);
  std::lock_guard<std::mutex> shard_lock(shard.mu);
  auto found = shard.counts.find(slug_key);
  if (found != shard.counts.end()) n += found->second;
  return n;
}

Status VisitCounter::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  {
    // Move the shards' counts to in_flight_ while both are locked, so a
    // reader never sees a count in neither place or in both.
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> shard_lock(shard.mu);
      for (auto& [key, count] : shard.counts) in_flight_[key] += count;
      shard.counts.clear();
    }
  }
  std::vector<Store::VisitCount> batch;
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    if (in_flight_.empty()) return Status::Ok();
    batch.reserve(in_flight_.size());
    for (const auto& [key, count] : in_flight_) batch.push_back({key, count});
  }
  auto start = std::chrono::steady_clock::now();
  Status s = store_->AddVisits(batch);
  if (metrics_) {
    std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    metrics_->duration->Observe(took.count());
    if (s.ok()) {
      metrics_->flushes->Inc();
      int64_t written = 0;
      for (const Store::VisitCount& v : batch) written += v.count;
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
  for (const auto& entry : in_flight_) n += entry.second;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> shard_lock(shard.mu);
    for (const auto& entry : shard.counts) n += entry.second;
  }
  return n;
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
  std::unique_lock<std::mutex> lock(run_mu_);
  while (!stop_) {
    wake_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Flush();  // a failure keeps the counts pending for the next round
    lock.lock();
  }
}

}  // namespace shorty
