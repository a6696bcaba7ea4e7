#include "daemon/workers.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace shorty {

WorkerPool::WorkerPool(size_t threads) {
  crowded_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  Shutdown();
  if (crowded_fd_ >= 0) ::close(crowded_fd_);
}

void WorkerPool::SetCrowded(bool crowded) {
  if (crowded == crowded_.load(std::memory_order_relaxed)) return;
  crowded_.store(crowded, std::memory_order_relaxed);
  if (crowded_fd_ < 0) return;
  uint64_t value = 1;
  if (crowded) {
    (void)!::write(crowded_fd_, &value, sizeof(value));
  } else {
    (void)!::read(crowded_fd_, &value, sizeof(value));
  }
}

bool WorkerPool::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return false;
    jobs_.push_back(std::move(job));
    SetCrowded(jobs_.size() > idle_);
  }
  ready_.notify_one();
  return true;
}

void WorkerPool::Shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  SetCrowded(false);
}

void WorkerPool::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    SetCrowded(jobs_.size() > idle_);
    ready_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // shut down, and nothing left to run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    SetCrowded(jobs_.size() > idle_);
    lock.unlock();
    job();
    job = nullptr;  // what it holds goes before the next wait
    lock.lock();
  }
}

IdleConnections::IdleConnections(Wake wake, std::chrono::milliseconds timeout)
    : wake_(std::move(wake)), timeout_(timeout) {}

IdleConnections::~IdleConnections() {
  Stop();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Status IdleConnections::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return Status::Ok();
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || stop_fd_ < 0) {
    return Status::IOError(std::string("idle connections: ") +
                           std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = stop_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev) != 0) {
    return Status::IOError(std::string("idle connections: epoll_ctl: ") +
                           std::strerror(errno));
  }
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

bool IdleConnections::Park(std::unique_ptr<IdleConnection>& connection) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!running_) return false;
  const int fd = connection->fd();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.fd = fd;
  // Registered once, then re-armed: a one-shot event disarms itself.
  int op = connection->watched_ ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (::epoll_ctl(epoll_fd_, op, fd, &ev) != 0) return false;
  connection->watched_ = true;
  parked_[fd] = Parked{std::move(connection),
                       std::chrono::steady_clock::now() + timeout_};
  return true;
}

void IdleConnections::Stop() {
  std::unordered_map<int, Parked> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    running_ = false;
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  left.swap(parked_);
  // `left` goes out of scope here: each connection is closed.
}

size_t IdleConnections::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parked_.size();
}

void IdleConnections::Run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  // Idle connections are looked over for their deadline at this pace.
  constexpr int kSweepMs = 250;
  auto next_sweep = std::chrono::steady_clock::now();
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, kSweepMs);
    if (n < 0 && errno != EINTR) break;
    std::vector<std::unique_ptr<IdleConnection>> woken;
    std::vector<std::unique_ptr<IdleConnection>> expired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!running_) return;
      for (int i = 0; i < n; ++i) {
        auto it = parked_.find(events[i].data.fd);
        if (it == parked_.end()) continue;  // the stop eventfd
        woken.push_back(std::move(it->second.connection));
        parked_.erase(it);
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= next_sweep) {
        for (auto it = parked_.begin(); it != parked_.end();) {
          if (it->second.deadline <= now) {
            expired.push_back(std::move(it->second.connection));
            it = parked_.erase(it);
          } else {
            ++it;
          }
        }
        next_sweep = now + std::chrono::milliseconds(kSweepMs);
      }
    }
    // Outside the lock: closing and queueing take their own time.
    expired.clear();
    for (auto& connection : woken) wake_(std::move(connection));
  }
}

}  // namespace shorty
