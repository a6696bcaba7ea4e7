// Fuzzes ValidateCustomSlug against an independent reading of its rule,
// [A-Za-z0-9][A-Za-z0-9_-]{0,63}: it must accept exactly the slugs the rule
// allows, and its refusals must be safe to print. Any broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/slug.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool IsLetterOrDigit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9');
}

bool MatchesRule(std::string_view slug) {
  if (slug.empty() || slug.size() > 64) return false;
  if (!IsLetterOrDigit(slug[0])) return false;
  for (char c : slug) {
    if (!IsLetterOrDigit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view slug(reinterpret_cast<const char*>(data), size);
  const shorty::Status status = shorty::ValidateCustomSlug(slug);
  Check(status.ok() == MatchesRule(slug));
  if (status.ok()) {
    // Lookup folds case; the key of a valid slug is still a valid slug.
    Check(MatchesRule(shorty::SlugKey(slug, false)));
    Check(shorty::SlugKey(slug, true) == slug);
  } else {
    Check(status.code() == shorty::Code::kInvalidArgument);
    const std::string& m = status.message();
    Check(m.substr(0, 6) == "slug: ");
    // Bytes of the slug are quoted as \xNN, never raw.
    for (unsigned char c : m) Check(c >= 0x20 && c < 0x7f);
  }
  return 0;
}
