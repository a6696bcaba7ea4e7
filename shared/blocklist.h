// The blocklist file: hosts and domains no link may point at, one a line.
// Pure: the file's text comes in.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "shared/status.h"

namespace shorty {

// Parses a blocklist: one host or domain a line ("evil.example" blocks it
// and every name under it), '#' starts a comment, blank lines are skipped.
// Names are stored lower case, internationalised ones as punycode.
// InvalidArgument "SOURCE:LINE: ..." for a line that is not a host name.
Result<std::unordered_set<std::string>> ParseBlocklist(std::string_view text,
                                                       std::string_view source);

}  // namespace shorty
