// Fuzzes target URLs: NormalizeTarget on the input as a raw target, and
// BuildLocation with the input as a visitor's request tail ("extra/path?query")
// on fixed stored targets and on the target the input normalised to. Any
// broken invariant traps, so libFuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "shared/redirect.h"
#include "shared/target.h"

namespace {

using shorty::BuildLocation;
using shorty::Code;
using shorty::NormalizeTarget;
using shorty::Result;
using shorty::TargetHost;
using shorty::TargetRules;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

const TargetRules& Rules() {
  static const TargetRules* rules = [] {
    auto* r = new TargetRules;
    r->own_hosts = {"go.example.com", "localhost:8080", "[::1]:8080"};
    r->blocked_domains = std::make_shared<std::unordered_set<std::string>>(
        std::unordered_set<std::string>{"blocked.example",
                                        "xn--mnchen-3ya.example"});
    return r;
  }();
  return *rules;
}

// Messages quote user input through an escaper, so they never carry a line
// break or a raw non-ASCII byte into a log line or terminal.
void CheckMessage(const shorty::Status& status) {
  Check(status.code() == Code::kInvalidArgument);
  const std::string& m = status.message();
  Check(StartsWith(m, "target: ") || StartsWith(m, "path: "));
  for (unsigned char c : m) Check(c >= 0x20 && c < 0x7f);
}

// What every URL shorty stores or sends in a Location header must satisfy.
void CheckAccepted(const std::string& url) {
  Check(url.size() <= 4096);
  Check(StartsWith(url, "http://") || StartsWith(url, "https://"));
  for (unsigned char c : url) {
    // Covers CR and LF: header injection.
    Check(c > 0x20 && c != 0x7f);
  }
  Result<std::string> again = NormalizeTarget(url, Rules());
  Check(again.ok() && *again == url);
  std::string host = TargetHost(url);
  if (host.size() > 1 && host.back() == '.') host.pop_back();
  Check(!host.empty() && host != "go.example.com");
  // Neither a blocked domain nor any name under it.
  for (std::string_view name = host;;) {
    Check(Rules().blocked_domains->count(std::string(name)) == 0);
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
}

// A dot segment in the path, raw or as %2E, split by '/' or %2F; the path
// of a fixed target has none, so any would be the visitor's.
bool HasDotSegment(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view path = rest.substr(slash);
  path = path.substr(0, path.find_first_of("?#"));
  std::string segment;
  for (size_t i = 0; i <= path.size(); ++i) {
    bool end = i == path.size() || path[i] == '/';
    if (!end && path[i] == '%' && i + 2 < path.size() && path[i + 1] == '2' &&
        (path[i + 2] == 'f' || path[i + 2] == 'F')) {
      end = true;
      i += 2;
    }
    if (end) {
      if (segment == "." || segment == "..") return true;
      segment.clear();
    } else if (path[i] == '%' && i + 2 < path.size() && path[i + 1] == '2' &&
               (path[i + 2] == 'e' || path[i + 2] == 'E')) {
      segment += '.';
      i += 2;
    } else {
      segment += path[i];
    }
  }
  return false;
}

struct FixedTarget {
  const char* url;   // as NormalizeTarget stores it
  const char* host;  // what every Location built on it must keep
  bool has_fragment;
};

constexpr FixedTarget kFixedTargets[] = {
    {"https://example.com/docs", "example.com", false},
    {"https://example.com/search?q={path}#results", "example.com", true},
    {"http://example.com:8080/", "example.com", false},
    {"https://[2001:db8::1]/a/{path}/b", "[2001:db8::1]", false},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  Result<std::string> target = NormalizeTarget(input, Rules());
  if (target.ok()) {
    CheckAccepted(*target);
  } else {
    CheckMessage(target.status());
  }

  // A visitor's request: what followed /SLUG/, then the query.
  const size_t question = input.find('?');
  const std::string_view extra = input.substr(0, question);
  const std::string_view query = question == std::string_view::npos
                                     ? std::string_view()
                                     : input.substr(question + 1);
  for (const FixedTarget& fixed : kFixedTargets) {
    Result<std::string> stored = NormalizeTarget(fixed.url, Rules());
    Check(stored.ok() && *stored == fixed.url);
    Result<std::string> location =
        BuildLocation(fixed.url, extra, query, Rules());
    if (!location.ok()) {
      CheckMessage(location.status());
      continue;
    }
    const std::string& url = *location;
    CheckAccepted(url);
    // The visitor may add to the path and query, never change where the
    // redirect goes, climb out of the path, or start a fragment.
    Check(TargetHost(url) == fixed.host);
    Check(!HasDotSegment(url));
    Check(fixed.has_fragment || url.find('#') == std::string::npos);
    Check(url.find("{path}") == std::string::npos);
  }
  if (target.ok()) {
    Result<std::string> location =
        BuildLocation(*target, "extra/path", "utm_source=fuzz", Rules());
    if (location.ok()) {
      CheckAccepted(*location);
      Check(TargetHost(*location) == TargetHost(*target));
      Check(location->find("{path}") == std::string::npos);
    } else {
      CheckMessage(location.status());
    }
  }
  return 0;
}
