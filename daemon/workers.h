// The threads that serve connections, and a place where idle keep-alive
// connections wait without holding one. A worker serves a connection while
// requests keep coming; once the connection goes quiet and other
// connections are queued for a worker, it is parked, and comes back to the
// queue when its next request arrives. So a fixed pool serves any number
// of open connections in turn, and a client that holds connections open
// idle holds no thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "shared/status.h"

namespace shorty {

// A fixed number of threads running jobs in the order they were submitted.
// Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();  // Shutdown()

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a job; false, and the job dropped, once Shutdown has begun.
  bool Submit(std::function<void()> job);

  // Refuses new jobs, runs those queued, and joins the threads.
  // Idempotent.
  void Shutdown();

  // Whether a job is queued with no thread free to take it. Lock-free.
  bool Crowded() const { return crowded_.load(std::memory_order_relaxed); }

  // A descriptor that polls readable while Crowded(), so a thread waiting
  // on an idle connection can wait on both at once; -1 if it could not be
  // made (then waiters look at Crowded() between waits).
  int crowded_fd() const { return crowded_fd_; }

 private:
  void Run();
  void SetCrowded(bool crowded);  // with mu_ held

  std::mutex shutdown_mu_;  // one Shutdown at a time
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  size_t idle_ = 0;
  bool shutdown_ = false;
  std::atomic<bool> crowded_{false};
  int crowded_fd_ = -1;
  std::vector<std::thread> threads_;
};

// A connection that can wait without a thread: destroying it closes it.
class IdleConnection {
 public:
  virtual ~IdleConnection() = default;
  virtual int fd() const = 0;

 private:
  friend class IdleConnections;
  bool watched_ = false;  // registered with the epoll set
};

// Connections waiting for their next request. One thread watches them all
// with epoll; a readable one is handed to `wake` on that thread (which
// should queue it for a worker and return), one idle past `timeout` is
// destroyed. Thread-safe.
class IdleConnections {
 public:
  using Wake = std::function<void(std::unique_ptr<IdleConnection>)>;
  IdleConnections(Wake wake, std::chrono::milliseconds timeout);
  ~IdleConnections();  // Stop()

  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Starts the watching thread. IOError when epoll cannot be set up.
  Status Start();

  // Takes `connection` until it is readable or has idled out. Returns false
  // and leaves `connection` with the caller when not started or stopped.
  bool Park(std::unique_ptr<IdleConnection>& connection);

  // Stops watching and destroys every parked connection. Idempotent.
  void Stop();

  // How many connections are parked now.
  size_t size() const;

 private:
  struct Parked {
    std::unique_ptr<IdleConnection> connection;
    std::chrono::steady_clock::time_point deadline;
  };
  void Run();

  Wake wake_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::unordered_map<int, Parked> parked_;  // by descriptor
  bool running_ = false;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd written by Stop()
  std::thread thread_;
};

}  // namespace shorty
