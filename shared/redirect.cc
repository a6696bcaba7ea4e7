#include "shared/redirect.h"

#include <vector>

namespace shorty {

namespace {

constexpr std::string_view kPathPlaceholder = "{path}";

Status InvalidPath(const std::string& message) {
  return Status::InvalidArgument("path: " + message);
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
         (c >= 'a' && c <= 'f');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a') return c - 'a' + 10;
  return c - 'A' + 10;
}

// A segment a server would resolve as "." or "..", once it has decoded
// %2E; such a segment could climb out of the path the link owner chose.
bool IsDotSegment(std::string_view segment) {
  std::string decoded;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
        (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
      decoded += '.';
      i += 2;
    } else {
      decoded += segment[i];
    }
  }
  return decoded == "." || decoded == "..";
}

// The extra path comes from an anonymous visitor, so it is held to more than
// the target rules: no dot segments (raw, or hidden as %2E or behind %2F),
// no backslash (browsers and some servers read it as '/'), and no raw '?'
// or '#', which would cut the path short.
Status CheckExtraPath(std::string_view extra) {
  for (size_t i = 0; i < extra.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(extra[i]);
    if (c <= 0x20 || c == 0x7f) {
      return InvalidPath("must not contain whitespace or control characters");
    }
    if (c == '\\') return InvalidPath("'\\' is not allowed");
    if (c == '?' || c == '#') {
      return InvalidPath(std::string("'") + static_cast<char>(c) +
                         "' must be percent-encoded");
    }
    if (c != '%') continue;
    if (i + 2 >= extra.size() || !IsHex(extra[i + 1]) || !IsHex(extra[i + 2])) {
      return InvalidPath("'%' must start an escape of two hex digits");
    }
    int value = HexValue(extra[i + 1]) * 16 + HexValue(extra[i + 2]);
    // %20 stays allowed: it is how a browser sends the space in
    // go/search/two%20words.
    if (value < 0x20 || value == 0x7f) {
      return InvalidPath("must not contain encoded control characters");
    }
    if (value == '\\') return InvalidPath("'\\' is not allowed, even encoded");
  }
  // %2F splits segments too: a server that decodes it before resolving dots
  // would otherwise see "..%2F" as "../".
  size_t start = 0;
  while (start <= extra.size()) {
    size_t end = start;
    size_t next = std::string_view::npos;
    while (end < extra.size()) {
      if (extra[end] == '/') {
        next = end + 1;
        break;
      }
      if (extra[end] == '%' && end + 2 < extra.size() &&
          extra[end + 1] == '2' &&
          (extra[end + 2] == 'f' || extra[end + 2] == 'F')) {
        next = end + 3;
        break;
      }
      ++end;
    }
    if (IsDotSegment(extra.substr(start, end - start))) {
      return InvalidPath("'.' and '..' segments are not allowed");
    }
    if (next == std::string_view::npos) break;
    start = next;
  }
  return Status::Ok();
}

// Visitor-supplied text before it joins the target. A raw '#' in the query
// would end it early and start a fragment ahead of the target's own. Braces
// are encoded so that the only raw "{path}" NormalizeTarget ever keeps is
// the link owner's, and it is substituted before anyone sees it.
std::string EscapeVisitorText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '#') {
      out += "%23";
    } else if (c == '{') {
      out += "%7B";
    } else if (c == '}') {
      out += "%7D";
    } else {
      out += c;
    }
  }
  return out;
}

// Replaces every "{path}" in `s`; text inserted from `extra` is never
// scanned again, so it cannot recurse.
bool SubstituteAll(std::string& s, std::string_view extra) {
  bool found = false;
  size_t pos = 0;
  while ((pos = s.find(kPathPlaceholder, pos)) != std::string::npos) {
    s.replace(pos, kPathPlaceholder.size(), extra);
    pos += extra.size();
    found = true;
  }
  return found;
}

}  // namespace

Verdict Decide(const Link& link, UnixTime now, int64_t visits) {
  if (link.disabled) return Verdict::kDisabled;
  if (link.expires_at && *link.expires_at <= now) return Verdict::kExpired;
  if (link.max_visits && visits >= *link.max_visits) return Verdict::kUsedUp;
  return Verdict::kRedirect;
}

const char* VerdictReason(Verdict v) {
  switch (v) {
    case Verdict::kRedirect:
      return "redirect";
    case Verdict::kExpired:
      return "expired";
    case Verdict::kUsedUp:
      return "used up";
    case Verdict::kDisabled:
      return "disabled";
  }
  return "disabled";
}

Result<std::string> BuildLocation(std::string_view target,
                                  std::string_view extra_path,
                                  std::string_view query,
                                  const TargetRules& rules) {
  if (Status s = CheckExtraPath(extra_path); !s.ok()) return s;

  size_t scheme_end = target.find("://");
  // Not a URL we could have stored; NormalizeTarget says what is wrong.
  if (scheme_end == std::string_view::npos) {
    return NormalizeTarget(target, rules);
  }
  size_t path_start = target.find_first_of("/?#", scheme_end + 3);
  if (path_start == std::string_view::npos) path_start = target.size();
  std::string_view head = target.substr(0, path_start);
  std::string_view tail = target.substr(path_start);

  size_t hash = tail.find('#');
  std::string fragment;
  bool has_fragment = hash != std::string_view::npos;
  if (has_fragment) {
    fragment = std::string(tail.substr(hash + 1));
    tail = tail.substr(0, hash);
  }
  size_t question = tail.find('?');
  std::string target_query;
  bool has_query = question != std::string_view::npos;
  if (has_query) {
    target_query = std::string(tail.substr(question + 1));
    tail = tail.substr(0, question);
  }
  std::string path(tail);

  const std::string extra = EscapeVisitorText(extra_path);
  bool substituted = SubstituteAll(path, extra);
  substituted |= SubstituteAll(target_query, extra);
  substituted |= SubstituteAll(fragment, extra);
  // Exactly one '/' joins the two, whichever side brought its own.
  size_t skip = extra.find_first_not_of('/');
  if (!substituted && skip != std::string::npos) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += '/';
    path += extra.substr(skip);
  }

  if (!query.empty()) {
    if (has_query && !target_query.empty()) target_query += '&';
    target_query += EscapeVisitorText(query);
    has_query = true;
  }

  std::string location(head);
  location += path;
  if (has_query) location += "?" + target_query;
  if (has_fragment) location += "#" + fragment;
  return NormalizeTarget(location, rules);
}

}  // namespace shorty
