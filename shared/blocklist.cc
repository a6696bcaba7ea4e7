#include "shared/blocklist.h"

#include "shared/target.h"

namespace shorty {

Result<std::unordered_set<std::string>> ParseBlocklist(
    std::string_view text, std::string_view source) {
  std::unordered_set<std::string> domains;
  TargetRules rules;  // defaults: only the host is of interest
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view()
                                         : text.substr(end + 1);
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    while (!line.empty() &&
           (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.empty()) continue;
    // The target rules are the one place that knows host names: a line is
    // good when "http://LINE/" is a valid target with no more than a host.
    bool plain = line.find_first_of("/:@?#[] ") == std::string_view::npos;
    Result<std::string> url =
        plain ? NormalizeTarget("http://" + std::string(line) + "/", rules)
              : Result<std::string>(Status::InvalidArgument(""));
    if (!url.ok()) {
      return Status::InvalidArgument(
          std::string(source) + ":" + std::to_string(line_no) +
          ": not a host or domain name; write one per line, such as "
          "evil.example");
    }
    std::string host = TargetHost(*url);
    if (host.size() > 1 && host.back() == '.') host.pop_back();
    domains.insert(host);
  }
  return domains;
}

}  // namespace shorty
