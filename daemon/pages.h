// The HTML pages shortyd serves outside the API: not found, gone, a link's
// preview, and the password form of a protected link. Every stored value is
// escaped on output.
#pragma once

#include <string>
#include <string_view>

#include "shared/link.h"
#include "shared/visit.h"

namespace shorty {

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// One page for every unknown slug, so no 404 tells more than another.
const std::string& NotFoundPage();

// The page for a link that exists but is not served: `reason` is
// "expired", "used up" or "disabled".
std::string GonePage(std::string_view reason);

// GET /{slug}+ : where the link goes, without going there. For a link with
// a password, only that it has one: never the target.
std::string PreviewPage(const Link& link, const std::string& short_url,
                        std::string_view state);

// GET /{slug} of a link with a password: a form that posts the password to
// /-/unlock/{slug}, carrying `rest` (what followed the slug in the request:
// "/extra/path?query", "?query" or "") in a hidden field. Shows `error`
// above the form when not empty. Says nothing of the target.
std::string PasswordPage(std::string_view slug, std::string_view rest,
                         std::string_view error);

// A page for a request the server refuses (400), with a message.
std::string ErrorPage(int status, std::string_view message);

// A bar chart of `stats.series` as inline SVG: one bar a day (or hour), each
// with a <title> ("2026-12-04: 12 visits") for a pointer resting on it, the
// busiest count at the top and the first and last dates below. No script,
// no style sheet: it needs nothing a strict Content-Security-Policy blocks.
std::string StatsSvg(const LinkStats& stats);

// Content-Security-Policy for these pages: no scripts, no framing.
extern const char kPageSecurityPolicy[];

}  // namespace shorty
