// The file formats links move in and out of shorty with: shorty's own export
// (JSON lines), golink's export, Shlink's CSV import format, YOURLS's
// yourls_url table as CSV and Kutt's API JSON. Recognising a file, parsing it
// a piece at a time into link records with per-line problems, and writing
// shorty's export lines. Pure: no files, no clock; bytes come in, values go
// out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/status.h"

namespace shorty {

enum class ImportFormat { kShorty, kGolink, kShlink, kYourls, kKutt };

// The name --from takes: "shorty", "golink", "shlink", "yourls", "kutt".
const char* ImportFormatName(ImportFormat format);
// What a person reads: "golink export (JSON lines)", ...
const char* ImportFormatTitle(ImportFormat format);
// The format with this --from name; InvalidArgument listing the names.
Result<ImportFormat> ParseImportFormat(std::string_view name);

// How much of a file DetectImportFormat wants to see (less when the file is
// shorter).
constexpr size_t kDetectBytes = 64 * 1024;

// The format of a file, recognised from its first bytes (`head`; a byte
// order mark and blank lines first are fine). InvalidArgument naming every
// format tried and what each looks like when none fits.
Result<ImportFormat> DetectImportFormat(std::string_view head);

// A line longer than this is reported and skipped: no link is this long.
constexpr size_t kMaxImportLineBytes = 768 * 1024;
// A CSV record (a quoted field may hold line breaks) longer than this is
// reported as a quote never closed.
constexpr size_t kMaxCsvRecordBytes = 64 * 1024;
// A Kutt JSON document larger than this is reported and skipped.
constexpr size_t kMaxJsonDocumentBytes = 64 * 1024 * 1024;

// A link as a source file describes it, before shorty's rules are applied
// (the daemon applies them: shared/import_service.h). Unset optional fields
// take shorty's defaults.
struct SourceLink {
  int64_t line = 0;  // where it starts in the file, from 1
  std::string slug;
  std::string target;
  std::string title;
  std::string note;
  std::vector<std::string> tags;
  std::optional<int> status;
  std::optional<UnixTime> created_at;
  std::optional<UnixTime> updated_at;
  std::string created_by;  // "" = the importing user or token
  std::optional<UnixTime> expires_at;
  std::optional<int64_t> max_visits;
  int64_t visits = 0;
  bool disabled = false;
  std::string password_hash;  // shorty's own exports only
  // shorty exports made with --history: the link's changes, oldest first
  // (seq is not kept; changes is a JSON object as text).
  std::vector<HistoryEntry> history;
};

// A line of the file that gave no link, and why.
struct ParseProblem {
  int64_t line = 0;
  std::string message;  // starts with the field or rule, never "line N"
};

// Parses one file of a known format, fed in pieces of any size, so that a
// file of a million links never sits in memory whole. Feed, then take what
// is ready; Finish at the end of the file. Every line that yields no link
// yields one ParseProblem (blank lines yield neither). Not thread-safe.
class ImportParser {
 public:
  explicit ImportParser(ImportFormat format);
  ~ImportParser();
  ImportParser(const ImportParser&) = delete;
  ImportParser& operator=(const ImportParser&) = delete;

  // The next bytes of the file.
  void Feed(std::string_view bytes);
  // The end of the file: whatever is pending is parsed or reported.
  void Finish();

  // The links and problems found so far, in file order; taking them clears
  // them.
  std::vector<SourceLink> TakeLinks();
  std::vector<ParseProblem> TakeProblems();

  // Not OK when the file cannot be read on at all (a shorty export of a
  // newer version, a CSV without the columns its format needs): the message
  // says why; nothing more is parsed.
  const Status& status() const;
  // Lines seen so far, counting a last line without a line break.
  int64_t lines() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A slug as shorty's rules ([A-Za-z0-9][A-Za-z0-9_-]{0,63}) allow it: each
// run of other bytes becomes one '-', leading '-' and '_' and trailing '-'
// are dropped, and it is cut to 64 bytes. nullopt when nothing is left. A
// valid slug comes back unchanged. Pure.
std::optional<std::string> CleanSlug(std::string_view slug);

// Appends `text`, which must be valid UTF-8, as a JSON string: quotes,
// backslashes and control characters escaped, byte for byte as
// nlohmann::json's dump() writes it. For writers of many small objects,
// where building a json value first costs more than the rest together.
void AppendJsonString(std::string* out, std::string_view text);

// shorty's export format: a header line, one line per link, an end line.
// Each is one JSON object and a '\n'.
//
// {"shorty_export":1,"shorty_version":"0.1.0","exported_at":"..."}
std::string ExportHeaderLine(std::string_view version, UnixTime exported_at);
// Every field of the link (the password hash only when one is set), and
// its history when `history` is given.
std::string ExportLinkLine(const Link& link,
                           const std::vector<HistoryEntry>* history);
// {"shorty_export_end":{"links":N}}: tells a whole export from a cut one.
std::string ExportEndLine(int64_t links);

}  // namespace shorty
