#include "daemon/pages.h"

#include "shared/timeparse.h"

namespace shorty {
namespace {

std::string Page(std::string_view title, const std::string& body) {
  std::string out;
  out.reserve(1024 + body.size());
  out +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
      "<title>";
  out += HtmlEscape(title);
  out +=
      "</title><style>body{font:16px/1.5 system-ui,sans-serif;"
      "max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}"
      "h1{font-size:1.4rem}dt{font-weight:600;margin-top:.6rem}"
      "dd{margin:0;word-break:break-all}a{color:#0645ad}</style>"
      "</head><body>";
  out += body;
  out += "</body></html>\n";
  return out;
}

}  // namespace

const char kPageSecurityPolicy[] =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const std::string& NotFoundPage() {
  static const std::string page =
      Page("Not found",
           "<h1>Not found</h1><p>There is no link here. Check "
           "the address for typing mistakes.</p>");
  return page;
}

std::string GonePage(std::string_view reason) {
  return Page("Link no longer available",
              "<h1>This link is no longer available</h1><p>It is " +
                  HtmlEscape(reason) + ".</p>");
}

std::string ErrorPage(int status, std::string_view message) {
  return Page("Error " + std::to_string(status),
              "<h1>Error " + std::to_string(status) + "</h1><p>" +
                  HtmlEscape(message) + "</p>");
}

std::string PreviewPage(const Link& link, const std::string& short_url,
                        std::string_view state) {
  std::string body = "<h1>" +
                     HtmlEscape(link.title.empty() ? link.slug : link.title) +
                     "</h1><dl>";
  auto row = [&body](const char* name, const std::string& value_html) {
    body += "<dt>";
    body += name;
    body += "</dt><dd>";
    body += value_html;
    body += "</dd>";
  };
  row("Short link", HtmlEscape(short_url));
  // The target is a validated http(s) URL, escaped all the same.
  if (!link.password_hash.empty()) {
    row("Goes to", "(hidden: the link needs a password)");
  } else if (state == "active") {
    row("Goes to", "<a href=\"" + HtmlEscape(link.target) +
                       "\" rel=\"noopener noreferrer nofollow\">" +
                       HtmlEscape(link.target) + "</a>");
  } else {
    row("Went to", HtmlEscape(link.target));
  }
  if (!link.note.empty()) row("Note", HtmlEscape(link.note));
  row("State", HtmlEscape(state));
  row("Created", HtmlEscape(FormatTime(link.created_at)));
  if (link.expires_at) row("Expires", HtmlEscape(FormatTime(*link.expires_at)));
  row("Visits", std::to_string(link.visits));
  body += "</dl>";
  return Page(link.title.empty() ? "Link preview" : link.title, body);
}

std::string PasswordPage(std::string_view slug, std::string_view rest,
                         std::string_view error) {
  std::string body = "<h1>This link needs a password</h1>";
  if (!error.empty()) {
    body += "<p><strong>" + HtmlEscape(error) + "</strong></p>";
  }
  body += "<form method=\"post\" action=\"/-/unlock/" + HtmlEscape(slug) +
          "\"><input type=\"hidden\" name=\"rest\" value=\"" +
          HtmlEscape(rest) +
          "\"><p><label>Password <input type=\"password\" "
          "name=\"password\" autocomplete=\"off\" required autofocus>"
          "</label></p><p><button>Continue</button></p></form>";
  return Page("Password required", body);
}

}  // namespace shorty
