#include "daemon/pages.h"

#include <algorithm>
#include <cstdio>

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

std::string StatsSvg(const LinkStats& stats) {
  constexpr int kWidth = 600;
  constexpr int kTop = 16;      // room for the busiest count
  constexpr int kChart = 120;   // bar area height
  constexpr int kBottom = 18;   // room for the dates
  const size_t n = std::max<size_t>(stats.series.size(), 1);
  int64_t most = 0;
  for (const StatsCount& c : stats.series) most = std::max(most, c.visits);
  auto label = [&](const std::string& start) {
    if (start.size() < 16) return start;
    return stats.by_hour ? start.substr(0, 10) + " " + start.substr(11, 5)
                         : start.substr(0, 10);
  };
  const double step = static_cast<double>(kWidth) / static_cast<double>(n);
  const double bar = step > 3 ? step * 0.8 : step;
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f", v);
    return std::string(buf);
  };
  std::string first = stats.series.empty() ? "" : label(stats.series.front().value);
  std::string last = stats.series.empty() ? "" : label(stats.series.back().value);
  std::string svg =
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 " + std::to_string(kWidth) + " " +
      std::to_string(kTop + kChart + kBottom) +
      "\" role=\"img\" aria-label=\"Visits " +
      (stats.by_hour ? "an hour" : "a day") + " from " + HtmlEscape(first) +
      " to " + HtmlEscape(last) + "\" font-family=\"sans-serif\" "
      "font-size=\"11\"><text x=\"0\" y=\"11\" fill=\"#555\">" +
      std::to_string(most) + (most == 1 ? " visit" : " visits") + "</text>";
  svg += "<line x1=\"0\" y1=\"" + std::to_string(kTop + kChart) +
         "\" x2=\"" + std::to_string(kWidth) + "\" y2=\"" +
         std::to_string(kTop + kChart) + "\" stroke=\"#999\"/>";
  for (size_t i = 0; i < stats.series.size(); ++i) {
    const StatsCount& c = stats.series[i];
    const double h = most > 0 ? static_cast<double>(c.visits) * kChart /
                                    static_cast<double>(most)
                              : 0;
    svg += "<rect x=\"" + num(static_cast<double>(i) * step) + "\" y=\"" +
           num(kTop + kChart - h) + "\" width=\"" + num(bar) +
           "\" height=\"" + num(h) + "\" fill=\"#1f3a5f\"><title>" +
           HtmlEscape(label(c.value)) + ": " + std::to_string(c.visits) +
           (c.visits == 1 ? " visit" : " visits") + "</title></rect>";
  }
  const std::string y = std::to_string(kTop + kChart + kBottom - 4);
  svg += "<text x=\"0\" y=\"" + y + "\" fill=\"#555\">" +
         HtmlEscape(first) + "</text><text x=\"" + std::to_string(kWidth) +
         "\" y=\"" + y + "\" fill=\"#555\" text-anchor=\"end\">" +
         HtmlEscape(last) + "</text></svg>";
  return svg;
}

}  // namespace shorty
