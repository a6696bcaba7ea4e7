#include "shared/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstdint>
#include <vector>

namespace shorty {
namespace {

constexpr char kScheme[] = "scrypt";
constexpr uint64_t kLogN = 15;
constexpr uint64_t kR = 8;
constexpr uint64_t kP = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
// scrypt needs 128 * r * N bytes for N = 2^15, r = 8 (32 MiB) plus a little;
// OpenSSL's default ceiling is exactly 32 MiB, so it is raised, and it also
// bounds what a stored hash may ask for.
constexpr uint64_t kMaxMemory = 64ull * 1024 * 1024;

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const uint8_t* data, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = static_cast<uint32_t>(data[i]) << 16;
    if (i + 1 < n) v |= static_cast<uint32_t>(data[i + 1]) << 8;
    if (i + 2 < n) v |= data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// Strict: padded, canonical length, nothing but the alphabet.
bool Unbase64(std::string_view text, std::vector<uint8_t>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  out->clear();
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      uint32_t d = 0;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
      } else {
        if (pad > 0) return false;
        const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
        if (at == nullptr || c == '\0') return false;
        d = static_cast<uint32_t>(at - kAlphabet);
      }
      v = (v << 6) | d;
    }
    out->push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out->push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out->push_back(static_cast<uint8_t>(v));
  }
  return true;
}

bool ParseNumber(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

struct Parsed {
  uint64_t log_n = 0, r = 0, p = 0;
  std::vector<uint8_t> salt, key;
};

bool Parse(std::string_view stored, Parsed* out) {
  std::string_view parts[6];
  for (int i = 0; i < 6; ++i) {
    size_t dollar = stored.find('$');
    if (i < 5 && dollar == std::string_view::npos) return false;
    if (i == 5) {
      if (dollar != std::string_view::npos) return false;
      parts[i] = stored;
      break;
    }
    parts[i] = stored.substr(0, dollar);
    stored.remove_prefix(dollar + 1);
  }
  // Only parameters as costly as this build's own: a changed row cannot
  // make a check slower or hungrier (nor trivially cheap).
  return parts[0] == kScheme && ParseNumber(parts[1], &out->log_n) &&
         ParseNumber(parts[2], &out->r) && ParseNumber(parts[3], &out->p) &&
         out->log_n >= 10 && out->log_n <= kLogN && out->r >= 1 &&
         out->r <= kR && out->p >= 1 && out->p <= kP &&
         Unbase64(parts[4], &out->salt) && out->salt.size() >= 8 &&
         out->salt.size() <= 64 && Unbase64(parts[5], &out->key) &&
         out->key.size() == kKeyBytes;
}

bool Scrypt(std::string_view password, const std::vector<uint8_t>& salt,
            uint64_t log_n, uint64_t r, uint64_t p, uint8_t* key) {
  return EVP_PBE_scrypt(password.data() != nullptr ? password.data() : "",
                        password.size(), salt.data(), salt.size(),
                        uint64_t{1} << log_n, r, p, kMaxMemory, key,
                        kKeyBytes) == 1;
}

}  // namespace

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return Status::InvalidArgument(
        "password: shorter than 8 bytes; choose a longer one");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("password: longer than 1024 bytes");
  }
  return Status::Ok();
}

Result<std::string> HashPassword(std::string_view password,
                                 RandomSource& random) {
  if (Status s = ValidatePassword(password); !s.ok()) return s;
  std::vector<uint8_t> salt(kSaltBytes);
  random.Fill(salt.data(), salt.size());
  uint8_t key[kKeyBytes];
  if (!Scrypt(password, salt, kLogN, kR, kP, key)) {
    return Status::Internal("password: hashing failed (OpenSSL scrypt)");
  }
  std::string out = std::string(kScheme) + "$" + std::to_string(kLogN) + "$" +
                    std::to_string(kR) + "$" + std::to_string(kP) + "$" +
                    Base64(salt.data(), salt.size()) + "$" +
                    Base64(key, sizeof(key));
  OPENSSL_cleanse(key, sizeof(key));
  return out;
}

bool VerifyPassword(std::string_view password, std::string_view stored) {
  Parsed parsed;
  if (!Parse(stored, &parsed)) return false;
  // Checked after the parse, so a bad length costs no scrypt but a wrong
  // password of a good length costs the same as a right one.
  if (password.size() > kMaxPasswordBytes) return false;
  uint8_t key[kKeyBytes];
  if (!Scrypt(password, parsed.salt, parsed.log_n, parsed.r, parsed.p, key)) {
    return false;
  }
  bool same = CRYPTO_memcmp(key, parsed.key.data(), kKeyBytes) == 0;
  OPENSSL_cleanse(key, sizeof(key));
  return same;
}

bool IsPasswordHash(std::string_view stored) {
  Parsed parsed;
  return Parse(stored, &parsed);
}

}  // namespace shorty
