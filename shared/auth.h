// API tokens: making them, checking them, and revoking them. The secret is
// shown once when made and stored only as its SHA-256 digest; checking
// compares fixed-length digests in constant time.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/random.h"
#include "shared/status.h"
#include "shared/store.h"

namespace shorty {

// The one Unauthorized every refused request gets, whatever was wrong, so a
// caller learns nothing from which check failed.
Status TokenRequired();

// "read", "write", "admin".
const char* ScopeName(Scope scope);
// InvalidArgument naming the three scopes otherwise.
Result<Scope> ParseScope(std::string_view text);

// The parts of a token's text "shorty_<id>_<secret>".
struct TokenText {
  std::string id;
  std::string secret;
};
std::string FormatToken(const TokenText& token);
// Unauthorized when the text is not shaped like a token.
Result<TokenText> ParseToken(std::string_view text);

// SHA-256 of the secret: 32 bytes.
std::string SecretDigest(std::string_view secret);

// Token names: [A-Za-z0-9][A-Za-z0-9_.@-]{0,63}; InvalidArgument otherwise.
Status ValidateTokenName(std::string_view name);

// Thread-safe.
class TokenService {
 public:
  using Clock = std::function<UnixTime()>;
  TokenService(Store* store, RandomSource* random, Clock clock);

  struct Created {
    Token token;
    std::string text;  // the whole token, shown once
  };
  // AlreadyExists for a taken name; InvalidArgument for a bad name or an
  // expiry not in the future.
  Result<Created> Create(const std::string& name, Scope scope,
                         std::optional<UnixTime> expires_at,
                         const std::string& created_by);
  Result<std::vector<Token>> List();
  Status Revoke(const std::string& name);

  // The token a request presents, if it is known, not revoked and not
  // expired. Every failure is the same Unauthorized, and costs the same
  // digest computation, so a caller learns nothing from which it was.
  Result<Token> Authenticate(std::string_view text);

  // Whether the token with this id may still be used (not revoked, not
  // expired): sessions made from a token end with it. False when the store
  // cannot say.
  bool StillValid(const std::string& id);

 private:
  Store* store_;
  RandomSource* random_;
  Clock clock_;
};

}  // namespace shorty
