// The routes of shortyd: redirects and previews, health, and the JSON API
// under /-/api/v1/. Each route calls a named handler; the rules live in
// LinkService.
#pragma once

#include <functional>

#include "daemon/http_server.h"
#include "shared/auth.h"
#include "shared/link_service.h"
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
};

// Installs every route on `listener`. `service` and `tokens` must outlive
// it.
void InstallRoutes(Listener* listener, LinkService* service,
                   TokenService* tokens, RouteOptions options);

}  // namespace shorty
