#include "shared/store_rows.h"

#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

#include "shared/link.h"

namespace shorty::store_rows {

Status NotFound(std::string_view slug) {
  return Status::NotFound("link '" + std::string(slug) + "' not found");
}

std::vector<std::string> SortedUnique(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

bool UnpackTags(std::string_view packed, std::vector<std::string>* tags) {
  while (!packed.empty()) {
    size_t colon = packed.find(':');
    if (colon == std::string_view::npos) return false;
    size_t length = 0;
    auto [end, ec] =
        std::from_chars(packed.data(), packed.data() + colon, length);
    if (ec != std::errc() || end != packed.data() + colon ||
        length > packed.size() - colon - 1) {
      return false;
    }
    tags->emplace_back(packed.substr(colon + 1, length));
    packed.remove_prefix(colon + 1 + length);
  }
  *tags = SortedUnique(std::move(*tags));
  return true;
}

bool ValidScope(int64_t scope) {
  return scope >= static_cast<int64_t>(Scope::kRead) &&
         scope <= static_cast<int64_t>(Scope::kAdmin);
}

std::string MakeCursor(int64_t created_at, int64_t id) {
  return "c" + std::to_string(created_at) + "." + std::to_string(id);
}

bool ParseCanonicalInt(std::string_view text, int64_t* value) {
  if (text.empty()) return false;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size() &&
         std::to_string(*value) == text;
}

bool ParseCursor(std::string_view cursor, int64_t* created_at, int64_t* id) {
  if (cursor.size() > 48 || cursor.empty() || cursor[0] != 'c') return false;
  cursor.remove_prefix(1);
  size_t dot = cursor.find('.');
  if (dot == std::string_view::npos) return false;
  return ParseCanonicalInt(cursor.substr(0, dot), created_at) &&
         ParseCanonicalInt(cursor.substr(dot + 1), id) && *id > 0;
}

std::string ContainsPattern(std::string_view search) {
  std::string pattern = "%";
  for (char c : search) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

}  // namespace shorty::store_rows
