// How the shorty CLI reaches shortyd: over the control socket (the
// default), or over HTTP(S) with a bearer token.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shared/status.h"

namespace shorty {

struct Reply {
  int status = 0;
  std::string body;
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
