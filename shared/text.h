// Checks on raw text that several parsers share: UTF-8 well-formedness
// and the nesting depth of a JSON document, both in one pass without
// allocating, so hostile input costs no more than its length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shorty {

// Decodes the code point that starts at s[*i] and moves *i past it. Returns
// false, leaving *i as it was, for a truncated sequence, a stray
// continuation byte, an overlong form, a surrogate or a value past
// U+10FFFF. Requires *i < s.size(). Thread-safe.
bool DecodeUtf8(std::string_view s, size_t* i, uint32_t* code_point);

// Whether all of `s` is well-formed UTF-8. Thread-safe.
bool IsValidUtf8(std::string_view s);

// Whether no bracket of `json` ({ or [) outside strings opens deeper than
// `max_depth`; counted before parsing, so a document of a million brackets
// costs one pass and no recursion. Says nothing of whether it parses.
// Thread-safe.
bool JsonDepthWithin(std::string_view json, int max_depth);

}  // namespace shorty
