#include "shared/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace shorty {

void SystemRandom::Fill(uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(buf + done, n - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // Slugs must never come from a weak source; stopping is the only safe
      // answer.
      std::perror("shorty: getrandom");
      std::abort();
    }
    done += static_cast<size_t>(got);
  }
}

}  // namespace shorty
