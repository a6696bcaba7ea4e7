#include "daemon/web.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "daemon/api.h"
#include "daemon/pages.h"
#include "shared/link_json.h"
#include "shared/qr.h"
#include "shared/random.h"
#include "shared/slug.h"
#include "shared/target.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

using httplib::Request;
using httplib::Response;

constexpr char kSessionCookie[] = "shorty_session";
constexpr char kSigninCookie[] = "shorty_signin";
constexpr UnixTime kSessionSeconds = 12 * 3600;
constexpr size_t kMaxSessions = 10000;
constexpr int kPageSize = 50;

// The policy of every page: no scripts at all, styles inline, forms only to
// this origin, never in a frame.
constexpr char kWebSecurityPolicy[] =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

UnixTime Now() { return static_cast<UnixTime>(std::time(nullptr)); }

std::string RandomText(size_t n) {
  static SystemRandom random;
  return GenerateSlug(random, n);
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Cookie(const Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t start = part.find_first_not_of(' ');
    if (start != std::string::npos) part = part.substr(start);
    if (part.compare(0, name.size() + 1, name + "=") == 0) {
      return part.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return "";
}

std::string OptionalTime(const std::optional<UnixTime>& t) {
  return t ? FormatTime(*t) : "";
}

struct Session {
  std::string actor;
  Scope scope = Scope::kRead;
  std::string token_id;  // "" for a user signed in by the proxy
  std::string csrf;
  UnixTime expires_at = 0;
};

// Sessions by id, in memory. Thread-safe.
class Sessions {
 public:
  std::string Add(Session session) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= kMaxSessions) Prune();
    std::string id = RandomText(32);
    sessions_[id] = std::move(session);
    return id;
  }
  std::optional<Session> Find(const std::string& id) {
    if (id.empty()) return std::nullopt;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    if (it->second.expires_at <= Now()) {
      sessions_.erase(it);
      return std::nullopt;
    }
    return it->second;
  }
  void Remove(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
  }

 private:
  // Drops expired sessions, then the ones nearest their end if still full.
  void Prune() {
    UnixTime now = Now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = it->second.expires_at <= now ? sessions_.erase(it) : std::next(it);
    }
    while (sessions_.size() >= kMaxSessions) {
      auto oldest = std::min_element(
          sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
            return a.second.expires_at < b.second.expires_at;
          });
      sessions_.erase(oldest);
    }
  }

  std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;
};

const char* StateClass(Verdict v) {
  return v == Verdict::kRedirect ? "ok" : "off";
}

class Web {
 public:
  Web(LinkService* service, TokenService* tokens, WebOptions options)
      : service_(service), tokens_(tokens), options_(std::move(options)) {}

  // --- Sign-in -------------------------------------------------------------

  void SigninForm(const Request& req, Response& res) {
    if (CurrentSession(req, res)) return Redirect(res, "/-/");
    ShowSignin(req, res, 200, "");
  }

  // Sends a 429 page when `limiter` has no token left for `key`.
  bool Limited(RateLimiter* limiter, const std::string& key, Response& res) {
    if (!limiter) return false;
    int64_t wait = limiter->Take(key, MonotonicMs());
    if (wait == 0) return false;
    res.set_header("Retry-After", std::to_string(wait));
    SendPage(res, 429, "Too many attempts", nullptr,
             "<p class=\"error\">Too many attempts; try again in " +
                 std::to_string(wait) + " seconds.</p>");
    return true;
  }

  void Signin(const Request& req, Response& res) {
    if (Limited(options_.signin_limit,
                ClientAddress(req, options_.trusted_proxies), res)) {
      return;
    }
    // Before there is a session, the form's token must match a cookie set
    // with the form (double submit): another site cannot read either.
    std::string expected = Cookie(req, kSigninCookie);
    if (!SameSecret(expected, req.get_param_value("csrf"))) {
      return ShowSignin(req, res, 403, "The form expired; sign in again.");
    }
    Result<Token> token = tokens_->Authenticate(req.get_param_value("token"));
    if (!token.ok()) {
      return ShowSignin(req, res, 401,
                        "That token is not valid, or was revoked or has "
                        "expired.");
    }
    Session session{token->name, token->scope, token->id, RandomText(32),
                    Now() + kSessionSeconds};
    std::string id = sessions_.Add(session);
    res.set_header("Set-Cookie", SessionCookie(req, id, kSessionSeconds));
    Redirect(res, "/-/");
  }

  void Signout(const Request& req, Response& res) {
    std::optional<Session> s = CurrentSession(req, res);
    if (s && SameSecret(s->csrf, req.get_param_value("csrf"))) {
      sessions_.Remove(Cookie(req, kSessionCookie));
    }
    res.set_header("Set-Cookie", SessionCookie(req, "", 0));
    Redirect(res, "/-/signin");
  }

  // --- The list ------------------------------------------------------------

  void List(const Request& req, Response& res) {
    std::optional<Session> s = Require(req, res, Scope::kRead);
    if (!s) return;
    ListQuery query;
    query.search = req.get_param_value("q");
    query.tag = req.get_param_value("tag");
    query.cursor = req.get_param_value("cursor");
    query.include_inactive = req.get_param_value("all") == "1";
    query.limit = kPageSize;
    Result<LinkPage> page = service_->List(query);
    std::string body;
    body +=
        "<form class=\"bar\" method=\"get\" action=\"/-/\">"
        "<input name=\"q\" placeholder=\"Search\" value=\"" +
        HtmlEscape(query.search) +
        "\"><input name=\"tag\" placeholder=\"Tag\" size=\"10\" value=\"" +
        HtmlEscape(query.tag) +
        "\"><label><input type=\"checkbox\" name=\"all\" value=\"1\"" +
        (query.include_inactive ? " checked" : "") +
        "> inactive too</label><button>Find</button></form>";
    if (!page.ok()) {
      body +=
          "<p class=\"error\">" + HtmlEscape(page.status().message()) + "</p>";
      return Send(res,
                  page.status().code() == Code::kInvalidArgument ? 422 : 503,
                  "Links", *s, body);
    }
    if (page->links.empty()) {
      body += "<p>No links found. <a href=\"/-/new\">Create one</a>.</p>";
    } else {
      body +=
          "<table><thead><tr><th>Link</th><th>Target</th><th>Visits</th>"
          "<th>State</th><th>Tags</th></tr></thead><tbody>";
      for (const Link& link : page->links) {
        Verdict state = service_->StateOf(link);
        body += "<tr><td><a href=\"/-/links/" + HtmlEscape(link.slug) + "\">" +
                HtmlEscape(link.slug) + "</a>";
        if (!link.title.empty()) {
          body += "<br><small>" + HtmlEscape(link.title) + "</small>";
        }
        body += "</td><td class=\"url\">" + HtmlEscape(link.target) +
                "</td><td>" + std::to_string(link.visits) +
                "</td><td class=\"" + StateClass(state) + "\">" +
                StateName(state) + "</td><td>";
        for (const std::string& tag : link.tags) {
          body += "<a class=\"tag\" href=\"/-/?tag=" +
                  HtmlEscape(PercentEncode(tag)) + "\">" + HtmlEscape(tag) +
                  "</a> ";
        }
        body += "</td></tr>";
      }
      body += "</tbody></table>";
    }
    if (!page->next_cursor.empty()) {
      std::string next = "/-/?cursor=" + PercentEncode(page->next_cursor);
      if (!query.search.empty()) next += "&q=" + PercentEncode(query.search);
      if (!query.tag.empty()) next += "&tag=" + PercentEncode(query.tag);
      if (query.include_inactive) next += "&all=1";
      body +=
          "<p><a href=\"" + HtmlEscape(next) + "\">Older links &rarr;</a></p>";
    }
    Send(res, 200, "Links", *s, body);
  }

  // --- Create --------------------------------------------------------------

  void NewForm(const Request& req, Response& res) {
    std::optional<Session> s = Require(req, res, Scope::kWrite);
    if (!s) return;
    Send(res, 200, "New link", *s, CreateForm(*s, req, ""));
  }

  void Create(const Request& req, Response& res) {
    std::optional<Session> s = RequireChange(req, res, Scope::kWrite);
    if (!s) return;
    if (Limited(options_.create_limit, "user " + s->actor, res)) return;
    Result<LinkInput> input = InputFromForm(req);
    Result<Link> link = input.ok() ? service_->Create(*input, s->actor)
                                   : Result<Link>(input.status());
    if (!link.ok()) {
      return Send(res, StatusFor(link.status()), "New link", *s,
                  CreateForm(*s, req, link.status().message()));
    }
    Redirect(res, "/-/links/" + link->slug);
  }

  // --- One link ------------------------------------------------------------

  void Show(const Request& req, Response& res) {
    std::optional<Session> s = Require(req, res, Scope::kRead);
    if (!s) return;
    ShowLink(req, res, *s, req.matches[1].str(), 200, "");
  }

  void Edit(const Request& req, Response& res) {
    std::optional<Session> s = RequireChange(req, res, Scope::kWrite);
    if (!s) return;
    const std::string slug = req.matches[1].str();
    Result<LinkEdit> edit = EditFromForm(req);
    Result<Link> link = edit.ok() ? service_->Update(slug, *edit, s->actor)
                                  : Result<Link>(edit.status());
    if (!link.ok()) {
      return ShowLink(req, res, *s, slug, StatusFor(link.status()),
                      link.status().message());
    }
    Redirect(res, "/-/links/" + link->slug);
  }

  void Action(const Request& req, Response& res, const std::string& action) {
    std::optional<Session> s = RequireChange(req, res, Scope::kWrite);
    if (!s) return;
    const std::string slug = req.matches[1].str();
    Status status;
    if (action == "delete") {
      status = service_->Delete(slug, s->actor);
      if (status.ok()) return Redirect(res, "/-/");
    } else {
      LinkPatch patch;
      if (action == "expire") patch.expires_at = std::optional<UnixTime>(Now());
      if (action == "disable") patch.disabled = true;
      if (action == "enable") patch.disabled = false;
      status = service_->Update(slug, patch, s->actor).status();
      if (status.ok()) return Redirect(res, "/-/links/" + slug);
    }
    ShowLink(req, res, *s, slug, StatusFor(status), status.message());
  }

 private:
  // --- Who is asking -------------------------------------------------------

  // The session of this request: by the trusted proxy's header when it
  // comes from a trusted proxy, else by cookie. A session whose token was
  // revoked or expired since ends here.
  std::optional<Session> CurrentSession(const Request& req, Response& res) {
    std::optional<std::string> proxied = ProxiedUser(req);
    std::string id = Cookie(req, kSessionCookie);
    std::optional<Session> s = sessions_.Find(id);
    if (proxied) {
      if (s && s->token_id.empty() && s->actor == *proxied) return s;
      Session fresh{*proxied, options_.trusted_scope, "", RandomText(32),
                    Now() + kSessionSeconds};
      std::string fresh_id = sessions_.Add(fresh);
      res.set_header("Set-Cookie",
                     SessionCookie(req, fresh_id, kSessionSeconds));
      return fresh;
    }
    if (!s) return std::nullopt;
    if (s->token_id.empty()) {
      // Signed in by a proxy, but this request did not come through it.
      return std::nullopt;
    }
    if (!tokens_->StillValid(s->token_id)) {
      sessions_.Remove(id);
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::string> ProxiedUser(const Request& req) const {
    if (options_.trusted_header.empty()) return std::nullopt;
    const std::string& from = CurrentPeer().address;
    if (std::find(options_.trusted_proxies.begin(),
                  options_.trusted_proxies.end(),
                  from) == options_.trusted_proxies.end()) {
      return std::nullopt;
    }
    std::string user = req.get_header_value(options_.trusted_header.c_str());
    if (user.empty() || user.size() > 200) return std::nullopt;
    for (unsigned char c : user) {
      if (c < 0x21 || c == 0x7f) return std::nullopt;
    }
    return user;
  }

  std::optional<Session> Require(const Request& req, Response& res,
                                 Scope scope) {
    std::optional<Session> s = CurrentSession(req, res);
    if (!s) {
      Redirect(res, "/-/signin");
      return std::nullopt;
    }
    if (static_cast<int>(s->scope) < static_cast<int>(scope)) {
      Send(res, 403, "Not allowed", *s,
           "<p class=\"error\">Your sign-in may " +
               std::string(ScopeName(s->scope)) + " links; this needs " +
               ScopeName(scope) + ".</p>");
      return std::nullopt;
    }
    return s;
  }

  // A state change: signed in, allowed, and carrying the session's CSRF
  // token.
  std::optional<Session> RequireChange(const Request& req, Response& res,
                                       Scope scope) {
    std::optional<Session> s = Require(req, res, scope);
    if (!s) return std::nullopt;
    if (!SameSecret(s->csrf, req.get_param_value("csrf"))) {
      Send(res, 403, "Form expired", *s,
           "<p class=\"error\">The form was stale or did not come from this "
           "site. Go back, reload the page and try again.</p>");
      return std::nullopt;
    }
    return s;
  }

  std::string SessionCookie(const Request& req, const std::string& id,
                            UnixTime max_age) const {
    std::string cookie = std::string(kSessionCookie) + "=" + id +
                         "; Path=/-/; HttpOnly; SameSite=Strict; Max-Age=" +
                         std::to_string(max_age);
    if (IsHttps(req)) cookie += "; Secure";
    return cookie;
  }

  // Served over HTTPS: by shortyd's public URL, or by a trusted proxy's say.
  bool IsHttps(const Request& req) const {
    if (service_->options().public_url.rfind("https://", 0) == 0) return true;
    const std::string& from = CurrentPeer().address;
    bool trusted = std::find(options_.trusted_proxies.begin(),
                             options_.trusted_proxies.end(),
                             from) != options_.trusted_proxies.end();
    return trusted && req.get_header_value("X-Forwarded-Proto") == "https";
  }

  // --- Forms ---------------------------------------------------------------

  static int StatusFor(const Status& s) {
    switch (s.code()) {
      case Code::kNotFound:
        return 404;
      case Code::kAlreadyExists:
        return 409;
      case Code::kBadRequest:
        return 400;
      case Code::kInvalidArgument:
        return 422;
      case Code::kUnavailable:
        return 503;
      default:
        return 500;
    }
  }

  static std::vector<std::string> SplitTags(const std::string& text) {
    std::vector<std::string> tags;
    std::string current;
    for (char c : text + ",") {
      if (c == ',' || c == ' ') {
        if (!current.empty()) tags.push_back(current);
        current.clear();
      } else {
        current += c;
      }
    }
    return tags;
  }

  Result<LinkInput> InputFromForm(const Request& req) const {
    LinkInput in;
    in.target = req.get_param_value("target");
    std::string slug = req.get_param_value("slug");
    if (!slug.empty()) in.slug = slug;
    in.title = req.get_param_value("title");
    in.note = req.get_param_value("note");
    in.tags = SplitTags(req.get_param_value("tags"));
    std::string password = req.get_param_value("password");
    if (!password.empty()) in.password = std::move(password);
    std::string status = req.get_param_value("status");
    if (!status.empty()) in.status = std::atoi(status.c_str());
    std::string expires = req.get_param_value("expires");
    if (!expires.empty()) {
      Result<UnixTime> t = ParseTimePoint(expires, service_->Now());
      if (!t.ok())
        return Status::InvalidArgument("expires: " + t.status().message());
      in.expires_at = *t;
    }
    std::string max = req.get_param_value("max_visits");
    if (!max.empty()) {
      char* end = nullptr;
      long long n = std::strtoll(max.c_str(), &end, 10);
      if (*end != '\0') {
        return Status::InvalidArgument("max_visits: give a whole number");
      }
      in.max_visits = n;
    }
    return in;
  }

  // Every field of the edit form is sent; only those that differ from the
  // stored link become the patch, so history shows what really changed. A
  // password field left empty keeps the password.
  Result<LinkEdit> EditFromForm(const Request& req) const {
    Result<Link> current = service_->Get(req.matches[1].str());
    if (!current.ok()) return current.status();
    LinkEdit edit;
    LinkPatch& p = edit.patch;
    std::string password = req.get_param_value("password");
    bool remove_password = req.get_param_value("no_password") == "1";
    if (!password.empty() && remove_password) {
      return Status::InvalidArgument(
          "password: give a new password or remove it, not both");
    }
    if (!password.empty()) edit.password = std::move(password);
    if (remove_password && !current->password_hash.empty()) {
      edit.password = "";
    }
    std::string target = req.get_param_value("target");
    if (target != current->target) p.target = target;
    if (req.get_param_value("title") != current->title) {
      p.title = req.get_param_value("title");
    }
    if (req.get_param_value("note") != current->note) {
      p.note = req.get_param_value("note");
    }
    std::vector<std::string> tags = SplitTags(req.get_param_value("tags"));
    std::vector<std::string> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    if (sorted != current->tags) p.tags = tags;
    int status = std::atoi(req.get_param_value("status").c_str());
    if (status != current->status) p.status = status;
    std::string expires = req.get_param_value("expires");
    if (expires != OptionalTime(current->expires_at)) {
      if (expires.empty()) {
        p.expires_at = std::optional<UnixTime>();
      } else {
        Result<UnixTime> t = ParseTimePoint(expires, service_->Now());
        if (!t.ok()) {
          return Status::InvalidArgument("expires: " + t.status().message());
        }
        p.expires_at = std::optional<UnixTime>(*t);
      }
    }
    std::string max = req.get_param_value("max_visits");
    std::string current_max =
        current->max_visits ? std::to_string(*current->max_visits) : "";
    if (max != current_max) {
      if (max.empty()) {
        p.max_visits = std::optional<int64_t>();
      } else {
        char* end = nullptr;
        long long n = std::strtoll(max.c_str(), &end, 10);
        if (*end != '\0') {
          return Status::InvalidArgument("max_visits: give a whole number");
        }
        p.max_visits = std::optional<int64_t>(n);
      }
    }
    if (edit.empty()) return Status::InvalidArgument("nothing was changed");
    return edit;
  }

  static std::string Field(const char* label, const char* name,
                           const std::string& value, const char* extra = "") {
    return std::string("<label>") + label + "<input name=\"" + name +
           "\" value=\"" + HtmlEscape(value) + "\" " + extra + "></label>";
  }

  static std::string StatusSelect(int selected) {
    std::string out = "<label>Redirect status<select name=\"status\">";
    for (int code : {302, 301, 307, 308}) {
      out += "<option value=\"" + std::to_string(code) + "\"" +
             (code == selected ? " selected" : "") + ">" +
             std::to_string(code) + "</option>";
    }
    return out + "</select></label>";
  }

  static std::string Hidden(const Session& s) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" +
           HtmlEscape(s.csrf) + "\">";
  }

  std::string CreateForm(const Session& s, const Request& req,
                         const std::string& error) const {
    std::string body;
    if (!error.empty())
      body += "<p class=\"error\">" + HtmlEscape(error) + "</p>";
    int status = service_->options().default_status;
    if (req.has_param("status"))
      status = std::atoi(req.get_param_value("status").c_str());
    body +=
        "<form method=\"post\" action=\"/-/new\" class=\"stack\">" + Hidden(s) +
        Field("Target URL", "target", req.get_param_value("target"),
              "type=\"url\" required autofocus") +
        Field("Custom slug (optional)", "slug", req.get_param_value("slug"),
              "pattern=\"[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}\"") +
        Field("Title", "title", req.get_param_value("title")) +
        Field("Note", "note", req.get_param_value("note")) +
        Field("Tags (comma separated)", "tags", req.get_param_value("tags")) +
        Field("Expires (7d, 2027-01-31 or RFC 3339)", "expires",
              req.get_param_value("expires")) +
        Field("Visit limit", "max_visits", req.get_param_value("max_visits"),
              "inputmode=\"numeric\"") +
        // Never filled in again from the request: a password is not echoed.
        Field("Password for visitors (optional)", "password", "",
              "type=\"password\" autocomplete=\"new-password\"") +
        StatusSelect(status) + "<button>Create</button></form>";
    return body;
  }

  void ShowLink(const Request& req, Response& res, const Session& s,
                const std::string& slug, int status, const std::string& error) {
    (void)req;
    Result<Link> link = service_->Get(slug);
    if (!link.ok()) {
      return Send(
          res, link.status().code() == Code::kNotFound ? 404 : 503, "Not found",
          s,
          "<p class=\"error\">" + HtmlEscape(link.status().message()) + "</p>");
    }
    const Link& l = *link;
    const std::string short_url = service_->ShortUrl(l.slug);
    Verdict state = service_->StateOf(l);
    std::string body;
    if (!error.empty())
      body += "<p class=\"error\">" + HtmlEscape(error) + "</p>";
    body += "<div class=\"card\"><div class=\"qr\">";
    Result<QrCode> qr = EncodeQr(short_url);
    if (qr.ok()) body += QrSvg(*qr, 4, 2);
    body += "</div><dl><dt>Short link</dt><dd><a href=\"" +
            HtmlEscape(short_url) + "\">" + HtmlEscape(short_url) +
            "</a></dd><dt>Target</dt><dd class=\"url\">" +
            HtmlEscape(l.target) + "</dd><dt>State</dt><dd class=\"" +
            StateClass(state) + "\">" + StateName(state) +
            "</dd><dt>Visits</dt><dd>" + std::to_string(l.visits) +
            (l.max_visits ? " of " + std::to_string(*l.max_visits) : "") +
            "</dd><dt>Password</dt><dd>" +
            (l.password_hash.empty() ? "none" : "required of visitors") +
            "</dd><dt>Created</dt><dd>" + FormatTime(l.created_at) + " by " +
            HtmlEscape(l.created_by) + "</dd>";
    if (!l.note.empty())
      body += "<dt>Note</dt><dd>" + HtmlEscape(l.note) + "</dd>";
    body += "</dl></div>";

    if (static_cast<int>(s.scope) >= static_cast<int>(Scope::kWrite)) {
      const std::string base = "/-/links/" + HtmlEscape(l.slug);
      std::string tags;
      for (const std::string& t : l.tags)
        tags += (tags.empty() ? "" : ", ") + t;
      body +=
          "<h2>Edit</h2><form method=\"post\" action=\"" + base +
          "/edit\" class=\"stack\">" + Hidden(s) +
          Field("Target URL", "target", l.target, "type=\"url\" required") +
          Field("Title", "title", l.title) + Field("Note", "note", l.note) +
          Field("Tags (comma separated)", "tags", tags) +
          Field("Expires (empty: never)", "expires",
                OptionalTime(l.expires_at)) +
          Field("Visit limit (empty: none)", "max_visits",
                l.max_visits ? std::to_string(*l.max_visits) : "",
                "inputmode=\"numeric\"") +
          Field(l.password_hash.empty() ? "Password for visitors (empty: none)"
                                        : "New password (empty: keep it)",
                "password", "",
                "type=\"password\" autocomplete=\"new-password\"") +
          (l.password_hash.empty()
               ? std::string()
               : std::string("<label><input type=\"checkbox\" "
                             "name=\"no_password\" value=\"1\"> "
                             "Remove the password</label>")) +
          StatusSelect(l.status) + "<button>Save</button></form>";
      body += "<div class=\"actions\">";
      body += ActionButton(s, base + "/expire", "Expire now");
      body += l.disabled ? ActionButton(s, base + "/enable", "Enable")
                         : ActionButton(s, base + "/disable", "Disable");
      body += ActionButton(s, base + "/delete", "Delete");
      body += "</div>";
    }

    body += VisitsSection(l.slug);

    body += "<h2>History</h2>";
    Result<std::vector<HistoryEntry>> history = service_->History(l.slug, 100);
    if (history.ok()) {
      body +=
          "<table><thead><tr><th>When</th><th>Who</th><th>What</th>"
          "<th>Changes</th></tr></thead><tbody>";
      for (auto it = history->rbegin(); it != history->rend(); ++it) {
        body += "<tr><td>" + FormatTime(it->at) + "</td><td>" +
                HtmlEscape(it->actor) + "</td><td>" + HtmlEscape(it->action) +
                "</td><td class=\"url\">" +
                HtmlEscape(DescribeChanges(it->changes)) + "</td></tr>";
      }
      body += "</tbody></table>";
    }
    Send(res, status, l.title.empty() ? l.slug : l.title, s, body);
  }

  // The last 30 days' visits: a chart, then the top referrers, browsers,
  // systems and devices side by side. Bots are left out, and said so.
  std::string VisitsSection(const std::string& slug) {
    StatsQuery query;
    query.since = service_->Now() - 29 * kDay;
    Result<LinkStats> stats = service_->Stats(slug, query);
    std::string out = "<h2>Visits, last 30 days</h2>";
    if (!stats.ok()) {
      return out + "<p class=\"error\">" +
             HtmlEscape(stats.status().message()) + "</p>";
    }
    out += "<p>" + std::to_string(stats->total) + " visits; " +
           std::to_string(stats->bots) +
           " more by bots (crawlers, link previews, tools), not shown.</p>";
    out += "<div class=\"chart\">" + StatsSvg(*stats) + "</div>";
    const std::pair<const char*, const std::vector<StatsCount>*> tops[] = {
        {"Referrer", &stats->referrers},
        {"Browser", &stats->browsers},
        {"System", &stats->oses},
        {"Device", &stats->devices}};
    out += "<div class=\"tops\">";
    for (const auto& [title, list] : tops) {
      if (list->empty()) continue;
      out += "<table><thead><tr><th>" + std::string(title) +
             "</th><th>Visits</th></tr></thead><tbody>";
      for (const StatsCount& c : *list) {
        out += "<tr><td>" + HtmlEscape(c.value) + "</td><td>" +
               std::to_string(c.visits) + "</td></tr>";
      }
      out += "</tbody></table>";
    }
    return out + "</div>";
  }

  static std::string ActionButton(const Session& s, const std::string& action,
                                  const char* label) {
    return "<form method=\"post\" action=\"" + action + "\">" + Hidden(s) +
           "<button>" + label + "</button></form>";
  }

  static std::string DescribeChanges(const std::string& changes_json) {
    nlohmann::json j = nlohmann::json::parse(changes_json, nullptr, false);
    if (!j.is_object()) return "";
    std::string out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_array() || it.value().size() != 2) continue;
      auto show = [](const nlohmann::json& v) {
        return v.is_null()     ? std::string("none")
               : v.is_string() ? v.get<std::string>()
                               : v.dump();
      };
      if (!out.empty()) out += "; ";
      out += it.key() + ": " + show(it.value()[0]) + " \u2192 " +
             show(it.value()[1]);
    }
    return out;
  }

  // --- Output --------------------------------------------------------------

  void ShowSignin(const Request& req, Response& res, int status,
                  const std::string& error) {
    std::string csrf = RandomText(32);
    std::string cookie =
        std::string(kSigninCookie) + "=" + csrf +
        "; Path=/-/signin; HttpOnly; SameSite=Strict; Max-Age=3600";
    if (IsHttps(req)) cookie += "; Secure";
    res.set_header("Set-Cookie", cookie);
    std::string body;
    if (!error.empty())
      body += "<p class=\"error\">" + HtmlEscape(error) + "</p>";
    body +=
        "<form method=\"post\" action=\"/-/signin\" class=\"stack\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"" +
        csrf +
        "\">"
        "<label>API token<input name=\"token\" type=\"password\" "
        "autocomplete=\"current-password\" required autofocus></label>"
        "<button>Sign in</button></form><p><small>Make a token on the "
        "server with <code>shorty token create NAME</code>.</small></p>";
    SendPage(res, status, "Sign in", nullptr, body);
  }

  void Send(Response& res, int status, const std::string& title,
            const Session& s, const std::string& body) {
    SendPage(res, status, title, &s, body);
  }

  static void SendPage(Response& res, int status, const std::string& title,
                       const Session* s, const std::string& body) {
    std::string html;
    html.reserve(2048 + body.size());
    html +=
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>";
    html +=
        HtmlEscape(title) +
        " \u2013 shorty</title><style>"
        "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b}"
        "header{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;"
        "background:#1f3a5f;color:#fff;flex-wrap:wrap}header a{color:#fff}"
        "header form{margin-left:auto}main{max-width:60rem;margin:1rem auto;"
        "padding:0 1rem}table{border-collapse:collapse;width:100%}"
        "th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid "
        "#ddd;vertical-align:top}.url{word-break:break-all}.ok{color:#17702f}"
        ".off{color:#a33}.error{color:#a33;font-weight:600}.tag{font-size:"
        ".85em;background:#eef;padding:0 .3rem;border-radius:3px}"
        ".stack{display:grid;gap:.6rem;max-width:32rem}.stack label{display:"
        "grid;gap:.2rem}.bar{display:flex;gap:.5rem;flex-wrap:wrap;margin:"
        "0 0 1rem}input,select,button{font:inherit;padding:.3rem}"
        ".actions{display:flex;gap:.5rem;margin:1rem 0}.card{display:flex;"
        "gap:1.5rem;flex-wrap:wrap}.qr svg{width:10rem;height:10rem}"
        "dt{font-weight:600}dd{margin:0 0 .4rem}.chart svg{width:100%;"
        "max-width:40rem;height:auto}.tops{display:grid;gap:1rem;"
        "grid-template-columns:repeat(auto-fit,minmax(12rem,1fr))}</style></head><body><header>"
        "<strong>shorty</strong>";
    if (s) {
      html += "<a href=\"/-/\">Links</a>";
      if (static_cast<int>(s->scope) >= static_cast<int>(Scope::kWrite)) {
        html += "<a href=\"/-/new\">New link</a>";
      }
      html += "<form method=\"post\" action=\"/-/signout\">" + Hidden(*s) +
              "<span>" + HtmlEscape(s->actor) +
              "</span> <button>Sign out"
              "</button></form>";
    }
    html += "</header><main><h1>" + HtmlEscape(title) + "</h1>" + body +
            "</main></body></html>\n";
    res.status = status;
    res.set_header("Content-Security-Policy", kWebSecurityPolicy);
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "same-origin");
    res.set_header("Cache-Control", "no-store");
    res.set_content(html, "text/html; charset=utf-8");
  }

  static void Redirect(Response& res, const std::string& to) {
    res.status = 303;
    res.set_header("Location", to);
    res.set_header("Cache-Control", "no-store");
  }

  LinkService* service_;
  TokenService* tokens_;
  WebOptions options_;
  Sessions sessions_;
};

}  // namespace

void InstallWebPages(Listener* listener, LinkService* service,
                     TokenService* tokens, WebOptions options) {
  auto web = std::make_shared<Web>(service, tokens, std::move(options));
  listener->Get("/-/",
                [web](const Request& q, Response& r) { web->List(q, r); });
  listener->Get("/-/signin", [web](const Request& q, Response& r) {
    web->SigninForm(q, r);
  });
  listener->Post("/-/signin",
                 [web](const Request& q, Response& r) { web->Signin(q, r); });
  listener->Post("/-/signout",
                 [web](const Request& q, Response& r) { web->Signout(q, r); });
  listener->Get("/-/new",
                [web](const Request& q, Response& r) { web->NewForm(q, r); });
  listener->Post("/-/new",
                 [web](const Request& q, Response& r) { web->Create(q, r); });
  const std::string link = "/-/links/([A-Za-z0-9_-]{1,64})";
  listener->Get(link,
                [web](const Request& q, Response& r) { web->Show(q, r); });
  listener->Post(link + "/edit",
                 [web](const Request& q, Response& r) { web->Edit(q, r); });
  for (const char* action : {"expire", "disable", "enable", "delete"}) {
    std::string name = action;
    listener->Post(link + "/" + name,
                   [web, name](const Request& q, Response& r) {
                     web->Action(q, r, name);
                   });
  }
}

}  // namespace shorty
