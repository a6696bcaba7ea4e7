#include "daemon/daemon.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstddef>
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

// "127.0.0.1:8080", "[::1]:8080" or "/run/shorty/shortyd.sock" ("@name" for
// an abstract socket): where a listening socket is bound.
std::string SocketAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "?";
  }
  if (ss.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
    const size_t n = len > offsetof(sockaddr_un, sun_path)
                         ? len - offsetof(sockaddr_un, sun_path)
                         : 0;
    std::string path(un->sun_path, n);
    if (!path.empty() && path[0] == '\0') return "@" + path.substr(1);
    return path.substr(0, path.find('\0'));
  }
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host,
                    sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  if (ss.ss_family == AF_INET6) return "[" + std::string(host) + "]:" + port;
  return std::string(host) + ":" + port;
}

// The config with server.listen where HTTP really listens: a socket systemd
// passed has the final say on the default public URL.
DaemonConfig ListeningOn(const DaemonConfig& config, const Daemon& daemon) {
  DaemonConfig out = config;
  if (daemon.http_passed()) out.listen = daemon.http_address();
  return out;
}

// What the access log says about a request just answered.
AccessLogEntry AccessEntryFor(const httplib::Request& req,
                              const httplib::Response& res,
                              std::chrono::microseconds took,
                              const std::vector<std::string>& proxies) {
  AccessLogEntry e;
  const Peer& peer = CurrentPeer();
  e.client = ClientAddress(req, proxies);
  if (peer.local) e.user = peer.user;
  e.time = std::time(nullptr) -
           std::chrono::duration_cast<std::chrono::seconds>(took).count();
  e.method = req.method;
  e.target = req.target;
  e.version = req.version;
  e.status = res.status;
  if (req.method != "HEAD") {
    e.bytes = res.body.empty() ? res.content_length_ : res.body.size();
  }
  e.referer = req.get_header_value("Referer");
  e.user_agent = req.get_header_value("User-Agent");
  e.duration = took;
  return e;
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

Result<OpenedStore> OpenLinkStore(const DaemonConfig& config) {
  OpenedStore opened;
  if (config.backend == "postgres") {
    PgOptions options;
    options.conninfo = config.postgres;
    options.read_conninfo = config.postgres_read;
    options.case_sensitive = config.case_sensitive;
    options.connections = config.postgres_connections;
    Result<std::unique_ptr<PgStore>> store = PgStore::Open(options);
    if (!store.ok()) return store.status();
    opened.postgres = store->get();
    opened.store = std::move(*store);
    return opened;
  }
  SqliteOptions options;
  options.path = config.path;
  options.full_sync = config.synchronous == "full";
  options.case_sensitive = config.case_sensitive;
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(options);
  if (!store.ok()) return store.status();
  opened.store = std::move(*store);
  return opened;
}

std::string DescribeStore(const DaemonConfig& config) {
  if (config.backend != "postgres") return "database " + config.path;
  std::string out = "PostgreSQL " + ConninfoForLog(config.postgres);
  if (!config.postgres_read.empty()) {
    out += " (reads from " + ConninfoForLog(config.postgres_read) + ")";
  }
  return out;
}

CacheInvalidator::CacheInvalidator(Metrics* metrics)
    : invalidations_(metrics->AddCounter(
          "shorty_redirect_cache_remote_invalidations_total",
          "Links forgotten by the redirect cache because a change notice "
          "from PostgreSQL named them (writes by any node, this one too).")),
      resyncs_(metrics->AddCounter(
          "shorty_redirect_cache_resyncs_total",
          "Times the redirect cache was emptied because the listener for "
          "PostgreSQL's change notices (re)connected and may have missed "
          "some.")) {}

void CacheInvalidator::Attach(RedirectCache* cache) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_ = cache;
}

void CacheInvalidator::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_ = nullptr;
}

void CacheInvalidator::Changed(const std::string& slug_key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_ == nullptr) return;
  cache_->Invalidate(slug_key);
  invalidations_->Inc();
}

void CacheInvalidator::Resync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_ == nullptr) return;
  cache_->Clear();
  resyncs_->Inc();
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonConfig& config,
                                              const PassedSockets& passed) {
  Result<OpenedStore> opened = OpenLinkStore(config);
  if (!opened.ok()) return opened.status();
  return Start(config, passed, std::move(*opened));
}

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonConfig& config,
                                              const PassedSockets& passed,
                                              OpenedStore store) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->config_ = config;
  d->metrics_ = std::make_unique<DaemonMetrics>();
  d->metrics_public_ = config.metrics_public;
  Metrics* registry = &d->metrics_->registry;

  d->postgres_ = store.postgres;
  d->store_ = std::make_unique<TimedStore>(std::move(store.store), registry);
  // A scrape costs at most one count of the links every few seconds, and
  // /-/ready at most one probe of the database a second.
  RegisterLinkCount(registry, d->store_.get(), std::chrono::seconds(5));
  d->store_probe_ = std::make_unique<StoreProbe>(d->store_.get(), 1000);

  d->visits_ = std::make_unique<VisitCounter>(
      d->store_.get(), std::chrono::milliseconds(config.flush_interval_ms),
      std::chrono::seconds(config.visit_retention_s));
  d->visits_->set_metrics(&d->metrics_->visits);
  VisitCounter* visits = d->visits_.get();
  registry->AddGaugeFunc(
      "shorty_visits_pending",
      "Visits counted in memory and not yet written to the database.",
      [visits] { return static_cast<double>(visits->PendingTotal()); });

  ListenerOptions http_options;
  http_options.threads = static_cast<size_t>(config.threads);
  http_options.metrics = &d->metrics_->http;
  d->http_ = std::make_unique<Listener>(http_options);
  if (passed.http >= 0) {
    Result<int> port = d->http_->AdoptSocket(passed.http, false);
    if (!port.ok()) return port.status();
    d->http_port_ = *port;
    d->http_passed_ = true;
    d->http_address_ = SocketAddress(passed.http);
  } else {
    Result<HostPort> listen = ParseHostPort(config.listen);
    if (!listen.ok()) return listen.status();
    Result<int> port = d->http_->BindTcp(*listen);
    if (!port.ok()) return port.status();
    d->http_port_ = *port;
    const bool v6 = listen->host.find(':') != std::string::npos;
    d->http_address_ = (v6 ? "[" + listen->host + "]" : listen->host) + ":" +
                       std::to_string(*port);
  }

  ListenerOptions control_options;
  control_options.threads = 4;
  control_options.metrics = &d->metrics_->control;
  d->control_ = std::make_unique<Listener>(control_options);
  if (passed.control >= 0) {
    Result<int> adopted = d->control_->AdoptSocket(passed.control, true);
    if (!adopted.ok()) return adopted.status();
    d->control_passed_ = true;
    d->socket_path_ = SocketAddress(passed.control);
  } else {
    Status s = d->control_->BindUnix(config.socket);
    if (!s.ok()) return s;
    d->socket_path_ = config.socket;
  }

  d->access_log_ = std::make_unique<AccessLog>();
  Status opened = d->access_log_->Open(config.access_log);
  if (!opened.ok()) return opened;
  AccessLog* access_log = d->access_log_.get();
  std::vector<std::string> proxies = config.trusted_proxies;
  auto log_request = [access_log, proxies](const httplib::Request& req,
                                           const httplib::Response& res,
                                           std::chrono::microseconds took) {
    if (!access_log->enabled()) return;
    access_log->Write(AccessEntryFor(req, res, took, proxies));
  };
  d->http_->AddRequestObserver(log_request);
  d->control_->AddRequestObserver(log_request);

  auto blocked = LoadBlocklist(config);
  if (!blocked.ok()) return blocked.status();

  auto clock = [] { return static_cast<UnixTime>(std::time(nullptr)); };
  d->service_ = std::make_unique<LinkService>(
      d->store_.get(), d->visits_.get(), &d->random_, clock,
      ServiceOptionsFor(ListeningOn(config, *d), d->http_port_, *blocked),
      static_cast<size_t>(config.cache_entries));

  LinkService* service = d->service_.get();
  RegisterCacheMetrics(
      registry, [service] { return service->redirect_cache()->Figures(); });

  if (d->postgres_ != nullptr) {
    // Other nodes write to the same database: each change notice forgets
    // one link here, and a listener that lost its connection may have
    // missed some, so after each (re)connection everything is forgotten.
    // Nothing else empties the cache: while PostgreSQL is away, cached
    // links keep redirecting.
    d->invalidator_ = std::make_shared<CacheInvalidator>(registry);
    d->invalidator_->Attach(d->service_->redirect_cache());
    std::shared_ptr<CacheInvalidator> invalidator = d->invalidator_;
    d->postgres_->WatchChanges(
        [invalidator](const std::string& key) { invalidator->Changed(key); },
        [invalidator] { invalidator->Resync(); });
  }

  d->tokens_ =
      std::make_unique<TokenService>(d->store_.get(), &d->random_, clock);
  d->imports_ = std::make_unique<ImportService>(
      d->store_.get(), d->service_.get(), d->visits_.get());

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

  StoreProbe* probe = d->store_probe_.get();
  auto database_ready = [probe] { return probe->Check(MonotonicMs()); };
  RouteOptions http_routes;
  http_routes.ready = ready;
  http_routes.database_ready = database_ready;
  http_routes.redirects = &d->metrics_->redirects;
  http_routes.metrics = registry;
  http_routes.metrics_public = [self] { return self->metrics_public_.load(); };
  RateLimiter* passwords = d->password_limit_.get();
  http_routes.allow_password_attempt = [passwords](const std::string& key) {
    return passwords->Take(key, MonotonicMs()) == 0;
  };
  http_routes.not_found_limit = d->not_found_limit_.get();
  http_routes.create_limit = d->create_limit_.get();
  http_routes.trusted_proxies = config.trusted_proxies;
  http_routes.imports = d->imports_.get();
  InstallRoutes(d->http_.get(), d->service_.get(), d->tokens_.get(),
                http_routes);
  RouteOptions control_routes;
  control_routes.control = true;
  control_routes.imports = d->imports_.get();
  control_routes.ready = ready;
  control_routes.database_ready = database_ready;
  control_routes.redirects = &d->metrics_->redirects;
  control_routes.metrics = registry;
  InstallRoutes(d->control_.get(), d->service_.get(), d->tokens_.get(),
                control_routes);

  d->visits_->Start();
  d->http_thread_ = std::thread([self] { self->http_->Serve(); });
  d->control_thread_ = std::thread([self] { self->control_->Serve(); });
  return d;
}

Daemon::~Daemon() { Shutdown(); }

Result<int64_t> Daemon::CheckHealth() {
  if (http_->failed()) {
    return Status::Unavailable("the HTTP listener stopped accepting");
  }
  if (control_->failed()) {
    return Status::Unavailable("the control socket stopped accepting");
  }
  Result<StoreInfo> info = store_->Info();
  if (!info.ok()) {
    return Status::Unavailable("the database does not answer: " +
                               info.status().message());
  }
  return info->links;
}

Status Daemon::CheckAlive() {
  if (postgres_ == nullptr) return CheckHealth().status();
  if (http_->failed()) {
    return Status::Unavailable("the HTTP listener stopped accepting");
  }
  if (control_->failed()) {
    return Status::Unavailable("the control socket stopped accepting");
  }
  return Status::Ok();
}

Status Daemon::Reload(const DaemonConfig& config) {
  auto blocked = LoadBlocklist(config);
  if (!blocked.ok()) return blocked.status();
  if (config.listen != config_.listen || config.socket != config_.socket ||
      config.path != config_.path || config.threads != config_.threads ||
      config.synchronous != config_.synchronous ||
      config.backend != config_.backend ||
      config.postgres != config_.postgres ||
      config.postgres_read != config_.postgres_read ||
      config.postgres_connections != config_.postgres_connections ||
      config.case_sensitive != config_.case_sensitive ||
      config.flush_interval_ms != config_.flush_interval_ms ||
      config.visit_retention_s != config_.visit_retention_s ||
      config.cache_entries != config_.cache_entries) {
    Log(Priority::kWarning,
        "reload: server.listen, server.socket, "
        "server.threads, storage.* , links.case_sensitive, "
        "visits.* and cache.entries take effect at "
        "the next restart");
  }
  Status opened = access_log_->Open(config.access_log);
  if (!opened.ok()) return opened;
  service_->SetOptions(
      ServiceOptionsFor(ListeningOn(config, *this), http_port_, *blocked));
  metrics_public_ = config.metrics_public;
  DaemonConfig kept = config_;
  config_ = config;
  // What needs a restart keeps its running value.
  config_.listen = kept.listen;
  config_.socket = kept.socket;
  config_.path = kept.path;
  config_.threads = kept.threads;
  config_.synchronous = kept.synchronous;
  config_.backend = kept.backend;
  config_.postgres = kept.postgres;
  config_.postgres_read = kept.postgres_read;
  config_.postgres_connections = kept.postgres_connections;
  config_.case_sensitive = kept.case_sensitive;
  config_.flush_interval_ms = kept.flush_interval_ms;
  config_.visit_retention_s = kept.visit_retention_s;
  config_.cache_entries = kept.cache_entries;
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
  // The change watcher runs until the store is closed, after service_ and
  // its cache are gone.
  if (invalidator_) invalidator_->Detach();
  if (visits_) visits_->Stop();
  if (store_) {
    Status s = store_->Checkpoint();
    if (!s.ok()) {
      Log(Priority::kError, "checkpoint at exit: " + s.message());
    }
  }
}

}  // namespace shorty
