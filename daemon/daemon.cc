#include "daemon/daemon.h"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

#include "daemon/api.h"
#include "daemon/web.h"
#include "shared/blocklist.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

std::string UrlHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "::") return "localhost";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

// The host[:port] of an http(s) URL that config validation accepted, lower
// case, default port dropped: targets there would loop back to shortyd.
std::string AuthorityOfUrl(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return "";
  std::string scheme = url.substr(0, start);
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end - start);
  for (char& c : authority) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const std::string default_port = scheme == "https" ? ":443" : ":80";
  if (authority.size() > default_port.size() &&
      authority.compare(authority.size() - default_port.size(),
                        default_port.size(), default_port) == 0) {
    authority.resize(authority.size() - default_port.size());
  }
  return authority;
}

}  // namespace

Result<std::shared_ptr<const std::unordered_set<std::string>>> LoadBlocklist(
    const DaemonConfig& config) {
  using Set = std::unordered_set<std::string>;
  if (config.blocklist_file.empty()) return std::shared_ptr<const Set>();
  std::ifstream in(config.blocklist_file);
  if (!in) {
    return Status::IOError("links.blocklist_file: cannot read " +
                           config.blocklist_file + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<Set> parsed = ParseBlocklist(text.str(), config.blocklist_file);
  if (!parsed.ok()) return parsed.status();
  return std::make_shared<const Set>(std::move(*parsed));
}

ServiceOptions ServiceOptionsFor(
    const DaemonConfig& config, int http_port,
    std::shared_ptr<const std::unordered_set<std::string>> blocked) {
  ServiceOptions o;
  o.rules.schemes = config.schemes;
  o.rules.blocked_domains = std::move(blocked);
  o.default_status = config.default_status;
  o.slug_length = static_cast<size_t>(config.slug_length);
  o.case_sensitive = config.case_sensitive;
  if (!config.public_url.empty()) {
    o.public_url = config.public_url;
  } else {
    Result<HostPort> listen = ParseHostPort(config.listen);
    std::string host = listen.ok() ? listen->host : "localhost";
    o.public_url = "http://" + UrlHost(host) + ":" + std::to_string(http_port);
  }
  while (!o.public_url.empty() && o.public_url.back() == '/') {
    o.public_url.pop_back();
  }
  o.rules.own_hosts = {AuthorityOfUrl(o.public_url)};
  return o;
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonConfig& config) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_ = config;

  SqliteOptions store_options;
  store_options.path = config.path;
  store_options.full_sync = config.synchronous == "full";
  store_options.case_sensitive = config.case_sensitive;
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(store_options);
  if (!store.ok()) return store.status();
  d->store_ = std::move(*store);

  d->visits_ = std::make_unique<VisitCounter>(
      d->store_.get(), std::chrono::milliseconds(config.flush_interval_ms));

  ListenerOptions http_options;
  http_options.threads = static_cast<size_t>(config.threads);
  d->http_ = std::make_unique<Listener>(http_options);
  Result<HostPort> listen = ParseHostPort(config.listen);
  if (!listen.ok()) return listen.status();
  Result<int> port = d->http_->BindTcp(*listen);
  if (!port.ok()) return port.status();
  d->http_port_ = *port;

  ListenerOptions control_options;
  control_options.threads = 4;
  d->control_ = std::make_unique<Listener>(control_options);
  Status s = d->control_->BindUnix(config.socket);
  if (!s.ok()) return s;
  d->socket_path_ = config.socket;

  auto blocked = LoadBlocklist(config);
  if (!blocked.ok()) return blocked.status();

  auto clock = [] { return static_cast<UnixTime>(std::time(nullptr)); };
  d->service_ = std::make_unique<LinkService>(
      d->store_.get(), d->visits_.get(), &d->random_, clock,
      ServiceOptionsFor(config, d->http_port_, *blocked));

  d->tokens_ =
      std::make_unique<TokenService>(d->store_.get(), &d->random_, clock);

  Daemon* self = d.get();
  auto ready = [self] { return !self->draining_.load(); };
  WebOptions web;
  web.trusted_header = config.trusted_header;
  web.trusted_proxies = config.trusted_proxies;
  Result<Scope> scope = ParseScope(config.trusted_scope);
  web.trusted_scope = scope.ok() ? *scope : Scope::kRead;
  auto per_minute = [](int n) {
    return std::make_unique<RateLimiter>(
        RateLimit{static_cast<double>(n), static_cast<double>(n)});
  };
  d->create_limit_ = per_minute(config.create_per_minute);
  d->signin_limit_ = per_minute(config.signin_per_minute);
  d->password_limit_ = per_minute(config.password_per_minute);
  d->not_found_limit_ = per_minute(config.not_found_per_minute);
  web.signin_limit = d->signin_limit_.get();
  web.create_limit = d->create_limit_.get();
  InstallWebPages(d->http_.get(), d->service_.get(), d->tokens_.get(), web);

  RouteOptions http_routes;
  http_routes.ready = ready;
  RateLimiter* passwords = d->password_limit_.get();
  http_routes.allow_password_attempt = [passwords](const std::string& key) {
    return passwords->Take(key, MonotonicMs()) == 0;
  };
  http_routes.not_found_limit = d->not_found_limit_.get();
  http_routes.create_limit = d->create_limit_.get();
  http_routes.trusted_proxies = config.trusted_proxies;
  InstallRoutes(d->http_.get(), d->service_.get(), d->tokens_.get(),
                http_routes);
  RouteOptions control_routes;
  control_routes.control = true;
  control_routes.ready = ready;
  InstallRoutes(d->control_.get(), d->service_.get(), d->tokens_.get(),
                control_routes);

  d->visits_->Start();
  d->http_thread_ = std::thread([self] { self->http_->Serve(); });
  d->control_thread_ = std::thread([self] { self->control_->Serve(); });
  return d;
}

Daemon::~Daemon() { Shutdown(); }

Status Daemon::Reload(const DaemonConfig& config) {
  auto blocked = LoadBlocklist(config);
  if (!blocked.ok()) return blocked.status();
  if (config.listen != config_.listen || config.socket != config_.socket ||
      config.path != config_.path || config.threads != config_.threads ||
      config.synchronous != config_.synchronous ||
      config.case_sensitive != config_.case_sensitive ||
      config.flush_interval_ms != config_.flush_interval_ms) {
    std::fprintf(stderr,
                 "shortyd: reload: server.listen, server.socket, "
                 "server.threads, storage.* , links.case_sensitive and "
                 "visits.flush_interval take effect at the next restart\n");
  }
  service_->SetOptions(ServiceOptionsFor(config, http_port_, *blocked));
  DaemonConfig kept = config_;
  config_ = config;
  // What needs a restart keeps its running value.
  config_.listen = kept.listen;
  config_.socket = kept.socket;
  config_.path = kept.path;
  config_.threads = kept.threads;
  config_.synchronous = kept.synchronous;
  config_.case_sensitive = kept.case_sensitive;
  config_.flush_interval_ms = kept.flush_interval_ms;
  return Status::Ok();
}

void Daemon::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  draining_ = true;
  if (http_) http_->Stop();
  if (control_) control_->Stop();
  if (http_thread_.joinable()) http_thread_.join();
  if (control_thread_.joinable()) control_thread_.join();
  if (visits_) visits_->Stop();
  if (store_) {
    Status s = store_->Checkpoint();
    if (!s.ok()) {
      std::fprintf(stderr, "shortyd: checkpoint at exit: %s\n",
                   s.message().c_str());
    }
  }
}

}  // namespace shorty
