// The HTML pages shortyd serves outside the API: not found, gone, and a
// link's preview. Every stored value is escaped on output.
#pragma once

#include <string>
#include <string_view>

#include "shared/link.h"

namespace shorty {

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// One page for every unknown slug, so no 404 tells more than another.
const std::string& NotFoundPage();

// The page for a link that exists but is not served: `reason` is
// "expired", "used up" or "disabled".
std::string GonePage(std::string_view reason);

// GET /{slug}+ : where the link goes, without going there.
std::string PreviewPage(const Link& link, const std::string& short_url,
                        std::string_view state);

// A page for a request the server refuses (400), with a message.
std::string ErrorPage(int status, std::string_view message);

// Content-Security-Policy for these pages: no scripts, no framing.
extern const char kPageSecurityPolicy[];

}  // namespace shorty
