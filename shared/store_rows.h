// What every Store implementation writes and reads the same way whatever
// the engine: list cursors, tag columns, token scopes, search patterns and
// the not-found message, so that SQLite and PostgreSQL stores agree to the
// byte (the contract tests in tests/store_contract.cc hold them to it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace shorty::store_rows {

// NotFound "link 'SLUG' not found".
Status NotFound(std::string_view slug);

// Tags sorted, each once.
std::vector<std::string> SortedUnique(std::vector<std::string> tags);

// Unpacks the "<bytes>:<tag>..." tags column into sorted, unique tags;
// false when it is malformed.
bool UnpackTags(std::string_view packed, std::vector<std::string>* tags);

// Whether a stored scope number is one this build knows (shared/link.h).
bool ValidScope(int64_t scope);

// ListLinks cursors: "c<created_at>.<id>" of the last link of a page, in
// canonical decimal; ParseCursor refuses anything else rather than guess.
std::string MakeCursor(int64_t created_at, int64_t id);
bool ParseCursor(std::string_view cursor, int64_t* created_at, int64_t* id);
// A whole string in canonical decimal (no sign, no leading zero, no space).
bool ParseCanonicalInt(std::string_view text, int64_t* value);

// The LIKE pattern for a literal substring search: % and _ and \ of the
// search escaped with \, for "LIKE ... ESCAPE" with \ as the escape.
std::string ContainsPattern(std::string_view search);

}  // namespace shorty::store_rows
