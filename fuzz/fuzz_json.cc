// Fuzzes the JSON bodies the API reads from anyone: ParseLinkInput and
// ParseLinkEdit (PATCH) with a fixed now, and the CLI's readers of what a
// server returns (LinkFromJson, StatusFromErrorBody). Nothing may crash or
// throw; a body that is not a JSON object is refused by every parser alike, and
// a refusal survives the trip through an error body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/link_json.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

constexpr shorty::UnixTime kNow = 1767225600;  // 2026-01-01T00:00:00Z

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  shorty::Result<nlohmann::json> object = shorty::ParseJsonObject(body);
  shorty::Result<shorty::LinkInput> input = shorty::ParseLinkInput(body, kNow);
  // The PATCH body.
  auto patch = shorty::ParseLinkEdit(body, kNow);
  // Refusals reach the client as an error body and read back the same.
  for (const shorty::Status* status : {&input.status(), &patch.status()}) {
    if (status->ok()) continue;
    shorty::Status back =
        shorty::StatusFromErrorBody(400, shorty::ErrorBody(*status));
    Check(back.code() == status->code() && back.message() == status->message());
  }

  if (!object.ok()) {
    Check(!input.ok() && input.status().code() == object.status().code());
    Check(!patch.ok() && patch.status().code() == object.status().code());
    return 0;
  }
  Check(object->is_object());
  // The CLI reads links and errors back from a server it may not trust.
  shorty::Result<shorty::Link> link = shorty::LinkFromJson(*object);
  if (link.ok()) {
    // Strings came from parsed JSON, so they are valid UTF-8 and dump.
    shorty::LinkToJson(*link, "https://go.example.com/x",
                       shorty::Verdict::kRedirect)
        .dump();
  }
  shorty::StatusFromErrorBody(400, body);
  return 0;
}
