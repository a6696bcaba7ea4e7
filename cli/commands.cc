#include "cli/commands.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/client.h"
#include "cli/completion.h"
#include "cli/table.h"
#include "cli/transfer.h"
#include "shared/config.h"
#include "shared/link_json.h"
#include "shared/qr.h"
#include "shared/random.h"
#include "shared/target.h"

extern char** environ;

namespace shorty {
namespace {

using nlohmann::json;

struct Globals {
  std::string socket;
  std::string server;
  std::string token;
  std::string config;
  bool json = false;
};

struct AddOptions {
  std::string url;
  std::string slug;
  std::string expires;
  std::optional<int64_t> max_visits;
  std::vector<std::string> tags;
  std::string title;
  std::string note;
  std::optional<int> status;
  bool password = false;
  std::string password_file;
};

struct ListOptions {
  std::string tag;
  std::string search;
  bool all = false;
  int limit = 100;
};

struct EditOptions {
  std::string slug;
  std::optional<std::string> url;
  std::optional<std::string> title;
  std::optional<std::string> note;
  std::vector<std::string> tags;
  bool clear_tags = false;
  std::optional<int> status;
  std::optional<std::string> expires;
  std::optional<std::string> max_visits;
  bool disable = false;
  bool enable = false;
  bool password = false;
  std::string password_file;
  bool no_password = false;
};

struct ExpireOptions {
  std::string slug;
  std::string at;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "shorty: %s\n", s.message().c_str());
  return ExitCodeFor(s.code());
}

// Settings: the CLI config file < SHORTY_* environment < flags.
Result<std::unique_ptr<Client>> Connect(const Globals& g) {
  Environment env = EnvironmentFrom(environ);
  ClientConfig config;
  std::string path = g.config.empty() ? DefaultClientConfigPath(env) : g.config;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    Status s = ParseClientConfig(text.str(), path, &config);
    if (!s.ok()) return Status::BadRequest(s.message());
  } else if (!g.config.empty()) {
    return Status::BadRequest("--config: cannot read " + path);
  }
  auto env_or = [&env](const char* name, std::string* into) {
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) *into = it->second;
  };
  env_or("SHORTY_SERVER", &config.server);
  env_or("SHORTY_TOKEN", &config.token);
  env_or("SHORTY_SOCKET", &config.socket);
  if (!g.server.empty()) config.server = g.server;
  if (!g.token.empty()) config.token = g.token;
  if (!g.socket.empty()) config.socket = g.socket;

  if (!config.server.empty()) {
    Result<std::unique_ptr<Client>> remote =
        Client::Remote(config.server, config.token);
    if (!remote.ok()) return Status::BadRequest(remote.status().message());
    return remote;
  }
  if (config.socket.empty()) {
    // A user's own daemon first, else the system service's socket.
    auto exists = [](const std::string& candidate) {
      struct stat st {};
      return ::stat(candidate.c_str(), &st) == 0;
    };
    config.socket =
        ClientSocketPath(env, static_cast<unsigned>(::getuid()), exists);
  }
  return Client::Local(config.socket);
}

// Decodes a JSON reply; a non-2xx reply becomes the Status its error body
// carries.
Result<json> Decode(Client& client, const Result<Reply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->status < 200 || reply->status >= 300) {
    return StatusFromErrorBody(reply->status, reply->body);
  }
  if (reply->body.empty()) return json::object();
  json j = json::parse(reply->body, nullptr, false);
  if (j.is_discarded()) {
    return Status::Internal("the server's reply is not JSON; is " +
                            client.where() + " a shortyd?");
  }
  return j;
}

// Sends a request and decodes its reply.
Result<json> Request(Client& client, const std::string& method,
                     const std::string& path, const std::string& body = "") {
  return Decode(client, client.Call(method, path, body));
}

// A fresh Idempotency-Key: 128 bits from the kernel's CSPRNG, in hex.
std::string NewIdempotencyKey() {
  static const char kHex[] = "0123456789abcdef";
  uint8_t bytes[16];
  SystemRandom().Fill(bytes, sizeof(bytes));
  std::string key;
  for (uint8_t b : bytes) {
    key += kHex[b >> 4];
    key += kHex[b & 15];
  }
  return key;
}

// A create, retried when the daemon could not be reached or the connection
// broke before the answer came (a restart): the same Idempotency-Key on
// every try makes the retries safe, so at most one link is made. Gives up
// after three retries over about five seconds.
Result<json> CreateWithRetries(Client& client, const std::string& body) {
  static constexpr std::chrono::milliseconds kDelays[] = {
      std::chrono::milliseconds(500), std::chrono::milliseconds(1500),
      std::chrono::milliseconds(3000)};
  const Client::Headers headers = {{"Idempotency-Key", NewIdempotencyKey()}};
  Result<Reply> reply = client.Call("POST", "/-/api/v1/links", body, headers);
  int attempt = 0;
  for (std::chrono::milliseconds delay : kDelays) {
    if (reply.ok() || reply.status().code() != Code::kUnavailable) break;
    ++attempt;
    std::fprintf(stderr,
                 "shorty: no answer from shortyd; trying again (%d of 3)\n",
                 attempt);
    std::this_thread::sleep_for(delay);
    reply = client.Call("POST", "/-/api/v1/links", body, headers);
  }
  return Decode(client, reply);
}

// Reads a password typed on the terminal (standard input) without echo,
// prompting on stderr; asks twice when `confirm`. BadRequest when standard
// input is not a terminal (usage: give --password-file), when the two do
// not match, or when reading fails.
Result<std::string> AskPassword(bool confirm) {
  if (!::isatty(STDIN_FILENO)) {
    return Status::BadRequest(
        "--password: standard input is not a terminal to ask on; give "
        "--password-file FILE instead");
  }
  auto ask = [](const char* prompt) -> std::optional<std::string> {
    struct termios saved {};
    bool restore = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (restore) {
      struct termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::fputs(prompt, stderr);
    std::fflush(stderr);
    std::string line;
    bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (!ok) return std::nullopt;
    return line;
  };
  std::optional<std::string> first = ask("Password: ");
  if (!first) return Status::BadRequest("--password: no password was typed");
  if (confirm) {
    std::optional<std::string> again = ask("Password again: ");
    if (!again || *again != *first) {
      return Status::BadRequest(
          "--password: the two passwords differ; nothing was changed");
    }
  }
  return *first;
}

// The first line of `path`, without its line ending.
Result<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line)) {
    if (in.is_open() && in.eof() && line.empty()) {
      return Status::BadRequest("--password-file: " + path + " is empty");
    }
    return Status::BadRequest("--password-file: cannot read " + path);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The password a command was given: from --password-file, else typed on the
// terminal for --password; nullopt when neither was given.
Result<std::optional<std::string>> PasswordOption(bool ask,
                                                  const std::string& file) {
  if (!file.empty()) {
    Result<std::string> read = ReadPasswordFile(file);
    if (!read.ok()) return read.status();
    return std::optional<std::string>(std::move(*read));
  }
  if (!ask) return std::optional<std::string>();
  Result<std::string> typed = AskPassword(/*confirm=*/true);
  if (!typed.ok()) return typed.status();
  return std::optional<std::string>(std::move(*typed));
}

// Usage errors (exit 2) for a password that could not be had.
int FailUsage(const Status& s) {
  std::fprintf(stderr, "shorty: %s\n", s.message().c_str());
  return kExitUsage;
}

Colour StateColour(const std::string& state) {
  if (state == "active") return Colour::kGreen;
  if (state == "disabled") return Colour::kRed;
  return Colour::kYellow;
}

std::string Str(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

std::string Tags(const json& link) {
  std::string out;
  if (link.contains("tags") && link["tags"].is_array()) {
    for (const auto& t : link["tags"]) {
      if (!out.empty()) out += ",";
      if (t.is_string()) out += t.get<std::string>();
    }
  }
  return out;
}

void PrintLink(const json& link, const Terminal& term) {
  std::string visits = Str(link, "visits");
  if (!Str(link, "max_visits").empty()) {
    visits += " of " + Str(link, "max_visits");
  }
  std::string expires = Str(link, "expires_at");
  std::vector<std::vector<Cell>> rows = {
      {{"slug"}, {Str(link, "slug")}},
      {{"short url"}, {Str(link, "short_url")}},
      {{"target"}, {Str(link, "target")}},
      {{"state"}, {Str(link, "state"), StateColour(Str(link, "state"))}},
      {{"status"}, {Str(link, "status")}},
      {{"title"}, {Str(link, "title")}},
      {{"note"}, {Str(link, "note")}},
      {{"tags"}, {Tags(link)}},
      {{"visits"}, {visits}},
      {{"expires"}, {expires.empty() ? "never" : expires}},
      {{"password"},
       {link.value("password_protected", false) ? "required" : "none"}},
      {{"created"},
       {Str(link, "created_at") + " by " + Str(link, "created_by")}},
      {{"updated"}, {Str(link, "updated_at")}},
  };
  // Key-value lines, no header: render as a two-column table and drop the
  // header line.
  std::string table = RenderTable({"", ""}, rows, term, 1);
  std::cout << table.substr(table.find('\n') + 1);
}

int Add(Client& client, const Globals& g, const AddOptions& o) {
  json body = {{"target", o.url}};
  if (!o.slug.empty()) body["slug"] = o.slug;
  if (!o.expires.empty()) body["expires_at"] = o.expires;
  if (o.max_visits) body["max_visits"] = *o.max_visits;
  if (!o.tags.empty()) body["tags"] = o.tags;
  if (!o.title.empty()) body["title"] = o.title;
  if (!o.note.empty()) body["note"] = o.note;
  if (o.status) body["status"] = *o.status;
  Result<std::optional<std::string>> password =
      PasswordOption(o.password, o.password_file);
  if (!password.ok()) return FailUsage(password.status());
  if (*password) body["password"] = **password;
  Result<json> link = CreateWithRetries(client, body.dump());
  if (!link.ok()) return Fail(link.status());
  if (g.json) {
    std::cout << link->dump() << "\n";
    return kExitOk;
  }
  std::cout << Str(*link, "short_url") << "\n";
  // A host that is stored differently from how it was typed (punycode for
  // an internationalised name) is worth seeing: it may be a look-alike.
  auto host_of = [](const std::string& url) {
    size_t start = url.find("://");
    if (start == std::string::npos) return std::string();
    start += 3;
    std::string host =
        url.substr(start, url.find_first_of("/?#:", start) - start);
    for (char& c : host)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return host;
  };
  std::string stored = Str(*link, "target");
  if (host_of(stored) != host_of(o.url)) {
    std::fprintf(stderr, "shorty: note: the host is stored as %s\n",
                 Printable(host_of(stored)).c_str());
  }
  return kExitOk;
}

int List(Client& client, const Globals& g, const ListOptions& o) {
  json all = json::array();
  std::string cursor;
  while (static_cast<int>(all.size()) < o.limit) {
    int want = std::min(1000, o.limit - static_cast<int>(all.size()));
    std::string path = "/-/api/v1/links?limit=" + std::to_string(want);
    if (!o.tag.empty()) path += "&tag=" + PercentEncode(o.tag);
    if (!o.search.empty()) path += "&q=" + PercentEncode(o.search);
    if (o.all) path += "&all=1";
    if (!cursor.empty()) path += "&cursor=" + PercentEncode(cursor);
    Result<json> page = Request(client, "GET", path);
    if (!page.ok()) return Fail(page.status());
    if (!page->contains("links") || !(*page)["links"].is_array()) {
      return Fail(Status::Internal("the server's reply has no links"));
    }
    for (auto& link : (*page)["links"]) all.push_back(link);
    cursor = Str(*page, "next_cursor");
    if (cursor.empty()) break;
  }
  if (g.json) {
    std::cout << all.dump() << "\n";
    return kExitOk;
  }
  Terminal term = DetectTerminal();
  std::vector<std::vector<Cell>> rows;
  for (const auto& link : all) {
    std::string state = Str(link, "state");
    std::string expires = Str(link, "expires_at");
    rows.push_back({{Str(link, "slug")},
                    {Str(link, "visits")},
                    {state, StateColour(state)},
                    {expires.empty() ? "-" : expires.substr(0, 10)},
                    {Tags(link)},
                    {Str(link, "target")}});
  }
  if (rows.empty()) {
    std::fprintf(stderr, "shorty: no links%s\n",
                 o.all ? "" : " (add --all to include inactive ones)");
    return kExitOk;
  }
  std::cout << RenderTable(
      {"SLUG", "VISITS", "STATE", "EXPIRES", "TAGS", "TARGET"}, rows, term);
  return kExitOk;
}

int Show(Client& client, const Globals& g, const std::string& slug) {
  Result<json> link =
      Request(client, "GET", "/-/api/v1/links/" + PercentEncode(slug));
  if (!link.ok()) return Fail(link.status());
  if (g.json) {
    std::cout << link->dump() << "\n";
  } else {
    PrintLink(*link, DetectTerminal());
  }
  return kExitOk;
}

int Patch(Client& client, const Globals& g, const std::string& slug,
          const json& body) {
  Result<json> link = Request(
      client, "PATCH", "/-/api/v1/links/" + PercentEncode(slug), body.dump());
  if (!link.ok()) return Fail(link.status());
  if (g.json) {
    std::cout << link->dump() << "\n";
  } else {
    PrintLink(*link, DetectTerminal());
  }
  return kExitOk;
}

int Edit(Client& client, const Globals& g, const EditOptions& o) {
  json body = json::object();
  if (o.url) body["target"] = *o.url;
  if (o.title) body["title"] = *o.title;
  if (o.note) body["note"] = *o.note;
  if (o.clear_tags) body["tags"] = json::array();
  if (!o.tags.empty()) body["tags"] = o.tags;
  if (o.status) body["status"] = *o.status;
  if (o.expires) {
    if (*o.expires == "never") {
      body["expires_at"] = nullptr;
    } else {
      body["expires_at"] = *o.expires;
    }
  }
  if (o.max_visits) {
    if (*o.max_visits == "none") {
      body["max_visits"] = nullptr;
    } else {
      char* end = nullptr;
      long long n = std::strtoll(o.max_visits->c_str(), &end, 10);
      if (o.max_visits->empty() || *end != '\0') {
        return Fail(
            Status::BadRequest("--max-visits: give a whole number, or 'none' "
                               "to remove the limit"));
      }
      body["max_visits"] = n;
    }
  }
  if (o.disable) body["disabled"] = true;
  if (o.enable) body["disabled"] = false;
  if (o.no_password) body["password"] = nullptr;
  Result<std::optional<std::string>> password =
      PasswordOption(o.password, o.password_file);
  if (!password.ok()) return FailUsage(password.status());
  if (*password) body["password"] = **password;
  if (body.empty()) {
    return Fail(Status::BadRequest(
        "edit: nothing to change; give at least one option (see "
        "'shorty edit --help')"));
  }
  return Patch(client, g, o.slug, body);
}

int Remove(Client& client, const Globals& g, const std::string& slug) {
  Result<json> r =
      Request(client, "DELETE", "/-/api/v1/links/" + PercentEncode(slug));
  if (!r.ok()) return Fail(r.status());
  if (g.json) std::cout << json{{"deleted", slug}}.dump() << "\n";
  return kExitOk;
}

int Expire(Client& client, const Globals& g, const ExpireOptions& o) {
  return Patch(client, g, o.slug,
               json{{"expires_at", o.at.empty() ? "now" : o.at}});
}

int StatusCommand(Client& client, const Globals& g) {
  Result<json> info = Request(client, "GET", "/-/api/v1/status");
  if (!info.ok()) return Fail(info.status());
  if (g.json) {
    std::cout << info->dump() << "\n";
    return kExitOk;
  }
  std::cout << "shortyd " << Str(*info, "version") << " at " << client.where()
            << ": " << (Str(*info, "ready") == "true" ? "ready" : "not ready")
            << "\n"
            << "links: " << Str(*info, "links") << "\n"
            << "database: " << Str(*info, "backend") << " (schema "
            << Str(*info, "schema_version") << ")\n"
            << "public URL: " << Str(*info, "public_url") << "\n";
  return kExitOk;
}

struct TokenCreateOptions {
  std::string name;
  std::string scope = "write";
  std::string expires;
};

int TokenCreate(Client& client, const Globals& g, const TokenCreateOptions& o) {
  json body = {{"name", o.name}, {"scope", o.scope}};
  if (!o.expires.empty()) body["expires_at"] = o.expires;
  Result<json> created =
      Request(client, "POST", "/-/api/v1/tokens", body.dump());
  if (!created.ok()) return Fail(created.status());
  if (g.json) {
    std::cout << created->dump() << "\n";
  } else {
    // The secret alone on stdout, so it can go straight into a file or a
    // password manager; the advice on stderr.
    std::cout << Str(*created, "secret") << "\n";
    std::fprintf(stderr,
                 "shorty: token '%s' (%s) created; this is the only time its "
                 "secret is shown\n",
                 Printable(o.name).c_str(), Printable(o.scope).c_str());
  }
  return kExitOk;
}

int TokenList(Client& client, const Globals& g) {
  Result<json> list = Request(client, "GET", "/-/api/v1/tokens");
  if (!list.ok()) return Fail(list.status());
  const json& tokens = (*list)["tokens"];
  if (g.json) {
    std::cout << tokens.dump() << "\n";
    return kExitOk;
  }
  std::vector<std::vector<Cell>> rows;
  for (const auto& t : tokens) {
    std::string state = "active";
    Colour colour = Colour::kGreen;
    if (!Str(t, "revoked_at").empty()) {
      state = "revoked";
      colour = Colour::kRed;
    }
    std::string last = Str(t, "last_used_at");
    std::string expires = Str(t, "expires_at");
    rows.push_back({{Str(t, "name")},
                    {Str(t, "scope")},
                    {state, colour},
                    {Str(t, "created_at")},
                    {last.empty() ? "never" : last},
                    {expires.empty() ? "-" : expires}});
  }
  if (rows.empty()) {
    std::fprintf(
        stderr,
        "shorty: no tokens; make one with 'shorty token create NAME'\n");
    return kExitOk;
  }
  std::cout << RenderTable(
      {"NAME", "SCOPE", "STATE", "CREATED", "LAST USED", "EXPIRES"}, rows,
      DetectTerminal(), 0);
  return kExitOk;
}

int TokenRevoke(Client& client, const Globals& g, const std::string& name) {
  Result<json> r =
      Request(client, "DELETE", "/-/api/v1/tokens/" + PercentEncode(name));
  if (!r.ok()) return Fail(r.status());
  if (g.json) std::cout << json{{"revoked", name}}.dump() << "\n";
  return kExitOk;
}

// One line per changed field: "title: 'a' -> 'b'".
std::string DescribeChanges(const json& changes) {
  std::string out;
  if (!changes.is_object()) return out;
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    if (!it.value().is_array() || it.value().size() != 2) continue;
    if (!out.empty()) out += "; ";
    const json& was = it.value()[0];
    const json& now = it.value()[1];
    auto show = [](const json& v) {
      return v.is_null()     ? std::string("none")
             : v.is_string() ? v.get<std::string>()
                             : v.dump();
    };
    if (was.is_null()) {
      out += it.key() + " " + show(now);
    } else if (now.is_null()) {
      out += it.key() + " was " + show(was);
    } else {
      out += it.key() + " " + show(was) + " -> " + show(now);
    }
  }
  return out;
}

int History(Client& client, const Globals& g, const std::string& slug) {
  Result<json> h =
      Request(client, "GET",
              "/-/api/v1/links/" + PercentEncode(slug) + "/history?limit=1000");
  if (!h.ok()) return Fail(h.status());
  const json& entries = (*h)["history"];
  if (g.json) {
    std::cout << entries.dump() << "\n";
    return kExitOk;
  }
  std::vector<std::vector<Cell>> rows;
  for (const auto& e : entries) {
    std::string action = Str(e, "action");
    Colour colour = action == "delete"   ? Colour::kRed
                    : action == "create" ? Colour::kGreen
                                         : Colour::kNone;
    rows.push_back({{Str(e, "at")},
                    {Str(e, "actor")},
                    {action, colour},
                    {DescribeChanges(e["changes"])}});
  }
  std::cout << RenderTable({"WHEN", "WHO", "ACTION", "CHANGES"}, rows,
                           DetectTerminal());
  return kExitOk;
}

struct StatsOptions {
  std::string slug;
  std::string since;
  std::string by = "day";
  bool bots = false;
};

// "2026-12-04T13:00:00Z" as a chart label: the day, or the day and hour.
std::string SeriesLabel(const std::string& start, bool by_hour) {
  if (start.size() < 16) return start;
  return by_hour ? start.substr(0, 10) + " " + start.substr(11, 5)
                 : start.substr(0, 10);
}

// A list of {"<key>": ..., "visits": n} from a stats reply.
std::vector<std::pair<std::string, int64_t>> StatsCounts(const json& j,
                                                         const char* list,
                                                         const char* key) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (!j.contains(list) || !j[list].is_array()) return out;
  for (const json& e : j[list]) {
    if (!e.is_object() || !e.contains("visits") ||
        !e["visits"].is_number_integer()) {
      continue;
    }
    out.emplace_back(Str(e, key), e["visits"].get<int64_t>());
  }
  return out;
}

int Stats(Client& client, const Globals& g, const StatsOptions& o) {
  std::string path = "/-/api/v1/links/" + PercentEncode(o.slug) +
                     "/stats?by=" + o.by;
  if (!o.since.empty()) path += "&since=" + PercentEncode(o.since);
  if (o.bots) path += "&bots=1";
  Result<json> stats = Request(client, "GET", path);
  if (!stats.ok()) return Fail(stats.status());
  if (g.json) {
    std::cout << stats->dump() << "\n";
    return kExitOk;
  }
  const Terminal term = DetectTerminal();
  const bool by_hour = Str(*stats, "by") == "hour";
  std::cout << "Visits to " << Printable(Str(*stats, "slug")) << " from "
            << SeriesLabel(Str(*stats, "since"), by_hour) << " to "
            << SeriesLabel(Str(*stats, "until"), by_hour) << " (UTC, by "
            << (by_hour ? "hour" : "day") << ")\n";
  const bool bots_in = stats->value("bots_included", false);
  std::cout << "total  " << Str(*stats, "total") << "\n";
  std::cout << "bots   " << Str(*stats, "bots")
            << (bots_in ? " (in the total)\n"
                        : " (not in the figures; --bots counts them in)\n");
  std::vector<std::pair<std::string, int64_t>> series =
      StatsCounts(*stats, "series", "start");
  for (auto& [label, n] : series) label = SeriesLabel(label, by_hour);
  std::cout << "\n" << RenderBars(series, term);
  const std::pair<const char*, const char*> tops[] = {{"referrers", "REFERRER"},
                                                      {"browsers", "BROWSER"},
                                                      {"oses", "OS"},
                                                      {"devices", "DEVICE"}};
  for (const auto& [list, title] : tops) {
    std::vector<std::vector<Cell>> rows;
    for (const auto& [value, n] : StatsCounts(*stats, list, "value")) {
      rows.push_back({{value}, {std::to_string(n)}});
    }
    if (rows.empty()) continue;
    std::cout << "\n" << RenderTable({title, "VISITS"}, rows, term, 0);
  }
  return kExitOk;
}

struct QrOptions {
  std::string slug;
  std::string png;
  std::string svg;
};

int Qr(Client& client, const Globals& g, const QrOptions& o) {
  Result<json> link =
      Request(client, "GET", "/-/api/v1/links/" + PercentEncode(o.slug));
  if (!link.ok()) return Fail(link.status());
  std::string url = Str(*link, "short_url");
  Result<QrCode> qr = EncodeQr(url);
  if (!qr.ok()) return Fail(qr.status());
  auto write = [](const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    out.close();
    return static_cast<bool>(out);
  };
  if (!o.png.empty() && !write(o.png, QrPng(*qr))) {
    return Fail(Status::IOError("--png: cannot write " + o.png));
  }
  if (!o.svg.empty() && !write(o.svg, QrSvg(*qr))) {
    return Fail(Status::IOError("--svg: cannot write " + o.svg));
  }
  if (g.json) {
    std::cout << json{{"short_url", url}, {"size", qr->size}}.dump() << "\n";
  } else if (o.png.empty() && o.svg.empty()) {
    std::cout << QrTerminal(*qr) << url << "\n";
  }
  return kExitOk;
}

}  // namespace

int ExitCodeFor(Code code) {
  switch (code) {
    case Code::kOk:
      return kExitOk;
    case Code::kUnavailable:
      return kExitUnreachable;
    case Code::kUnauthorized:
    case Code::kForbidden:
      return kExitUnauthorized;
    case Code::kBadRequest:
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kGone:
    case Code::kTooLarge:
    case Code::kIOError:
    case Code::kCorruption:
    case Code::kInternal:
      return kExitFailed;
  }
  return kExitFailed;
}

int RunShorty(int argc, char** argv) {
  CLI::App app{"shorty: make and manage short links on a shortyd server"};
  app.require_subcommand(1);
  Globals g;
  app.add_option("--socket", g.socket, "shortyd's control socket")
      ->type_name("PATH");
  app.add_option("--server", g.server,
                 "talk to shortyd over HTTP(S) at this URL");
  app.add_option("--token", g.token, "API token for --server");
  app.add_option("--config", g.config, "CLI config file")->type_name("FILE");
  app.add_flag("--json", g.json, "print JSON instead of text");
  app.fallthrough();

  AddOptions add;
  CLI::App* add_cmd =
      app.add_subcommand("add", "shorten a URL; prints the short URL");
  add_cmd->add_option("url", add.url, "the URL to shorten")->required();
  add_cmd->add_option("--slug", add.slug, "custom slug");
  add_cmd->add_option("--expires", add.expires,
                      "expiry: 90m, 7d, 2026-12-31 or RFC 3339");
  add_cmd->add_option("--max-visits", add.max_visits, "visit limit");
  add_cmd->add_option("--tag", add.tags, "tag (repeatable)");
  add_cmd->add_option("--title", add.title, "title");
  add_cmd->add_option("--note", add.note, "note");
  add_cmd->add_option("--status", add.status,
                      "redirect status: 301, 302, 307, 308");
  add_cmd->add_flag("--password", add.password,
                    "visitors must give a password: ask for it (no echo)");
  add_cmd->add_option("--password-file", add.password_file,
                      "visitors must give the password on this file's first "
                      "line");

  ListOptions ls;
  CLI::App* ls_cmd = app.add_subcommand("ls", "list links, newest first");
  ls_cmd->add_option("--tag", ls.tag, "only links with this tag");
  ls_cmd->add_option(
      "--search", ls.search,
      "only links whose slug, target, title or note contain this");
  ls_cmd->add_flag("--all", ls.all,
                   "include expired, used-up and disabled links");
  ls_cmd->add_option("--limit", ls.limit, "at most this many links")
      ->check(CLI::Range(1, 1000000));

  std::string show_slug;
  CLI::App* show_cmd = app.add_subcommand("show", "show one link");
  show_cmd->add_option("slug", show_slug, "the link's slug")->required();

  EditOptions edit;
  CLI::App* edit_cmd = app.add_subcommand("edit", "change a link");
  edit_cmd->add_option("slug", edit.slug, "the link's slug")->required();
  edit_cmd->add_option("--url", edit.url, "new target URL");
  edit_cmd->add_option("--title", edit.title, "new title");
  edit_cmd->add_option("--note", edit.note, "new note");
  edit_cmd->add_option("--tag", edit.tags, "replace the tags (repeatable)");
  edit_cmd->add_flag("--clear-tags", edit.clear_tags, "remove all tags");
  edit_cmd->add_option("--status", edit.status, "redirect status");
  edit_cmd->add_option("--expires", edit.expires, "new expiry, or 'never'");
  edit_cmd->add_option("--max-visits", edit.max_visits,
                       "new visit limit, or 'none'");
  auto* disable =
      edit_cmd->add_flag("--disable", edit.disable, "stop redirecting (410)");
  auto* enable = edit_cmd->add_flag("--enable", edit.enable, "redirect again");
  disable->excludes(enable);
  auto* edit_password = edit_cmd->add_flag(
      "--password", edit.password, "set a new password: ask for it (no echo)");
  auto* edit_password_file =
      edit_cmd->add_option("--password-file", edit.password_file,
                           "set a new password: the first line of this file");
  auto* no_password = edit_cmd->add_flag("--no-password", edit.no_password,
                                         "remove the link's password");
  no_password->excludes(edit_password);
  no_password->excludes(edit_password_file);

  std::string rm_slug;
  CLI::App* rm_cmd = app.add_subcommand("rm", "delete a link");
  rm_cmd->add_option("slug", rm_slug, "the link's slug")->required();

  ExpireOptions expire;
  CLI::App* expire_cmd =
      app.add_subcommand("expire", "expire a link now or at a time");
  expire_cmd->add_option("slug", expire.slug, "the link's slug")->required();
  expire_cmd->add_option("--at", expire.at, "when: 2026-12-31, RFC 3339 or 7d");

  CLI::App* status_cmd =
      app.add_subcommand("status", "show whether shortyd is up");

  QrOptions qr;
  CLI::App* qr_cmd = app.add_subcommand(
      "qr", "draw a link's QR code in the terminal, or write it to a file");
  qr_cmd->add_option("slug", qr.slug, "the link's slug")->required();
  qr_cmd->add_option("--png", qr.png, "write a PNG image here")
      ->type_name("FILE");
  qr_cmd->add_option("--svg", qr.svg, "write an SVG image here")
      ->type_name("FILE");

  std::string history_slug;
  CLI::App* history_cmd =
      app.add_subcommand("history", "every change to a link: who, when, what");
  history_cmd->add_option("slug", history_slug, "the link's slug")->required();

  StatsOptions stats;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats",
      "a link's visits over time, top referrers, browsers, systems and "
      "devices; bots apart");
  stats_cmd->add_option("slug", stats.slug, "the link's slug")->required();
  stats_cmd->add_option("--since", stats.since,
                        "from when: 7d (the default), 36h, 2026-12-01 or "
                        "RFC 3339");
  stats_cmd->add_option("--by", stats.by, "one bar a day (default) or an hour")
      ->check(CLI::IsMember({"day", "hour"}));
  stats_cmd->add_flag("--bots", stats.bots,
                      "count crawlers, link previewers and tools in");

  BackupOptions backup;
  CLI::App* backup_cmd = app.add_subcommand(
      "backup",
      "write a consistent copy of the database to FILE, checked before it "
      "is kept (admin)");
  backup_cmd->add_option("file", backup.file, "where; must not exist yet")
      ->required()
      ->type_name("FILE");

  ExportOptions export_options;
  CLI::App* export_cmd = app.add_subcommand(
      "export", "write every link as JSON lines, password hashes too (admin)");
  export_cmd->add_flag("--history", export_options.history,
                       "with each link's history of changes");
  export_cmd
      ->add_option("--output,-o", export_options.output,
                   "write to FILE instead of standard output")
      ->type_name("FILE");

  ImportOptions import_options;
  CLI::App* import_cmd = app.add_subcommand(
      "import",
      "import links from a shorty export or from golink, Shlink, YOURLS or "
      "Kutt (admin)");
  import_cmd
      ->add_option("file", import_options.file,
                   "the file to read; - for standard input")
      ->required()
      ->type_name("FILE");
  import_cmd
      ->add_option("--from", import_options.from,
                   "its format: shorty, golink, shlink, yourls or kutt "
                   "(recognised when not given)")
      ->check(CLI::IsMember({"shorty", "golink", "shlink", "yourls", "kutt"}));
  import_cmd->add_flag("--dry-run", import_options.dry_run,
                       "report what would be imported; store nothing");

  CLI::App* token_cmd = app.add_subcommand(
      "token", "manage API tokens (over the control socket only)");
  token_cmd->require_subcommand(1);
  TokenCreateOptions token_create;
  CLI::App* token_create_cmd = token_cmd->add_subcommand(
      "create", "make a token; prints its secret once");
  token_create_cmd
      ->add_option("name", token_create.name, "a name for the token")
      ->required();
  token_create_cmd
      ->add_option("--scope", token_create.scope,
                   "read, write (default) or admin")
      ->check(CLI::IsMember({"read", "write", "admin"}));
  token_create_cmd->add_option("--expires", token_create.expires,
                               "expiry: 90d, 2027-01-01 or RFC 3339");
  CLI::App* token_ls_cmd = token_cmd->add_subcommand("ls", "list tokens");
  std::string revoke_name;
  CLI::App* token_revoke_cmd =
      token_cmd->add_subcommand("revoke", "revoke a token at once");
  token_revoke_cmd->add_option("name", revoke_name, "the token's name")
      ->required();

  std::string completion_shell;
  CLI::App* completion_cmd = app.add_subcommand(
      "completion", "print a completion script for bash, zsh or fish");
  completion_cmd
      ->add_option("shell", completion_shell, "the shell: bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember(CompletionShells()));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "shorty: %s\nRun 'shorty --help' for usage.\n",
                 e.what());
    return kExitUsage;
  }

  // Needs no daemon: the script is made from this App's definition.
  if (completion_cmd->parsed()) {
    Result<std::string> script =
        CompletionScript(app, "shorty", completion_shell);
    if (!script.ok()) return FailUsage(script.status());
    std::cout << *script;
    return kExitOk;
  }

  Result<std::unique_ptr<Client>> client = Connect(g);
  if (!client.ok()) {
    std::fprintf(stderr, "shorty: %s\n", client.status().message().c_str());
    return kExitUsage;
  }
  Client& c = **client;
  if (add_cmd->parsed()) return Add(c, g, add);
  if (ls_cmd->parsed()) return List(c, g, ls);
  if (show_cmd->parsed()) return Show(c, g, show_slug);
  if (edit_cmd->parsed()) return Edit(c, g, edit);
  if (rm_cmd->parsed()) return Remove(c, g, rm_slug);
  if (expire_cmd->parsed()) return Expire(c, g, expire);
  if (status_cmd->parsed()) return StatusCommand(c, g);
  if (history_cmd->parsed()) return History(c, g, history_slug);
  if (qr_cmd->parsed()) return Qr(c, g, qr);
  if (stats_cmd->parsed()) return Stats(c, g, stats);
  if (backup_cmd->parsed()) return RunBackup(c, g.json, backup);
  if (export_cmd->parsed()) return RunExport(c, g.json, export_options);
  if (import_cmd->parsed()) return RunImport(c, g.json, import_options);
  if (token_create_cmd->parsed()) return TokenCreate(c, g, token_create);
  if (token_ls_cmd->parsed()) return TokenList(c, g);
  if (token_revoke_cmd->parsed()) return TokenRevoke(c, g, revoke_name);
  return kExitUsage;
}

}  // namespace shorty
