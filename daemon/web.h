// The web pages under /-/ for people in a browser: sign-in, the list of
// links with search and paging, a create form, and a page per link with its
// QR code, history and edit, expire and delete. Server-rendered HTML without
// scripts; every state change carries an anti-CSRF token.
#pragma once

#include <string>
#include <vector>

#include "daemon/http_server.h"
#include "shared/auth.h"
#include "shared/link_service.h"
#include "shared/rate_limit.h"

namespace shorty {

struct WebOptions {
  // A header an authenticating proxy sets to the signed-in user, believed
  // only from these addresses; "" = off.
  std::string trusted_header;
  std::vector<std::string> trusted_proxies;
  Scope trusted_scope = Scope::kWrite;
  // Rate limits (null = none): sign-in attempts per client address, and
  // creates per signed-in user.
  RateLimiter* signin_limit = nullptr;
  RateLimiter* create_limit = nullptr;
};

// Installs the pages on `listener` (the HTTP listener). `service` and
// `tokens` must outlive it. Sessions live in memory: a restart signs
// everyone out.
void InstallWebPages(Listener* listener, LinkService* service,
                     TokenService* tokens, WebOptions options);

}  // namespace shorty
