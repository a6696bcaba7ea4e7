#include "cli/client.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>

namespace shorty {
namespace {

constexpr time_t kConnectTimeoutSeconds = 5;
// A request to the daemon is a lookup or one small write; a daemon that
// does not answer in this time is stuck, and saying so beats waiting.
constexpr time_t kReadTimeoutSeconds = 15;

// Why shortyd could not be reached, and what to do about it.
Status Unreachable(httplib::Error error, bool local,
                   const std::string& socket_path, const std::string& where) {
  std::string why = httplib::to_string(error);
  if (error == httplib::Error::Connection) why = "connection refused";
  if (local) {
    struct stat st {};
    if (::stat(socket_path.c_str(), &st) != 0) why = "no socket there";
    return Status::Unavailable(
        "cannot reach shortyd at " + where + " (" + why +
        "); start it with 'shortyd' (or 'systemctl start shortyd'), or "
        "point shorty elsewhere with --socket PATH or --server URL");
  }
  return Status::Unavailable("cannot reach shortyd at " + where + " (" + why +
                             "); check the URL and that the server is up");
}

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
    return Unreachable(res.error(), local_, socket_path_, where_);
  }
  return Reply{res->status, res->body, ""};
}

Result<Reply> Client::Download(
    const std::string& path,
    const std::function<bool(std::string_view)>& on_data,
    int read_timeout_seconds) {
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
  http->set_read_timeout(read_timeout_seconds, 0);
  http->set_write_timeout(kReadTimeoutSeconds, 0);

  constexpr size_t kMaxErrorBody = 64 * 1024;
  Reply reply;
  bool stopped = false;
  const std::string full = prefix_ + path;
  httplib::Result res = http->Get(
      full.c_str(), httplib::Headers(),
      [&reply](const httplib::Response& response) {
        reply.status = response.status;
        reply.links_header = response.get_header_value("X-Shorty-Links");
        return true;
      },
      [&](const char* data, size_t length) {
        if (reply.status < 200 || reply.status >= 300) {
          reply.body.append(
              data,
              std::min(length, kMaxErrorBody -
                                   std::min(kMaxErrorBody, reply.body.size())));
          return true;
        }
        if (!on_data(std::string_view(data, length))) {
          stopped = true;
          return false;
        }
        return true;
      });
  if (stopped) return Status::IOError("the transfer was stopped");
  if (!res) {
    if (reply.status != 0) {
      return Status::Unavailable("the connection to shortyd at " + where_ +
                                 " broke before the whole answer came (" +
                                 httplib::to_string(res.error()) +
                                 "); check shortyd's log and try "
                                 "again");
    }
    return Unreachable(res.error(), local_, socket_path_, where_);
  }
  return reply;
}

}  // namespace shorty
