// The source of randomness the core draws slugs from, behind an interface so
// tests can make it deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shorty {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills buf with n random bytes. Thread-safety is the implementation's.
  virtual void Fill(uint8_t* buf, size_t n) = 0;
};

// Bytes from the kernel's CSPRNG (getrandom(2)). Thread-safe. Aborts the
// process if the kernel cannot supply randomness, which does not happen on
// any supported Linux after boot.
class SystemRandom : public RandomSource {
 public:
  void Fill(uint8_t* buf, size_t n) override;
};

}  // namespace shorty
