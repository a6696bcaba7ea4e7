// Target URLs: the one place that decides whether a URL may be stored or
// redirected to, and how it is normalised. Pure functions.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "shared/status.h"

namespace shorty {

struct TargetRules {
  std::vector<std::string> schemes = {"http", "https"};  // lower case
  // Hosts (lower case, punycode) that are this server's own: a target there
  // would loop.
  std::vector<std::string> own_hosts;
  size_t max_length = 4096;
  // Hosts and domains (lower case, punycode) no link may point at: an entry
  // matches itself and every name under it. Shared, since the redirect path
  // copies rules by pointer only. Null = none.
  std::shared_ptr<const std::unordered_set<std::string>> blocked_domains;
};

// Validates and normalises a target: lower-cased scheme and host,
// internationalised host as punycode (UTS #46 non-transitional, via libidn2),
// default port (and an empty one) dropped, empty path as "/". Path, query and
// fragment keep their percent escapes as written; non-ASCII bytes and
// characters never valid raw in a URL (< > " ` { } | ^ \) are percent-encoded,
// except the exact placeholder "{path}", kept for BuildLocation. Host names may
// hold letters, digits, '-', '.' and '_'; IPv6 literals go in brackets. Refuses
// (InvalidArgument, message starting "target: " and naming the rule): a scheme
// not in rules.schemes, a relative URL, a missing host, user:password@ before
// the host, '\' before the path, whitespace or control characters raw or
// percent-encoded (%00-%1F, %7F; %20 is fine), a malformed port or percent
// escape, a host in rules.own_hosts (an entry "host" matches any port,
// "host:port" that port only), more than rules.max_length bytes after
// normalisation. Idempotent on its own output. Thread-safe.
Result<std::string> NormalizeTarget(std::string_view raw,
                                    const TargetRules& rules);

// `text` with every byte but the unreserved ones (letters, digits, - _ . ~)
// percent-encoded: safe as one path segment or query value.
std::string PercentEncode(std::string_view text);

// The host part of a URL that NormalizeTarget accepted ("" if none): no
// port, IPv6 literals with their brackets. Thread-safe.
std::string TargetHost(std::string_view normalized);

}  // namespace shorty
