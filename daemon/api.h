// The routes of shortyd: redirects and previews, health, and the JSON API
// under /-/api/v1/. Each route calls a named handler; the rules live in
// LinkService.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/http_server.h"
#include "shared/auth.h"
#include "shared/link_service.h"
#include "shared/rate_limit.h"
#include "shared/status.h"

namespace shorty {

// The HTTP status for an error code; the one table of it.
int HttpStatusFor(Code code);

struct RouteOptions {
  // The control socket: callers are trusted by the socket's file mode and
  // need no token.
  bool control = false;
  // Whether the daemon is ready for traffic (false while draining).
  std::function<bool()> ready;
  // Rate limiting of password attempts on protected links: called before
  // each attempt with "<client address> <folded slug>" (the address is
  // "local" over the control socket); false refuses the attempt with 429
  // and no password is checked. Unset: every attempt is allowed. Called
  // from many threads at once.
  std::function<bool(const std::string& key)> allow_password_attempt = nullptr;
  // Rate limits; null = none. Visits: after a client's unknown slugs use up
  // its bucket, every visit from it gets 429 until it refills. Creates over
  // HTTP: a bucket per token.
  RateLimiter* not_found_limit = nullptr;
  RateLimiter* create_limit = nullptr;
  // Whose X-Forwarded-For names the client (see ClientAddress).
  std::vector<std::string> trusted_proxies = {};
};

// Milliseconds on a clock that never steps back, for rate limits.
int64_t MonotonicMs();

// Installs every route on `listener`. `service` and `tokens` must outlive
// it.
void InstallRoutes(Listener* listener, LinkService* service,
                   TokenService* tokens, RouteOptions options);

}  // namespace shorty
