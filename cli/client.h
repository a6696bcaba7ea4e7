// How the shorty CLI reaches shortyd: over the control socket (the
// default), or over HTTP(S) with a bearer token.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace shorty {

struct Reply {
  int status = 0;
  std::string body;
  // Download only: the reply's X-Shorty-Links header, "" when absent.
  std::string links_header;
};

// Not thread-safe; one per command.
class Client {
 public:
  // Extra request headers, as name and value.
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Talks to shortyd over the Unix socket at `path`.
  static std::unique_ptr<Client> Local(const std::string& path);
  // Talks to shortyd at `server_url` (http:// or https://, optionally with
  // a path prefix). InvalidArgument for a URL it cannot use.
  static Result<std::unique_ptr<Client>> Remote(const std::string& server_url,
                                                const std::string& token);

  // Sends one request with `headers` besides the usual ones; `path` starts
  // with "/-/". Unavailable, with a hint on how to start shortyd, when the
  // daemon cannot be reached or the connection failed before a whole reply
  // came (so the request may or may not have been acted on); otherwise the
  // reply, whatever its status.
  Result<Reply> Call(const std::string& method, const std::string& path,
                     const std::string& json_body = "",
                     const Headers& headers = {});

  // Sends a GET whose reply may be large (an export, a backup): a 2xx
  // body goes to `on_data` piece by piece as it arrives, never held whole,
  // and reply.body stays empty; another status's body (an error, at most
  // 64 KiB) comes back in reply.body. `on_data` returning false stops the
  // transfer: IOError. Unavailable when the daemon cannot be reached, or
  // the connection broke before the whole reply came (`on_data` may have
  // had part of it); `read_timeout_seconds` bounds each wait for data.
  Result<Reply> Download(const std::string& path,
                         const std::function<bool(std::string_view)>& on_data,
                         int read_timeout_seconds);

  // Where requests go, for messages: "the control socket /run/..." or a URL.
  const std::string& where() const { return where_; }

 private:
  Client() = default;

  bool local_ = false;
  std::string socket_path_;
  std::string scheme_host_port_;
  std::string prefix_;
  std::string token_;
  std::string where_;
};

}  // namespace shorty
