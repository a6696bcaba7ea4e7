#include "daemon/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/log.h"
#include "daemon/pages.h"
#include "shared/import_formats.h"
#include "shared/link_json.h"
#include "shared/qr.h"
#include "shared/slug.h"
#include "shared/timeparse.h"
#include "shared/visit.h"

namespace shorty {
namespace {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

constexpr char kApiPrefix[] = "/-/api/";
constexpr char kLinksPath[] = "/-/api/v1/links";
// Paths under /-/ longer than this are refused before any regex sees them.
constexpr size_t kMaxInternalPathBytes = 512;
// Header fields a request may carry; browsers send about twenty.
constexpr size_t kMaxHeaders = 100;
constexpr char kUnlockPath[] = "/-/unlock/";
// What the password form carries back of the request that showed it (no
// Location may be longer than a target anyway).
constexpr size_t kMaxRestBytes = 4096;
// Password checks at once: each costs 32 MiB and tens of milliseconds of
// scrypt, so a flood of attempts is turned away instead of exhausting
// memory.
constexpr int kMaxConcurrentUnlocks = 4;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void SendJson(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(Response& res, const Status& status) {
  res.status = HttpStatusFor(status.code());
  if (status.code() == Code::kUnauthorized) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"shorty\"");
  }
  res.set_content(ErrorBody(status), "application/json");
}

void SendPage(Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Content-Security-Policy", kPageSecurityPolicy);
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html; charset=utf-8");
}

struct Principal {
  std::string actor;  // token name or local user
  Scope scope = Scope::kRead;
  bool local = false;
};

std::optional<int> ParseLimit(const std::string& text) {
  char* end = nullptr;
  long n = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < 1 || n > 1000) return std::nullopt;
  return static_cast<int>(n);
}

json OptionalTime(const std::optional<UnixTime>& t) {
  return t ? json(FormatTime(*t)) : json(nullptr);
}

json TokenJson(const Token& t) {
  return {{"name", t.name},
          {"scope", ScopeName(t.scope)},
          {"created_at", FormatTime(t.created_at)},
          {"created_by", t.created_by},
          {"last_used_at", OptionalTime(t.last_used_at)},
          {"expires_at", OptionalTime(t.expires_at)},
          {"revoked_at", OptionalTime(t.revoked_at)}};
}

json HistoryJson(const std::vector<HistoryEntry>& entries) {
  json list = json::array();
  for (const HistoryEntry& e : entries) {
    json changes = json::parse(e.changes, nullptr, false);
    if (changes.is_discarded()) changes = json::object();
    list.push_back({{"seq", e.seq},
                    {"slug", e.slug},
                    {"at", FormatTime(e.at)},
                    {"actor", e.actor},
                    {"action", e.action},
                    {"changes", changes}});
  }
  return list;
}

class Routes {
 public:
  Routes(LinkService* service, TokenService* tokens, RouteOptions options)
      : service_(service), tokens_(tokens), options_(std::move(options)) {}

  // A visit, unless this client has used up its unknown-slug budget: then
  // 429 for every slug, so a guesser learns nothing more until it refills.
  void LimitedVisit(const Request& req, Response& res) {
    RateLimiter* limit = options_.control ? nullptr : options_.not_found_limit;
    if (!limit || !limit->enabled()) return Visit(req, res);
    const std::string client = ClientAddress(req, options_.trusted_proxies);
    int64_t wait = limit->Check(client, MonotonicMs());
    if (wait > 0) {
      CountResult(RedirectResult::kRateLimited);
      res.set_header("Retry-After", std::to_string(wait));
      SendPage(res, 429,
               ErrorPage(429,
                         "Too many unknown links from your address; "
                         "try again later."));
      return;
    }
    Visit(req, res);
    if (res.status == 404) limit->Take(client, MonotonicMs());
  }

  // GET|HEAD /{slug}[+][/extra][?query], for every path outside /-/.
  void Visit(const Request& req, Response& res) {
    std::string_view target = req.target;
    std::string_view query;
    size_t q = target.find('?');
    if (q != std::string_view::npos) {
      query = target.substr(q + 1);
      target = target.substr(0, q);
    }
    std::string_view rest = target.substr(1);  // after the leading '/'
    std::string_view slug = rest;
    std::string_view extra;
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
      slug = rest.substr(0, slash);
      extra = rest.substr(slash + 1);
    }
    // "/{slug}+" previews; some clients send the '+' as "%2B".
    bool preview = false;
    if (extra.empty() && query.empty()) {
      if (!slug.empty() && slug.back() == '+') {
        preview = true;
        slug.remove_suffix(1);
      } else if (slug.size() > 3 && (slug.substr(slug.size() - 3) == "%2B" ||
                                     slug.substr(slug.size() - 3) == "%2b")) {
        preview = true;
        slug.remove_suffix(3);
      }
    }
    if (!ValidateCustomSlug(slug).ok()) {
      // Not a slug at all: answered like an unknown one, after a lookup of
      // the same cost, so no 404 tells a guesser more than another.
      service_->Get(slug.substr(0, kMaxSlugLength));
      CountResult(RedirectResult::kNotFound);
      SendPage(res, 404, NotFoundPage());
      return;
    }
    if (preview) {
      Preview(slug, res);
      return;
    }
    const bool count = req.method == "GET";
    Result<RedirectOutcome> outcome =
        service_->Resolve(slug, extra, query, count,
                          count ? TraitsOf(req) : VisitTraits{});
    if (!SendOutcome(outcome, res)) return;
    if (outcome->locked) {
      // What followed the slug goes along with the form, to be checked
      // again when it comes back.
      std::string_view after_slug =
          std::string_view(req.target).substr(1 + slug.size());
      CountResult(RedirectResult::kPassword);
      SendPage(res, 200, PasswordPage(slug, after_slug, ""));
      return;
    }
    CountResult(RedirectResult::kRedirect);
    SendRedirect(*outcome, outcome->status, res, /*no_store=*/false);
  }

  // POST /-/unlock/{slug} from the password form: the redirect, as a visit
  // to the link would get it, when the password is right.
  void Unlock(const Request& req, Response& res) {
    const std::string slug = req.matches[1].str();
    if (!ValidateCustomSlug(slug).ok()) {
      CountResult(RedirectResult::kNotFound);
      SendPage(res, 404, NotFoundPage());
      return;
    }
    const std::string rest = req.get_param_value("rest");
    std::string_view extra;
    std::string_view query;
    if (!SplitRest(rest, &extra, &query)) {
      CountResult(RedirectResult::kInvalid);
      SendPage(res, 400,
               ErrorPage(400, "The form was altered; open the link again."));
      return;
    }
    const std::string& address = CurrentPeer().address;
    std::string key = (address.empty() ? std::string("local") : address) + " " +
                      SlugKey(slug, service_->options().case_sensitive);
    if (options_.allow_password_attempt &&
        !options_.allow_password_attempt(key)) {
      CountResult(RedirectResult::kRateLimited);
      res.set_header("Retry-After", "60");
      SendPage(res, 429,
               ErrorPage(429,
                         "Too many password attempts; wait a minute and try "
                         "again."));
      return;
    }
    UnlockSlot slot(unlocks_in_flight_);
    if (!slot.ok()) {
      CountResult(RedirectResult::kError);
      res.set_header("Retry-After", "1");
      SendPage(res, 503,
               ErrorPage(503, "The server is busy; try again in a moment."));
      return;
    }
    Result<RedirectOutcome> outcome =
        service_->Unlock(slug, extra, query, req.get_param_value("password"),
                         TraitsOf(req));
    if (!outcome.ok() && outcome.status().code() == Code::kUnauthorized) {
      CountResult(RedirectResult::kWrongPassword);
      SendPage(res, 401,
               PasswordPage(slug, rest, "That password is not right."));
      return;
    }
    if (!SendOutcome(outcome, res)) return;
    // A 307 or 308 would make the browser send the form, password and all,
    // on to the target; 303 is the same redirect as a GET. 301 and 302 turn
    // a POST into a GET already.
    int status = outcome->status == 307 || outcome->status == 308
                     ? 303
                     : outcome->status;
    CountResult(RedirectResult::kUnlocked);
    SendRedirect(*outcome, status, res, /*no_store=*/true);
  }

  // What is kept of the visitor making `req`: classes read off its
  // User-Agent and the Referer's host, never the headers themselves.
  static VisitTraits TraitsOf(const Request& req) {
    auto header = [&req](const char* name) -> std::string_view {
      auto it = req.headers.find(name);
      return it == req.headers.end() ? std::string_view() : it->second;
    };
    return ClassifyVisit(header("User-Agent"), header("Referer"));
  }

  // Sends the page for an outcome that is an error or not a redirect, and
  // returns false; true when the outcome is a redirect (or locked) to send.
  // Counts the result it sends.
  bool SendOutcome(const Result<RedirectOutcome>& outcome, Response& res) {
    if (!outcome.ok()) {
      switch (outcome.status().code()) {
        case Code::kNotFound:
          CountResult(RedirectResult::kNotFound);
          SendPage(res, 404, NotFoundPage());
          return false;
        case Code::kInvalidArgument:
          CountResult(RedirectResult::kInvalid);
          SendPage(res, 400, ErrorPage(400, outcome.status().message()));
          return false;
        default:
          CountResult(RedirectResult::kError);
          Log("redirect", outcome.status());
          SendPage(res, 503,
                   ErrorPage(503,
                             "The link cannot be served right now; try "
                             "again in a moment."));
          return false;
      }
    }
    if (outcome->verdict != Verdict::kRedirect) {
      CountResult(RedirectResult::kGone);
      SendPage(res, 410, GonePage(VerdictReason(outcome->verdict)));
      return false;
    }
    return true;
  }

  // `no_store`: the answer to a password is not to be kept by any cache.
  static void SendRedirect(const RedirectOutcome& outcome, int status,
                           Response& res, bool no_store) {
    res.status = status;
    res.set_header("Location", outcome.location);
    if (no_store) {
      res.set_header("Cache-Control", "no-store");
    } else if (status == 301 || status == 308) {
      // A permanent redirect cached for ever would hide later edits and
      // visits; a short private lifetime keeps both.
      res.set_header("Cache-Control", "private, max-age=90");
    } else {
      res.set_header("Cache-Control", "private, no-cache");
    }
    res.set_header("Referrer-Policy", "unsafe-url");
  }

  // Splits the form's "rest" ("", "/extra?query" or "?query") as Visit
  // split the request; false when it cannot have come from Visit.
  static bool SplitRest(std::string_view rest, std::string_view* extra,
                        std::string_view* query) {
    if (rest.size() > kMaxRestBytes) return false;
    if (rest.empty()) return true;
    if (rest[0] != '/' && rest[0] != '?') return false;
    size_t q = rest.find('?');
    if (q != std::string_view::npos) {
      *query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    if (!rest.empty()) *extra = rest.substr(1);
    return true;
  }

  // A place among the password checks running at once, held while it lives.
  class UnlockSlot {
   public:
    explicit UnlockSlot(std::atomic<int>& in_flight) : in_flight_(in_flight) {
      ok_ = in_flight_.fetch_add(1) < kMaxConcurrentUnlocks;
    }
    ~UnlockSlot() { in_flight_.fetch_sub(1); }
    UnlockSlot(const UnlockSlot&) = delete;
    UnlockSlot& operator=(const UnlockSlot&) = delete;
    bool ok() const { return ok_; }

   private:
    std::atomic<int>& in_flight_;
    bool ok_ = false;
  };

  void Preview(std::string_view slug, Response& res) {
    Result<Link> link = service_->Get(slug);
    if (!link.ok()) {
      if (link.status().code() == Code::kNotFound) {
        CountResult(RedirectResult::kNotFound);
        SendPage(res, 404, NotFoundPage());
      } else {
        CountResult(RedirectResult::kError);
        Log("preview", link.status());
        SendPage(res, 503, ErrorPage(503, "Try again in a moment."));
      }
      return;
    }
    CountResult(RedirectResult::kPreview);
    SendPage(res, 200,
             PreviewPage(*link, service_->ShortUrl(link->slug),
                         StateName(service_->StateOf(*link))));
  }

  // Who a request acts as, and what it may do. Over the control socket the
  // caller is trusted by the socket's file mode and acts as the local user;
  // over HTTP it presents a bearer token. Sends 401 or 403 and returns
  // nothing when the request may not go on.
  std::optional<Principal> Authorize(const Request& req, Response& res,
                                     Scope needed) {
    if (options_.control) {
      return Principal{CurrentPeer().user, Scope::kAdmin, true};
    }
    // A token in a URL ends up in logs and browser history: refused even
    // when valid, so no one gets used to sending it that way.
    if (req.has_param("token") || req.has_param("access_token")) {
      SendError(res, TokenRequired());
      return std::nullopt;
    }
    std::string header = req.get_header_value("Authorization");
    std::string_view presented;
    if (header.size() > 7 && (header.compare(0, 7, "Bearer ") == 0 ||
                              header.compare(0, 7, "bearer ") == 0)) {
      presented = std::string_view(header).substr(7);
    }
    Result<Token> token = tokens_->Authenticate(presented);
    if (!token.ok()) {
      if (token.status().code() == Code::kUnauthorized) {
        SendError(res, token.status());
      } else {
        Fail(res, "authenticate", token.status());
      }
      return std::nullopt;
    }
    if (static_cast<int>(token->scope) < static_cast<int>(needed)) {
      SendError(res, Status::Forbidden(std::string("this token's scope is ") +
                                       ScopeName(token->scope) +
                                       "; this needs " + ScopeName(needed)));
      return std::nullopt;
    }
    return Principal{token->name, token->scope, false};
  }

  bool RequireJson(const Request& req, Response& res) {
    std::string type = req.get_header_value("Content-Type");
    if (StartsWith(type, "application/json")) return true;
    SendError(res,
              Status::BadRequest(
                  "body: send JSON with 'Content-Type: application/json'"));
    return false;
  }

  // 429 with Retry-After when `limiter` has no token left for `key`.
  static bool Limited(RateLimiter* limiter, const std::string& key,
                      Response& res) {
    if (!limiter) return false;
    int64_t wait = limiter->Take(key, MonotonicMs());
    if (wait == 0) return false;
    res.set_header("Retry-After", std::to_string(wait));
    SendError(res,
              Status(Code::kUnavailable, "too many requests; try again in " +
                                             std::to_string(wait) + " s"));
    res.status = 429;
    return true;
  }

  void CreateLink(const Request& req, Response& res) {
    auto who = Authorize(req, res, Scope::kWrite);
    if (!who || !RequireJson(req, res)) return;
    if (!who->local &&
        Limited(options_.create_limit, "token " + who->actor, res)) {
      return;
    }
    Result<LinkInput> input = ParseLinkInput(req.body, service_->Now());
    if (!input.ok()) return SendError(res, input.status());
    // With an Idempotency-Key, a retried create gets the first one's link
    // (200) instead of a second link.
    auto create = [&]() -> Result<CreatedLink> {
      if (req.has_header("Idempotency-Key")) {
        return service_->CreateOnce(*input, who->actor,
                                    req.get_header_value("Idempotency-Key"));
      }
      Result<Link> link = service_->Create(*input, who->actor);
      if (!link.ok()) return link.status();
      return CreatedLink{std::move(*link), false};
    };
    Result<CreatedLink> created = create();
    if (!created.ok()) return Fail(res, "create", created.status());
    const Link& link = created->link;
    res.set_header("Location", std::string(kLinksPath) + "/" + link.slug);
    SendJson(res, created->replayed ? 200 : 201, ToJson(link));
  }

  void ListLinks(const Request& req, Response& res) {
    if (!Authorize(req, res, Scope::kRead)) return;
    ListQuery query;
    query.search = req.get_param_value("q");
    query.tag = req.get_param_value("tag");
    query.cursor = req.get_param_value("cursor");
    std::string all = req.get_param_value("all");
    query.include_inactive = all == "1" || all == "true";
    if (req.has_param("limit")) {
      std::optional<int> n = ParseLimit(req.get_param_value("limit"));
      if (!n) {
        return SendError(res,
                         Status::InvalidArgument(
                             "limit: must be a whole number from 1 to 1000"));
      }
      query.limit = *n;
    }
    Result<LinkPage> page = service_->List(std::move(query));
    if (!page.ok()) return Fail(res, "list", page.status());
    json links = json::array();
    for (const Link& link : page->links) links.push_back(ToJson(link));
    json body = {{"links", std::move(links)}, {"next_cursor", nullptr}};
    if (!page->next_cursor.empty()) body["next_cursor"] = page->next_cursor;
    SendJson(res, 200, body);
  }

  void GetLink(const Request& req, Response& res) {
    if (!Authorize(req, res, Scope::kRead)) return;
    Result<Link> link = service_->Get(req.matches[1].str());
    if (!link.ok()) return Fail(res, "get", link.status());
    SendJson(res, 200, ToJson(*link));
  }

  void UpdateLink(const Request& req, Response& res) {
    auto who = Authorize(req, res, Scope::kWrite);
    if (!who || !RequireJson(req, res)) return;
    Result<LinkEdit> edit = ParseLinkEdit(req.body, service_->Now());
    if (!edit.ok()) return SendError(res, edit.status());
    Result<Link> link =
        service_->Update(req.matches[1].str(), *edit, who->actor);
    if (!link.ok()) return Fail(res, "edit", link.status());
    SendJson(res, 200, ToJson(*link));
  }

  void DeleteLink(const Request& req, Response& res) {
    auto who = Authorize(req, res, Scope::kWrite);
    if (!who) return;
    Status s = service_->Delete(req.matches[1].str(), who->actor);
    if (!s.ok()) return Fail(res, "delete", s);
    res.status = 204;
  }

  void LinkHistory(const Request& req, Response& res) {
    auto who = Authorize(req, res, Scope::kRead);
    if (!who) return;
    const std::string slug = req.matches[1].str();
    int limit = 100;
    if (req.has_param("limit")) {
      std::optional<int> n = ParseLimit(req.get_param_value("limit"));
      if (!n) {
        return SendError(res,
                         Status::InvalidArgument(
                             "limit: must be a whole number from 1 to 1000"));
      }
      limit = *n;
    }
    Result<Link> link = service_->Get(slug);
    if (!link.ok() && link.status().code() != Code::kNotFound) {
      return Fail(res, "history", link.status());
    }
    // A deleted link's history is for admins only.
    if (!link.ok() && who->scope != Scope::kAdmin) {
      return SendError(res, link.status());
    }
    Result<std::vector<HistoryEntry>> history = service_->History(slug, limit);
    if (!history.ok()) return Fail(res, "history", history.status());
    if (!link.ok() && history->empty()) return SendError(res, link.status());
    SendJson(res, 200, {{"slug", slug}, {"history", HistoryJson(*history)}});
  }

  // GET /-/api/v1/links/{slug}/stats[?since=7d&by=day|hour&bots=1]
  void LinkStatsJson(const Request& req, Response& res) {
    if (!Authorize(req, res, Scope::kRead)) return;
    Result<StatsQuery> query = ParseStatsQuery(
        req.get_param_value("since"), req.get_param_value("by"),
        req.get_param_value("bots"), service_->Now());
    if (!query.ok()) return SendError(res, query.status());
    Result<Link> link = service_->Get(req.matches[1].str());
    if (!link.ok()) return Fail(res, "stats", link.status());
    Result<LinkStats> stats = service_->Stats(link->slug, *query);
    if (!stats.ok()) return Fail(res, "stats", stats.status());
    SendJson(res, 200, StatsToJson(link->slug, *stats));
  }

  void LinkQr(const Request& req, Response& res) {
    if (!Authorize(req, res, Scope::kRead)) return;
    std::string format =
        req.has_param("format") ? req.get_param_value("format") : "svg";
    if (format != "svg" && format != "png") {
      return SendError(res, Status::InvalidArgument("format: use svg or png"));
    }
    Result<Link> link = service_->Get(req.matches[1].str());
    if (!link.ok()) return Fail(res, "qr", link.status());
    Result<QrCode> qr = EncodeQr(service_->ShortUrl(link->slug));
    if (!qr.ok()) return Fail(res, "qr", qr.status());
    res.set_header("Cache-Control", "private, max-age=300");
    if (format == "png") {
      res.set_content(QrPng(*qr), "image/png");
    } else {
      res.set_header("Content-Security-Policy", "default-src 'none'");
      res.set_content(QrSvg(*qr), "image/svg+xml");
    }
  }

  // Tokens are managed where the server runs, never over the network: a
  // stolen admin token cannot mint more.
  bool ControlOnly(Response& res) {
    if (options_.control) return true;
    SendError(res, Status::Forbidden(
                       "tokens are managed over the control socket only: run "
                       "'shorty token ...' on the server"));
    return false;
  }

  void CreateToken(const Request& req, Response& res) {
    if (!ControlOnly(res) || !RequireJson(req, res)) return;
    Result<json> body = ParseJsonObject(req.body);
    if (!body.ok()) return SendError(res, body.status());
    const json& j = *body;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() != "name" && it.key() != "scope" &&
          it.key() != "expires_at") {
        return SendError(res, Status::BadRequest("unknown field '" + it.key() +
                                                 "'; known fields: name, "
                                                 "scope, expires_at"));
      }
    }
    if (!j.contains("name") || !j["name"].is_string()) {
      return SendError(res,
                       Status::InvalidArgument("name: required, a string"));
    }
    Scope scope = Scope::kWrite;
    if (j.contains("scope")) {
      if (!j["scope"].is_string()) {
        return SendError(res, Status::BadRequest("scope: expected a string"));
      }
      Result<Scope> parsed = ParseScope(j["scope"].get<std::string>());
      if (!parsed.ok()) return SendError(res, parsed.status());
      scope = *parsed;
    }
    std::optional<UnixTime> expires;
    if (j.contains("expires_at") && !j["expires_at"].is_null()) {
      if (!j["expires_at"].is_string()) {
        return SendError(res,
                         Status::BadRequest("expires_at: expected a string"));
      }
      Result<UnixTime> t =
          ParseTimePoint(j["expires_at"].get<std::string>(), service_->Now());
      if (!t.ok()) {
        return SendError(res, Status::InvalidArgument("expires_at: " +
                                                      t.status().message()));
      }
      expires = *t;
    }
    Result<TokenService::Created> created = tokens_->Create(
        j["name"].get<std::string>(), scope, expires, CurrentPeer().user);
    if (!created.ok()) return Fail(res, "token create", created.status());
    SendJson(res, 201,
             {{"token", TokenJson(created->token)}, {"secret", created->text}});
  }

  void ListTokens(const Request&, Response& res) {
    if (!ControlOnly(res)) return;
    Result<std::vector<Token>> tokens = tokens_->List();
    if (!tokens.ok()) return Fail(res, "token ls", tokens.status());
    json list = json::array();
    for (const Token& t : *tokens) list.push_back(TokenJson(t));
    SendJson(res, 200, {{"tokens", list}});
  }

  void RevokeToken(const Request& req, Response& res) {
    if (!ControlOnly(res)) return;
    Status s = tokens_->Revoke(req.matches[1].str());
    if (!s.ok()) return Fail(res, "token revoke", s);
    res.status = 204;
  }

  // Import, export and backup reach every link, password hashes included:
  // admin tokens and the control socket only.
  std::optional<Principal> AuthorizeBulk(const Request& req, Response& res) {
    auto who = Authorize(req, res, Scope::kAdmin);
    if (who && options_.imports == nullptr) {
      SendError(res, Status::NotFound("no such API path: " + req.path));
      return std::nullopt;
    }
    return who;
  }

  // POST /-/api/v1/import: one batch of links, stored in one transaction.
  void Import(const Request& req, Response& res) {
    auto who = AuthorizeBulk(req, res);
    if (!who || !RequireJson(req, res)) return;
    // The listener caps requests at 1 MiB as sent; this caps them as
    // decompressed.
    if (req.body.size() > kMaxImportBatchBytes + 128 * 1024) {
      return SendError(res, Status::TooLarge(
                                "body: larger than 1 MiB; send fewer links "
                                "a request"));
    }
    Result<ImportBatch> batch = ParseImportBatch(req.body);
    if (!batch.ok()) return SendError(res, batch.status());
    Result<std::vector<ImportResult>> results =
        options_.imports->Import(batch->links, who->actor, batch->dry_run);
    if (!results.ok()) return Fail(res, "import", results.status());
    res.status = 200;
    res.set_content(ImportResultsJson(*results), "application/json");
  }

  // GET /-/api/v1/export[?history=1]: every link in shorty's export format
  // (shared/import_formats.h), streamed a page at a time, so neither side
  // holds all links at once. A failure halfway cuts the connection: the
  // export then lacks its end line, and the client knows it is cut.
  void Export(const Request& req, Response& res) {
    auto who = AuthorizeBulk(req, res);
    if (!who) return;
    const std::string history = req.get_param_value("history");
    const bool with_history = history == "1" || history == "true";
    struct State {
      bool started = false;
      std::string cursor;
      int64_t links = 0;
    };
    auto state = std::make_shared<State>();
    ImportService* imports = options_.imports;
    res.set_header("Cache-Control", "no-store");
    res.set_chunked_content_provider(
        "application/x-ndjson",
        [imports, state, with_history](size_t, httplib::DataSink& sink) {
          constexpr int kPageLinks = 500;
          std::string out;
          if (!state->started) {
            state->started = true;
            out = ExportHeaderLine(SHORTY_VERSION, imports->Now());
          }
          Result<LinkPage> page = imports->ExportPage(state->cursor, kPageLinks);
          if (!page.ok()) {
            Log("export", page.status());
            return false;
          }
          for (const Link& link : page->links) {
            std::vector<HistoryEntry> entries;
            if (with_history) {
              Result<std::vector<HistoryEntry>> h = imports->History(link.slug);
              if (!h.ok()) {
                Log("export", h.status());
                return false;
              }
              entries = std::move(*h);
            }
            out += ExportLinkLine(link, with_history ? &entries : nullptr);
            ++state->links;
          }
          const bool last = page->next_cursor.empty();
          if (last) out += ExportEndLine(state->links);
          state->cursor = std::move(page->next_cursor);
          if (!sink.write(out.data(), out.size())) return false;
          if (last) sink.done();
          return true;
        });
  }

  // GET /-/api/v1/backup: a consistent copy of the database, made beside
  // it and sent as it is. Its name is removed as soon as it is open, so a
  // daemon killed while sending leaves nothing behind.
  void Backup(const Request& req, Response& res) {
    auto who = AuthorizeBulk(req, res);
    if (!who) return;
    Result<StoreBackup> copy = options_.imports->WriteBackup();
    if (!copy.ok()) return Fail(res, "backup", copy.status());
    int fd = ::open(copy->path.c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    ::unlink(copy->path.c_str());
    if (fd < 0) {
      return Fail(res, "backup",
                  Status::IOError("cannot read the backup copy: " +
                                  std::string(std::strerror(err))));
    }
    shorty::Log(Priority::kInfo, "backup for " + who->actor + ": " +
                                     std::to_string(copy->links) +
                                     " links, " +
                                     std::to_string(copy->bytes) + " bytes");
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Shorty-Links", std::to_string(copy->links));
    res.set_content_provider(
        static_cast<size_t>(copy->bytes), "application/vnd.sqlite3",
        [fd](size_t offset, size_t length, httplib::DataSink& sink) {
          char buf[64 * 1024];
          ssize_t n;
          do {
            n = ::pread(fd, buf, std::min(length, sizeof(buf)),
                        static_cast<off_t>(offset));
          } while (n < 0 && errno == EINTR);
          if (n <= 0) return false;
          return sink.write(buf, static_cast<size_t>(n));
        },
        [fd](bool) { ::close(fd); });
  }

  void StatusInfo(const Request& req, Response& res) {
    if (!Authorize(req, res, Scope::kRead)) return;
    Result<StoreInfo> info = service_->Info();
    if (!info.ok()) return Fail(res, "status", info.status());
    SendJson(res, 200,
             {{"version", SHORTY_VERSION},
              {"ready", NotReadyReason().empty()},
              {"links", info->links},
              {"backend", info->backend},
              {"schema_version", info->schema_version},
              {"public_url", service_->options().public_url}});
  }

  void Healthy(const Request&, Response& res) {
    res.set_content("ok\n", "text/plain");
  }

  void Ready(const Request&, Response& res) {
    const std::string why = NotReadyReason();
    res.status = why.empty() ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(why.empty() ? "ready\n" : "not ready: " + why + "\n",
                    "text/plain");
  }

  // "" when ready; else why not, on one line: "draining" or
  // "database: <what is wrong>".
  std::string NotReadyReason() {
    if (options_.ready && !options_.ready()) return "draining";
    if (!options_.database_ready) return "";
    Status database = options_.database_ready();
    if (database.ok()) return "";
    std::string why = "database: " + database.message();
    std::replace(why.begin(), why.end(), '\n', ' ');
    return why;
  }

  // GET /-/metrics: every metric in the Prometheus text format.
  void MetricsText(const Request& req, Response& res) {
    if (!options_.metrics) {
      res.status = 404;
      return;
    }
    // Any token will do (read is the smallest scope): the figures name no
    // link, but they are the server's business.
    bool open = options_.metrics_public && options_.metrics_public();
    if (!open && !Authorize(req, res, Scope::kRead)) return;
    res.set_header("Cache-Control", "no-store");
    res.set_content(options_.metrics->Render(), Metrics::kContentType);
  }

  // Fills in a body for errors that have none (unknown routes, the
  // library's own 400s and 413s): JSON under the API, a page elsewhere.
  void ErrorBodyFor(const Request& req, Response& res) {
    if (!res.body.empty()) return;
    if (StartsWith(req.path, kApiPrefix)) {
      Status s(Code::kNotFound, "no such API path: " + req.method + " " +
                                    req.path.substr(0, 200));
      if (res.status == 413) s = Status::TooLarge("request: too large");
      if (res.status == 400) s = Status::BadRequest("request: malformed");
      if (res.status == 405) {
        s = Status::BadRequest("method " + req.method + " is not allowed here");
      }
      res.set_content(ErrorBody(s), "application/json");
    } else if (res.status == 404) {
      SendPage(res, 404, NotFoundPage());
    } else {
      SendPage(res, res.status,
               ErrorPage(res.status, "The request was refused."));
    }
  }

 private:
  json ToJson(const Link& link) const {
    return LinkToJson(link, service_->ShortUrl(link.slug),
                      service_->StateOf(link));
  }

  void Fail(Response& res, const char* what, const Status& status) {
    int http = HttpStatusFor(status.code());
    if (http >= 500) Log(what, status);
    SendError(res, status);
  }

  void CountResult(RedirectResult result) {
    if (options_.redirects) options_.redirects->Count(result);
  }

  static void Log(const char* what, const Status& status) {
    shorty::Log(Priority::kError, std::string(what) +
                                      " failed: " + CodeName(status.code()) +
                                      ": " + status.message());
  }

  LinkService* service_;
  TokenService* tokens_;
  RouteOptions options_;
  std::atomic<int> unlocks_in_flight_{0};
};

}  // namespace

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kBadRequest:
      return 400;
    case Code::kInvalidArgument:
      return 422;
    case Code::kUnauthorized:
      return 401;
    case Code::kForbidden:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
      return 409;
    case Code::kGone:
      return 410;
    case Code::kTooLarge:
      return 413;
    case Code::kUnavailable:
      return 503;
    case Code::kIOError:
    case Code::kCorruption:
    case Code::kInternal:
      return 500;
  }
  return 500;
}

void InstallRoutes(Listener* listener, LinkService* service,
                   TokenService* tokens, RouteOptions options) {
  // Owned by the handlers' closures for as long as the listener lives.
  auto routes = std::make_shared<Routes>(service, tokens, std::move(options));

  // Visits take the fast way: no regex, straight from the request target.
  listener->set_pre_routing_handler(
      [routes](const Request& req, Response& res) {
        // The 1 MiB request cap bounds header bytes; this bounds their
        // count (the library adds four of its own: REMOTE_ADDR and kin).
        if (req.headers.size() > kMaxHeaders + 4) {
          res.status = 431;
          res.set_header("Connection", "close");
          res.set_content("too many header fields\n", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        if (!StartsWith(req.target, "/-/")) {
          if (req.method == "GET" || req.method == "HEAD") {
            routes->LimitedVisit(req, res);
          } else {
            res.status = 405;
            res.set_header("Allow", "GET, HEAD");
          }
          return httplib::Server::HandlerResponse::Handled;
        }
        if (req.path.size() > kMaxInternalPathBytes) {
          res.status = 404;
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });

  listener->Post(
      std::string(kUnlockPath) + "([^/]+)",
      [routes](const Request& q, Response& r) { routes->Unlock(q, r); });
  listener->Get("/-/healthy", [routes](const Request& q, Response& r) {
    routes->Healthy(q, r);
  });
  listener->Get("/-/ready", [routes](const Request& q, Response& r) {
    routes->Ready(q, r);
  });
  listener->Get("/-/metrics", [routes](const Request& q, Response& r) {
    routes->MetricsText(q, r);
  });
  listener->Get("/-/api/v1/status", [routes](const Request& q, Response& r) {
    routes->StatusInfo(q, r);
  });
  listener->Post(kLinksPath, [routes](const Request& q, Response& r) {
    routes->CreateLink(q, r);
  });
  listener->Get(kLinksPath, [routes](const Request& q, Response& r) {
    routes->ListLinks(q, r);
  });
  const std::string one = std::string(kLinksPath) + "/([^/]+)";
  listener->Get(
      one, [routes](const Request& q, Response& r) { routes->GetLink(q, r); });
  listener->Patch(one, [routes](const Request& q, Response& r) {
    routes->UpdateLink(q, r);
  });
  listener->Delete(one, [routes](const Request& q, Response& r) {
    routes->DeleteLink(q, r);
  });

  listener->Get(one + "/history", [routes](const Request& q, Response& r) {
    routes->LinkHistory(q, r);
  });
  listener->Get(one + "/stats", [routes](const Request& q, Response& r) {
    routes->LinkStatsJson(q, r);
  });
  listener->Get(one + "/qr", [routes](const Request& q, Response& r) {
    routes->LinkQr(q, r);
  });
  const std::string tokens_path = "/-/api/v1/tokens";
  listener->Post(tokens_path, [routes](const Request& q, Response& r) {
    routes->CreateToken(q, r);
  });
  listener->Get(tokens_path, [routes](const Request& q, Response& r) {
    routes->ListTokens(q, r);
  });
  listener->Delete(
      tokens_path + "/([^/]+)",
      [routes](const Request& q, Response& r) { routes->RevokeToken(q, r); });
  listener->Post("/-/api/v1/import", [routes](const Request& q, Response& r) {
    routes->Import(q, r);
  });
  listener->Get("/-/api/v1/export", [routes](const Request& q, Response& r) {
    routes->Export(q, r);
  });
  listener->Get("/-/api/v1/backup", [routes](const Request& q, Response& r) {
    routes->Backup(q, r);
  });

  listener->set_error_handler(httplib::Server::HandlerWithResponse(
      [routes](const Request& q, Response& r) {
        routes->ErrorBodyFor(q, r);
        return httplib::Server::HandlerResponse::Handled;
      }));
  // Never let an exception's text reach a client.
  listener->set_exception_handler(
      [](const Request& req, Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Log(Priority::kError, "internal error on " + req.method + " " +
                                  req.path.substr(0, 200) + ": " + what);
        res.status = 500;
        res.set_content(ErrorBody(Status::Internal(
                            "internal error; the server log has details")),
                        "application/json");
      });
}

}  // namespace shorty
