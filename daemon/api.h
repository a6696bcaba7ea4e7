// The routes of shortyd: redirects and previews, health, and the JSON API
// under /-/api/v1/. Each route calls a named handler; the rules live in
// LinkService.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "shared/auth.h"
#include "shared/import_service.h"
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
  // Import, export and backup (/-/api/v1/import, /export, /backup; admin
  // tokens and the control socket only); null: those paths answer 404.
  ImportService* imports = nullptr;
  // Whether the database can serve (a rate-limited Store::Ping): /-/ready
  // answers 503 with its message while it fails. Unset: always.
  std::function<Status()> database_ready = nullptr;
  // Where requests for links are counted by result; null for nowhere.
  RedirectMetrics* redirects = nullptr;
  // What /-/metrics serves; null: 404. Over HTTP it asks for a token of
  // any scope unless `metrics_public` says true (asked at each request, so
  // a reload can change it); the control socket needs none.
  const Metrics* metrics = nullptr;
  std::function<bool()> metrics_public = nullptr;
};

// Milliseconds on a clock that never steps back, for rate limits.
int64_t MonotonicMs();

// Installs every route on `listener`. `service` and `tokens` must outlive
// it.
void InstallRoutes(Listener* listener, LinkService* service,
                   TokenService* tokens, RouteOptions options);

}  // namespace shorty
