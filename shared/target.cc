#include "shared/target.h"

#include <idn2.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace shorty {

namespace {

// The exact placeholder BuildLocation substitutes. It survives normalisation
// raw, while every other '{' and '}' is percent-encoded.
constexpr std::string_view kPathPlaceholder = "{path}";

Status Invalid(const std::string& message) {
  return Status::InvalidArgument("target: " + message);
}

bool IsAlpha(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string PercentEncode(unsigned char c) {
  char buf[4];
  std::snprintf(buf, sizeof(buf), "%%%02X", c);
  return buf;
}

// User input as it can be quoted in a message: printable ASCII as is, every
// other byte as \xNN, so a message never carries a line break or half a
// UTF-8 sequence into a log line or terminal.
std::string Show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string DescribeRawControl(unsigned char c) {
  switch (c) {
    case ' ':
      return "a space (encode it as %20)";
    case '\t':
      return "a tab";
    case '\n':
      return "a line break";
    case '\r':
      return "a carriage return";
    default:
      return "the control character " +
             Show(std::string(1, static_cast<char>(c)));
  }
}

// Checked on the whole input before anything else, so CR/LF can never reach
// a Location header whatever part of the URL they hide in.
Status CheckRawBytes(std::string_view raw) {
  for (unsigned char c : raw) {
    if (c <= 0x20 || c == 0x7f) {
      return Invalid(
          "must not contain whitespace or control characters; "
          "found " +
          DescribeRawControl(c));
    }
  }
  return Status::Ok();
}

bool IsValidScheme(std::string_view s) {
  if (s.empty() || !IsAlpha(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// "http or https", "http, https or ftp".
std::string JoinOr(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

int DefaultPort(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "ftp") return 21;
  return 0;
}

bool IsIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && IsDigit(static_cast<unsigned char>(s[i])) &&
           i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// RFC 4291 text form: eight groups of up to four hex digits, one "::" for a
// run of zero groups, optionally ending in a dotted IPv4 address. Zone IDs
// ("%25eth0") mean nothing to a visitor's browser and are refused.
bool IsIpv6(std::string_view s) {
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
  } else if (s.empty() || s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && IsHex(static_cast<unsigned char>(s[j]))) ++j;
    if (j < s.size() && s[j] == '.') {
      if (!IsIpv4(s.substr(i))) return false;
      groups += 2;
      break;
    }
    if (j == i || j - i > 4) return false;
    ++groups;
    i = j;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == s.size()) {
      return false;  // a single trailing ':'
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

bool IsHostChar(unsigned char c) {
  // '_' is not valid in DNS host names, but internal hosts use it and
  // browsers accept it.
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_';
}

Result<std::string> NormalizeRegName(std::string_view host) {
  bool non_ascii = false;
  for (unsigned char c : host) {
    if (c >= 0x80) {
      non_ascii = true;
    } else if (!IsHostChar(c)) {
      return Invalid(
          "the host may contain only letters, digits, '-', '.' "
          "and '_'; found '" +
          Show(std::string(1, static_cast<char>(c))) + "'");
    }
  }
  std::string out;
  if (non_ascii) {
    // Visitors' browsers show punycode for hosts that mix scripts; storing
    // and sending punycode means what we check is what they get.
    std::string input(host);
    uint8_t* ascii = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()),
                            &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      idn2_free(ascii);
      return Invalid("host '" + Show(host) +
                     "' is not a valid internationalised domain name (" +
                     idn2_strerror(rc) + ")");
    }
    out = Lower(reinterpret_cast<const char*>(ascii));
    idn2_free(ascii);
    for (unsigned char c : out) {
      if (!IsHostChar(c)) {
        return Invalid("host '" + Show(host) +
                       "' is not a valid internationalised domain name");
      }
    }
  } else {
    out = Lower(host);
  }
  // A trailing dot is a legal fully qualified name; other empty labels are
  // not names at all.
  if (out.empty() || out[0] == '.' || out.find("..") != std::string::npos) {
    return Invalid("host '" + Show(host) + "' has an empty label");
  }
  return out;
}

// Parses "" (no port), or 1..65535 in at most five digits. Returns -1 if
// malformed, 0 for an empty port, which RFC 3986 says to drop.
int ParsePort(std::string_view port) {
  if (port.empty()) return 0;
  if (port.size() > 5) return -1;
  int value = 0;
  for (unsigned char c : port) {
    if (!IsDigit(c)) return -1;
    value = value * 10 + (c - '0');
  }
  return (value >= 1 && value <= 65535) ? value : -1;
}

// Path, query and fragment: percent escapes are checked and kept as written
// (decoding would change what the target server sees); characters that are
// never valid raw in a URL are encoded so a Location header or HTML attribute
// never carries them.
Result<std::string> NormalizeTail(std::string_view tail) {
  std::string out;
  out.reserve(tail.size() + 1);
  if (tail.empty() || tail[0] != '/') out += '/';
  for (size_t i = 0; i < tail.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(tail[i]);
    if (c == '{' &&
        tail.substr(i, kPathPlaceholder.size()) == kPathPlaceholder) {
      out += kPathPlaceholder;
      i += kPathPlaceholder.size() - 1;
      continue;
    }
    if (c == '%') {
      if (i + 2 >= tail.size() ||
          !IsHex(static_cast<unsigned char>(tail[i + 1])) ||
          !IsHex(static_cast<unsigned char>(tail[i + 2]))) {
        return Invalid(
            "'%' must start an escape of two hex digits; write "
            "%25 for a literal '%'");
      }
      int value = HexValue(static_cast<unsigned char>(tail[i + 1])) * 16 +
                  HexValue(static_cast<unsigned char>(tail[i + 2]));
      if (value < 0x20 || value == 0x7f) {
        return Invalid("must not contain encoded control characters; found " +
                       std::string(tail.substr(i, 3)));
      }
      out += tail.substr(i, 3);
      i += 2;
      continue;
    }
    if (c >= 0x80 || std::strchr("<>\"`{}|^\\", c) != nullptr) {
      out += PercentEncode(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// An own_hosts entry is a host, matching any port, or host:port, matching
// that port only ("[::1]:8080" for IPv6).
bool IsOwnHost(const std::string& host, int port,
               const std::vector<std::string>& own_hosts) {
  auto strip_dot = [](std::string h) {
    if (h.size() > 1 && h.back() == '.') h.pop_back();
    return h;
  };
  const std::string bare = strip_dot(host);
  for (const std::string& raw_entry : own_hosts) {
    std::string entry = Lower(raw_entry);
    std::string entry_host = entry;
    int entry_port = 0;
    size_t colon = std::string::npos;
    if (!entry.empty() && entry[0] == '[') {
      size_t close = entry.find(']');
      if (close != std::string::npos && close + 1 < entry.size() &&
          entry[close + 1] == ':') {
        colon = close + 1;
      }
    } else if (entry.find(':') == entry.rfind(':')) {
      colon = entry.find(':');
    }
    if (colon != std::string::npos) {
      entry_host = entry.substr(0, colon);
      entry_port = ParsePort(std::string_view(entry).substr(colon + 1));
    }
    if (strip_dot(entry_host) != bare) continue;
    if (entry_port <= 0 || entry_port == port) return true;
  }
  return false;
}

// Whether the host, or a domain above it, is on the blocklist: the lookups
// are one per label, whatever the list's size.
bool IsBlocked(std::string host,
               const std::unordered_set<std::string>* blocked) {
  if (!blocked || blocked->empty()) return false;
  if (host.size() > 1 && host.back() == '.') host.pop_back();
  std::string_view name = host;
  for (;;) {
    if (blocked->count(std::string(name))) return true;
    size_t dot = name.find('.');
    if (dot == std::string_view::npos) return false;
    name.remove_prefix(dot + 1);
  }
}

}  // namespace

Result<std::string> NormalizeTarget(std::string_view raw,
                                    const TargetRules& rules) {
  const Status relative =
      Invalid("must be an absolute URL such as https://example.com/page");
  if (Status s = CheckRawBytes(raw); !s.ok()) return s;

  size_t colon = raw.find(':');
  if (colon == std::string_view::npos || !IsValidScheme(raw.substr(0, colon))) {
    return relative;
  }
  const std::string scheme = Lower(raw.substr(0, colon));
  std::string_view rest = raw.substr(colon + 1);
  const bool slashes = rest.substr(0, 2) == "//";
  // "example.com:8080/x" and "localhost:3000" parse as a scheme; they are
  // hosts without one, and saying so helps more than refusing the "scheme".
  if (!slashes &&
      (scheme.find('.') != std::string::npos ||
       (!rest.empty() && IsDigit(static_cast<unsigned char>(rest[0]))))) {
    return relative;
  }
  bool allowed = false;
  for (const std::string& s : rules.schemes) allowed |= Lower(s) == scheme;
  if (!allowed) {
    std::string message = "scheme '" + scheme + "' is not allowed";
    if (!rules.schemes.empty()) message += "; use " + JoinOr(rules.schemes);
    return Invalid(message);
  }
  // Browsers read "https:\\evil.com" and "https:/\evil.com" as
  // "https://evil.com"; anything but two real slashes is refused.
  if (!slashes) return relative;
  rest.remove_prefix(2);

  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos
                              ? std::string_view()
                              : rest.substr(authority_end);
  // Browsers treat '\' as '/', so "https://evil.com\@good.com/" would go to
  // evil.com while a reader trusts good.com.
  if (authority.find('\\') != std::string_view::npos) {
    return Invalid(
        "'\\' is not allowed before the path; browsers read it as "
        "'/'");
  }
  // "https://good.com@evil.com/" goes to evil.com: a phishing classic.
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(
        "credentials in URLs (user@host) are not allowed; they "
        "are a common phishing trick");
  }

  std::string host;
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    std::string_view after = close == std::string_view::npos
                                 ? std::string_view()
                                 : authority.substr(close + 1);
    if (close == std::string_view::npos ||
        !IsIpv6(authority.substr(1, close - 1)) ||
        (!after.empty() && after[0] != ':')) {
      return Invalid("host '" + Show(authority) +
                     "' is not a valid IPv6 address in brackets");
    }
    host = Lower(authority.substr(0, close + 1));
    if (!after.empty()) port_text = after.substr(1);
  } else {
    size_t port_colon = authority.find(':');
    std::string_view name = authority.substr(0, port_colon);
    if (port_colon != std::string_view::npos) {
      port_text = authority.substr(port_colon + 1);
    }
    if (name.empty()) {
      return Invalid("must name a host, as in https://example.com/page");
    }
    Result<std::string> normalized = NormalizeRegName(name);
    if (!normalized.ok()) return normalized.status();
    host = std::move(*normalized);
  }

  int port = ParsePort(port_text);
  if (port < 0) {
    return Invalid("port '" + Show(port_text) +
                   "' must be a number from 1 to 65535");
  }
  const int default_port = DefaultPort(scheme);
  if (port == default_port) port = 0;

  if (IsOwnHost(host, port == 0 ? default_port : port, rules.own_hosts)) {
    return Invalid("points at this shortener itself (" + host +
                   "); that would loop");
  }

  if (IsBlocked(host, rules.blocked_domains.get())) {
    return Invalid("host '" + host + "' is on this server's blocklist");
  }

  Result<std::string> normalized_tail = NormalizeTail(tail);
  if (!normalized_tail.ok()) return normalized_tail.status();

  std::string out = scheme + "://" + host;
  if (port != 0) out += ":" + std::to_string(port);
  out += *normalized_tail;
  if (out.size() > rules.max_length) {
    return Invalid("longer than " + std::to_string(rules.max_length) +
                   " bytes");
  }
  return out;
}

std::string TargetHost(std::string_view normalized) {
  size_t start = normalized.find("://");
  if (start == std::string_view::npos) return "";
  std::string_view authority = normalized.substr(start + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    return std::string(authority.substr(0, close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace shorty
