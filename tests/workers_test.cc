// The worker pool and the idle connections' watcher, on real threads and
// real sockets (socket pairs).
#include "daemon/workers.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace shorty {
namespace {

using namespace std::chrono_literals;

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST_CASE("WorkerPool runs every job, says when jobs wait, drains on shutdown") {
  WorkerPool pool(2);
  REQUIRE(pool.crowded_fd() >= 0);
  CHECK_FALSE(pool.Crowded());

  // Hold both threads, then queue more: the pool is crowded, and its
  // descriptor says so to a poller.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> started{0};
  std::atomic<int> done{0};
  auto blocker = [&] {
    ++started;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    ++done;
  };
  REQUIRE(pool.Submit(blocker));
  REQUIRE(pool.Submit(blocker));
  for (int i = 0; i < 100 && started < 2; ++i) std::this_thread::sleep_for(5ms);
  REQUIRE(started == 2);
  CHECK_FALSE(pool.Crowded());
  CHECK_FALSE(Readable(pool.crowded_fd(), 0));
  for (int i = 0; i < 5; ++i) REQUIRE(pool.Submit([&] { ++done; }));
  CHECK(pool.Crowded());
  CHECK(Readable(pool.crowded_fd(), 0));

  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && done < 7; ++i) std::this_thread::sleep_for(5ms);
  CHECK(done == 7);
  CHECK_FALSE(pool.Crowded());
  CHECK_FALSE(Readable(pool.crowded_fd(), 0));

  // Shutdown runs what is queued, then refuses more.
  for (int i = 0; i < 50; ++i) REQUIRE(pool.Submit([&] { ++done; }));
  pool.Shutdown();
  CHECK(done == 57);
  CHECK_FALSE(pool.Submit([&] { ++done; }));
  pool.Shutdown();  // again: nothing to do
  CHECK(done == 57);
}

// One end of a socket pair as a parked connection; records its closing.
class PairEnd : public IdleConnection {
 public:
  PairEnd(int fd, std::atomic<int>* closed) : fd_(fd), closed_(closed) {}
  ~PairEnd() override {
    ::close(fd_);
    ++*closed_;
  }
  int fd() const override { return fd_; }

 private:
  int fd_;
  std::atomic<int>* closed_;
};

TEST_CASE("IdleConnections wakes readable ones and closes those that idle out") {
  std::atomic<int> closed{0};
  std::mutex mu;
  std::vector<std::unique_ptr<IdleConnection>> woken;
  IdleConnections idle(
      [&](std::unique_ptr<IdleConnection> c) {
        std::lock_guard<std::mutex> lock(mu);
        woken.push_back(std::move(c));
      },
      400ms);

  // Waits up to 500 ms for a connection to be handed back.
  auto wait_woken = [&] {
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!woken.empty()) return;
      }
      std::this_thread::sleep_for(5ms);
    }
  };

  int a[2], b[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  std::unique_ptr<IdleConnection> first = std::make_unique<PairEnd>(a[0], &closed);
  CHECK_FALSE(idle.Park(first));  // not started: stays with the caller
  REQUIRE(first);

  REQUIRE(idle.Start().ok());
  std::unique_ptr<IdleConnection> second = std::make_unique<PairEnd>(b[0], &closed);
  REQUIRE(idle.Park(first));
  REQUIRE(idle.Park(second));
  CHECK_FALSE(first);
  CHECK(idle.size() == 2);

  // A request on the first: handed back, not closed.
  REQUIRE(::write(a[1], "x", 1) == 1);
  wait_woken();
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(woken.size() == 1);
    CHECK(woken[0]->fd() == a[0]);
  }
  CHECK(idle.size() == 1);

  // Parked again, a connection is watched again (one-shot re-armed).
  std::unique_ptr<IdleConnection> again;
  {
    std::lock_guard<std::mutex> lock(mu);
    again = std::move(woken[0]);
    woken.clear();
  }
  char byte;
  REQUIRE(::read(a[0], &byte, 1) == 1);
  REQUIRE(idle.Park(again));
  REQUIRE(::write(a[1], "y", 1) == 1);
  wait_woken();
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(woken.size() == 1);
    woken.clear();  // closes a[0]
  }
  CHECK(closed == 1);

  // The second says nothing: closed after its idle timeout, and its peer
  // sees the end.
  CHECK(Readable(b[1], 2000));
  CHECK(::read(b[1], &byte, 1) == 0);
  CHECK(closed == 2);
  CHECK(idle.size() == 0);

  // Stop closes whatever is parked, and refuses more.
  int c[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, c) == 0);
  std::unique_ptr<IdleConnection> third = std::make_unique<PairEnd>(c[0], &closed);
  REQUIRE(idle.Park(third));
  idle.Stop();
  CHECK(closed == 3);
  std::unique_ptr<IdleConnection> late = std::make_unique<PairEnd>(c[1], &closed);
  CHECK_FALSE(idle.Park(late));
  late.reset();
  CHECK(closed == 4);
  ::close(a[1]);
  ::close(b[1]);
}

}  // namespace
}  // namespace shorty
