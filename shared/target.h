// Target URLs: the one place that decides whether a URL may be stored or
// redirected to, and how it is normalised. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace shorty {

struct TargetRules {
  std::vector<std::string> schemes = {"http", "https"};  // lower case
  // Hosts (lower case, punycode) that are this server's own: a target there
  // would loop.
  std::vector<std::string> own_hosts;
  size_t max_length = 4096;
};

// Validates and normalises a target: lower-cased scheme and host, internationalised
// host as punycode, default port dropped, empty path as "/", everything else
// as given. Refuses (InvalidArgument, message starting "target: " and naming
// the rule): a scheme not in rules.schemes, a relative URL, a missing host,
// user:password@ before the host, whitespace or control characters raw or
// percent-encoded (%00-%1F, %7F), a malformed port or percent escape, a host
// in rules.own_hosts, more than rules.max_length bytes after normalisation.
Result<std::string> NormalizeTarget(std::string_view raw,
                                    const TargetRules& rules);

// The host part of a URL that NormalizeTarget accepted ("" if none).
std::string TargetHost(std::string_view normalized);

}  // namespace shorty
