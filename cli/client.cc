#include "cli/client.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace shorty {
namespace {

constexpr time_t kConnectTimeoutSeconds = 5;
// A request to the daemon is a lookup or one small write; a daemon that
// does not answer in this time is stuck, and saying so beats waiting.
constexpr time_t kReadTimeoutSeconds = 15;

}  // namespace

std::unique_ptr<Client> Client::Local(const std::string& path) {
  std::unique_ptr<Client> c(new Client());
  c->local_ = true;
  c->socket_path_ = path;
  c->where_ = "the control socket " + path;
  return c;
}

Result<std::unique_ptr<Client>> Client::Remote(const std::string& server_url,
                                               const std::string& token) {
  std::string url = server_url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.compare(0, scheme_end, "http") != 0 &&
       url.compare(0, scheme_end, "https") != 0)) {
    return Status::InvalidArgument(
        "--server: '" + server_url +
        "' is not an http:// or https:// URL such as https://go.example.com");
  }
  size_t path_start = url.find('/', scheme_end + 3);
  std::unique_ptr<Client> c(new Client());
  c->scheme_host_port_ = url.substr(0, path_start);
  if (path_start != std::string::npos) c->prefix_ = url.substr(path_start);
  while (!c->prefix_.empty() && c->prefix_.back() == '/') c->prefix_.pop_back();
  if (c->scheme_host_port_.size() <= scheme_end + 3) {
    return Status::InvalidArgument("--server: '" + server_url +
                                   "' has no host");
  }
  c->token_ = token;
  c->where_ = server_url;
  return c;
}

Result<Reply> Client::Call(const std::string& method, const std::string& path,
                           const std::string& json_body,
                           const Headers& headers) {
  std::unique_ptr<httplib::Client> http;
  if (local_) {
    http = std::make_unique<httplib::Client>(socket_path_, 80);
    http->set_address_family(AF_UNIX);
  } else {
    http = std::make_unique<httplib::Client>(scheme_host_port_);
    if (!token_.empty()) http->set_bearer_token_auth(token_.c_str());
  }
  if (!http->is_valid()) {
    return Status::InvalidArgument("cannot use server address " + where_);
  }
  http->set_connection_timeout(kConnectTimeoutSeconds, 0);
  http->set_read_timeout(kReadTimeoutSeconds, 0);
  http->set_write_timeout(kReadTimeoutSeconds, 0);

  const std::string full = prefix_ + path;
  const char* type = "application/json";
  httplib::Headers extra;
  for (const auto& [name, value] : headers) extra.emplace(name, value);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    res = http->Get(full.c_str(), extra);
  } else if (method == "POST") {
    res = http->Post(full.c_str(), extra, json_body, type);
  } else if (method == "PATCH") {
    res = http->Patch(full.c_str(), extra, json_body, type);
  } else if (method == "DELETE") {
    res = http->Delete(full.c_str(), extra);
  } else {
    return Status::Internal("unsupported method " + method);
  }
  if (!res) {
    if (res.error() == httplib::Error::Read) {
      return Status::Unavailable(
          "shortyd at " + where_ +
          " took the request but did not answer within " +
          std::to_string(kReadTimeoutSeconds) +
          " s; it may be stuck or overloaded: check its log");
    }
    std::string why = httplib::to_string(res.error());
    if (res.error() == httplib::Error::Connection) why = "connection refused";
    if (local_) {
      struct stat st {};
      if (::stat(socket_path_.c_str(), &st) != 0) why = "no socket there";
      return Status::Unavailable(
          "cannot reach shortyd at " + where_ + " (" + why +
          "); start it with 'shortyd' (or 'systemctl start shortyd'), or "
          "point shorty elsewhere with --socket PATH or --server URL");
    }
    return Status::Unavailable("cannot reach shortyd at " + where_ + " (" +
                               why +
                               "); check the URL and that the server is up");
  }
  return Reply{res->status, res->body};
}

}  // namespace shorty
