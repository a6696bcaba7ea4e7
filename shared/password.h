// Link passwords: hashing a password for storage and checking one against
// the stored hash. scrypt (OpenSSL's EVP_PBE_scrypt) with a random salt,
// stored as "scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64>"; checked in
// constant time. Only the hash is ever stored; it is never shown.
#pragma once

#include <string>
#include <string_view>

#include "shared/random.h"
#include "shared/status.h"

namespace shorty {

// Passwords are 8 to 1024 bytes (any bytes).
constexpr size_t kMinPasswordBytes = 8;
constexpr size_t kMaxPasswordBytes = 1024;

// OK when `password` may be used; InvalidArgument "password: ..." naming
// the rule otherwise. Pure, thread-safe.
Status ValidatePassword(std::string_view password);

// The storable hash of `password`: scrypt with N = 2^15, r = 8, p = 1, a
// 16-byte salt drawn from `random` and a 32-byte key. InvalidArgument when
// ValidatePassword refuses the password; Internal when OpenSSL fails.
// Costs about 32 MiB and tens of milliseconds. Thread-safe when `random` is.
Result<std::string> HashPassword(std::string_view password,
                                 RandomSource& random);

// True when `password` matches `stored` (a HashPassword result). False for
// a wrong password, and for a `stored` that is malformed or asks for scrypt
// parameters outside what this build would make (so a damaged row cannot
// make a check cost more). Compares keys in constant time. Thread-safe.
bool VerifyPassword(std::string_view password, std::string_view stored);

// True when `stored` has the shape of a HashPassword result.
bool IsPasswordHash(std::string_view stored);

}  // namespace shorty
