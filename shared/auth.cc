#include "shared/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "shared/slug.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

constexpr std::string_view kTokenPrefix = "shorty_";
constexpr size_t kIdLength = 10;
// 40 symbols of a 54-letter alphabet: about 230 bits.
constexpr size_t kSecretLength = 40;
// How stale last_used_at may get before a use writes it again: one write a
// minute per token, not one per request.
constexpr UnixTime kTouchInterval = 60;

Status Denied() { return TokenRequired(); }

bool InAlphabet(std::string_view s) {
  for (char c : s) {
    if (kSlugAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

Status TokenRequired() {
  return Status::Unauthorized(
      "a valid API token is required: send it as 'Authorization: Bearer "
      "<token>', never in the URL");
}

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kWrite:
      return "write";
    case Scope::kAdmin:
      return "admin";
  }
  return "read";
}

Result<Scope> ParseScope(std::string_view text) {
  if (text == "read") return Scope::kRead;
  if (text == "write") return Scope::kWrite;
  if (text == "admin") return Scope::kAdmin;
  return Status::InvalidArgument("scope: '" + std::string(text.substr(0, 20)) +
                                 "' is not one of read, write, admin");
}

std::string FormatToken(const TokenText& token) {
  return std::string(kTokenPrefix) + token.id + "_" + token.secret;
}

Result<TokenText> ParseToken(std::string_view text) {
  if (text.size() != kTokenPrefix.size() + kIdLength + 1 + kSecretLength ||
      text.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return Denied();
  }
  text.remove_prefix(kTokenPrefix.size());
  TokenText t{std::string(text.substr(0, kIdLength)),
              std::string(text.substr(kIdLength + 1))};
  if (text[kIdLength] != '_' || !InAlphabet(t.id) || !InAlphabet(t.secret)) {
    return Denied();
  }
  return t;
}

std::string SecretDigest(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(secret.data(), secret.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

Status ValidateTokenName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    bool punct = c == '_' || c == '.' || c == '@' || c == '-';
    ok = alnum || (i > 0 && punct);
  }
  if (ok) return Status::Ok();
  return Status::InvalidArgument(
      "name: a token name is 1 to 64 letters, digits and '_', '.', '@', '-', "
      "starting with a letter or digit");
}

TokenService::TokenService(Store* store, RandomSource* random, Clock clock)
    : store_(store), random_(random), clock_(std::move(clock)) {}

Result<TokenService::Created> TokenService::Create(
    const std::string& name, Scope scope, std::optional<UnixTime> expires_at,
    const std::string& created_by) {
  Status s = ValidateTokenName(name);
  if (!s.ok()) return s;
  UnixTime now = clock_();
  if (expires_at && *expires_at <= now) {
    return Status::InvalidArgument("expires_at: " + FormatTime(*expires_at) +
                                   " is not in the future");
  }
  TokenText text{GenerateSlug(*random_, kIdLength),
                 GenerateSlug(*random_, kSecretLength)};
  Token token;
  token.name = name;
  token.id = text.id;
  token.secret_digest = SecretDigest(text.secret);
  token.scope = scope;
  token.created_at = now;
  token.created_by = created_by;
  token.expires_at = expires_at;
  s = store_->CreateToken(token);
  if (!s.ok()) return s;
  return Created{token, FormatToken(text)};
}

Result<std::vector<Token>> TokenService::List() { return store_->ListTokens(); }

Status TokenService::Revoke(const std::string& name) {
  return store_->RevokeToken(name, clock_());
}

bool TokenService::StillValid(const std::string& id) {
  Result<Token> token = store_->FindToken(id);
  return token.ok() && !token->revoked_at &&
         !(token->expires_at && *token->expires_at <= clock_());
}

Result<Token> TokenService::Authenticate(std::string_view text) {
  Result<TokenText> parsed = ParseToken(text);
  std::string presented =
      SecretDigest(parsed.ok() ? std::string_view(parsed->secret) : text);
  if (!parsed.ok()) return Denied();
  Result<Token> token = store_->FindToken(parsed->id);
  if (!token.ok()) {
    if (token.status().code() == Code::kNotFound) return Denied();
    return token.status();  // the store failed: not the caller's fault
  }
  bool same = token->secret_digest.size() == presented.size() &&
              CRYPTO_memcmp(token->secret_digest.data(), presented.data(),
                            presented.size()) == 0;
  UnixTime now = clock_();
  if (!same || token->revoked_at ||
      (token->expires_at && *token->expires_at <= now)) {
    return Denied();
  }
  if (!token->last_used_at || *token->last_used_at + kTouchInterval <= now) {
    // Best effort: a failed touch must not refuse a valid token.
    if (store_->TouchToken(token->id, now).ok()) token->last_used_at = now;
  }
  return token;
}

}  // namespace shorty
