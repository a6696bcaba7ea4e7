#include "shared/import_formats.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "shared/slug.h"
#include "shared/text.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

using nlohmann::json;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr int kMaxJsonDepth = 32;
constexpr size_t kMaxHistoryEntries = 1000;

std::string_view Trim(std::string_view s) {
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  size_t end = s.size();
  while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  return s.substr(start, end - start);
}

bool IsBlank(std::string_view s) { return Trim(s).empty(); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Parses one JSON value; false (with *problem set) when it is not JSON.
bool ParseJson(std::string_view text, json* out, std::string* problem) {
  if (!JsonDepthWithin(text, kMaxJsonDepth)) {
    *problem = "JSON nested deeper than 32 levels";
    return false;
  }
  *out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    *problem = "not valid JSON";
    return false;
  }
  return true;
}

std::string Quoted(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  if (s.size() > kMaxShown) {
    // Cut on a character boundary.
    size_t cut = kMaxShown;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    return "'" + std::string(s.substr(0, cut)) + "...'";
  }
  return "'" + std::string(s) + "'";
}

// A time as source files write it: RFC 3339 (any offset, fractional seconds
// dropped), or a date and time without a zone, taken as UTC (YOURLS and
// Kutt on SQLite write those). "" and Go's zero time are no time at all.
Result<std::optional<UnixTime>> ParseSourceTime(std::string_view field,
                                                std::string_view raw) {
  std::string_view text = Trim(raw);
  if (text.empty() || text == "0001-01-01T00:00:00Z") {
    return std::optional<UnixTime>();
  }
  auto not_time = [&] {
    return Status::InvalidArgument(std::string(field) + ": " + Quoted(text) +
                                   " is not a date and time such as "
                                   "2024-05-01T12:00:00Z");
  };
  // Only dates: ParseTimePoint also takes durations such as "7d".
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return not_time();
  std::string with_zone(text);
  const bool has_zone =
      text.back() == 'Z' || text.back() == 'z' ||
      (text.size() > 19 && (text.find('+', 19) != std::string_view::npos ||
                            text.find('-', 19) != std::string_view::npos));
  if (text.size() > 10 && !has_zone) with_zone += 'Z';
  Result<UnixTime> t = ParseTimePoint(with_zone, 0);
  if (!t.ok()) return not_time();
  return std::optional<UnixTime>(*t);
}

// Reads the fields of one JSON object, remembering the first problem.
class FieldReader {
 public:
  explicit FieldReader(const json& object) : object_(object) {}

  const json* Find(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // A string field; "" when absent or null.
  std::string String(const char* key, bool required = false) {
    const json* v = Find(key);
    if (v == nullptr) {
      if (required) Fail(std::string(key) + ": missing; every link needs one");
      return "";
    }
    if (!v->is_string()) {
      Fail(std::string(key) + ": expected a string");
      return "";
    }
    return v->get<std::string>();
  }

  std::optional<int64_t> Int(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer() &&
        !(v->is_number_unsigned() &&
          v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
      return v->get<int64_t>();
    }
    Fail(std::string(key) + ": expected a whole number");
    return std::nullopt;
  }

  bool Bool(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(std::string(key) + ": expected true or false");
      return false;
    }
    return v->get<bool>();
  }

  std::optional<UnixTime> Time(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Fail(std::string(key) + ": expected a date and time as a string");
      return std::nullopt;
    }
    Result<std::optional<UnixTime>> t =
        ParseSourceTime(key, v->get_ref<const std::string&>());
    if (!t.ok()) {
      Fail(t.status().message());
      return std::nullopt;
    }
    return *t;
  }

  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    const json* v = Find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(std::string(key) + ": expected an array of strings");
      return out;
    }
    for (const json& item : *v) {
      if (!item.is_string()) {
        Fail(std::string(key) + ": expected an array of strings");
        return {};
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  const json& object_;
  std::string error_;
};

// RFC 4180 CSV: fields separated by `delimiter`, optionally in double
// quotes, a quote inside a quoted field doubled. A quoted field may hold
// line breaks, so a record may be several lines.
enum class CsvParse { kOk, kOpenQuote, kBad };

CsvParse ParseCsvRecord(std::string_view text, char delimiter,
                        std::vector<std::string>* fields, std::string* error) {
  fields->clear();
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < text.size() && text[i] == '"') {
      ++i;
      for (;;) {
        size_t quote = text.find('"', i);
        if (quote == std::string_view::npos) return CsvParse::kOpenQuote;
        field.append(text.substr(i, quote - i));
        i = quote + 1;
        if (i < text.size() && text[i] == '"') {
          field += '"';
          ++i;
          continue;
        }
        break;
      }
      if (i < text.size() && text[i] != delimiter) {
        *error =
            "CSV: a quoted field is followed by text before the next "
            "separator; inside a quoted field, write a quote as two (\"\")";
        return CsvParse::kBad;
      }
    } else {
      size_t end = text.find(delimiter, i);
      if (end == std::string_view::npos) end = text.size();
      std::string_view raw = text.substr(i, end - i);
      if (raw.find('"') != std::string_view::npos) {
        *error =
            "CSV: a quote inside a field that is not quoted; put the field "
            "in quotes and write the quote as two (\"\")";
        return CsvParse::kBad;
      }
      field.assign(raw);
      i = end;
    }
    fields->push_back(std::move(field));
    if (i >= text.size()) return CsvParse::kOk;
    ++i;  // the delimiter; a delimiter at the end leaves one empty field
    if (i == text.size()) {
      fields->emplace_back();
      return CsvParse::kOk;
    }
  }
}

// The delimiter of a CSV line: ';' when it separates more fields than ','
// (spreadsheets in many locales write ';'), else ','.
char DetectDelimiter(std::string_view line) {
  size_t commas = 0, semicolons = 0;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == ',') ++commas;
    if (c == ';') ++semicolons;
  }
  return semicolons > commas ? ';' : ',';
}

// A CSV header name as Shlink matches it: lower case, without spaces.
std::string HeaderKey(std::string_view name) {
  std::string key;
  for (char c : Trim(name)) {
    if (c != ' ') key += c;
  }
  return Lower(key);
}

std::optional<int64_t> ParseCount(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// Keys of the first JSON value in a file's head: the top-level object's,
// or, for an array, its first element's. Stops early; truncated input is
// fine.
class KeySniffer : public nlohmann::json_sax<json> {
 public:
  std::vector<std::string> keys;
  bool top_is_array = false;

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override {
    return Value();
  }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override {
    stack_.push_back('{');
    return true;
  }
  bool key(string_t& name) override {
    bool wanted = (stack_.size() == 1 && stack_[0] == '{') ||
                  (stack_.size() == 2 && stack_[0] == '[' && elements_ == 0);
    if (wanted) keys.push_back(name);
    return keys.size() < 256;
  }
  bool end_object() override {
    stack_.pop_back();
    return End();
  }
  bool start_array(std::size_t) override {
    if (stack_.empty()) top_is_array = true;
    stack_.push_back('[');
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return End();
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Value() { return stack_.empty() ? false : End(); }
  // After a value ends: the first element of a top-level array is enough,
  // and so is the first top-level value.
  bool End() {
    if (stack_.size() == 1 && stack_[0] == '[') {
      ++elements_;
      return false;
    }
    return !stack_.empty();
  }

  std::vector<char> stack_;
  int elements_ = 0;
};

bool Has(const std::vector<std::string>& keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

const char* ImportFormatName(ImportFormat format) {
  switch (format) {
    case ImportFormat::kShorty:
      return "shorty";
    case ImportFormat::kGolink:
      return "golink";
    case ImportFormat::kShlink:
      return "shlink";
    case ImportFormat::kYourls:
      return "yourls";
    case ImportFormat::kKutt:
      return "kutt";
  }
  return "shorty";
}

const char* ImportFormatTitle(ImportFormat format) {
  switch (format) {
    case ImportFormat::kShorty:
      return "shorty export (JSON lines)";
    case ImportFormat::kGolink:
      return "golink export (JSON lines)";
    case ImportFormat::kShlink:
      return "Shlink CSV";
    case ImportFormat::kYourls:
      return "YOURLS yourls_url table as CSV";
    case ImportFormat::kKutt:
      return "Kutt API JSON";
  }
  return "";
}

Result<ImportFormat> ParseImportFormat(std::string_view name) {
  for (ImportFormat f :
       {ImportFormat::kShorty, ImportFormat::kGolink, ImportFormat::kShlink,
        ImportFormat::kYourls, ImportFormat::kKutt}) {
    if (name == ImportFormatName(f)) return f;
  }
  return Status::InvalidArgument(
      "--from: " + Quoted(name) +
      " is not a format shorty reads; use shorty, golink, shlink, yourls or "
      "kutt");
}

Result<ImportFormat> DetectImportFormat(std::string_view head) {
  if (head.substr(0, kBom.size()) == kBom) head.remove_prefix(kBom.size());
  size_t start = head.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    return Status::InvalidArgument(
        "the file is empty: there is nothing to "
        "import");
  }
  head.remove_prefix(start);
  if (head[0] == '{' || head[0] == '[') {
    KeySniffer sniffer;
    json::sax_parse(head, &sniffer);
    const auto& keys = sniffer.keys;
    if (!sniffer.top_is_array && Has(keys, "shorty_export")) {
      return ImportFormat::kShorty;
    }
    if (!sniffer.top_is_array && Has(keys, "Short") && Has(keys, "Long")) {
      return ImportFormat::kGolink;
    }
    if ((!sniffer.top_is_array && Has(keys, "data")) ||
        (Has(keys, "address") && Has(keys, "target"))) {
      return ImportFormat::kKutt;
    }
  } else {
    std::string_view line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string> fields;
    std::string error;
    if (ParseCsvRecord(line, DetectDelimiter(line), &fields, &error) ==
        CsvParse::kOk) {
      std::vector<std::string> names;
      for (const std::string& f : fields) names.push_back(HeaderKey(f));
      if (Has(names, "longurl") && Has(names, "shortcode")) {
        return ImportFormat::kShlink;
      }
      if (!names.empty() && names[0] == "keyword" && Has(names, "url")) {
        return ImportFormat::kYourls;
      }
      // yourls_url without a header: keyword,url,title,timestamp,ip,clicks.
      if (fields.size() == 6 && fields[1].find("://") != std::string::npos &&
          ParseCount(fields[5])) {
        return ImportFormat::kYourls;
      }
    }
  }
  return Status::InvalidArgument(
      "the file's format is not recognised; tried a shorty export (first "
      "line {\"shorty_export\":1,...}), a golink export (JSON lines with "
      "\"Short\" and \"Long\"), a Shlink CSV (a header with \"Long URL\" and "
      "\"Short code\"), a YOURLS CSV (keyword,url,title,timestamp,ip,clicks) "
      "and Kutt API JSON ({\"data\": [...]} from GET /api/v2/links); if it "
      "is one of them, name it with --from");
}

class ImportParser::Impl {
 public:
  explicit Impl(ImportFormat format) : format_(format) {}

  void Feed(std::string_view bytes) {
    while (!bytes.empty() && status_.ok()) {
      size_t newline = bytes.find('\n');
      std::string_view piece =
          newline == std::string_view::npos ? bytes : bytes.substr(0, newline);
      if (!discarding_) {
        if (partial_.size() + piece.size() > kMaxImportLineBytes) {
          discarding_ = true;
          partial_.clear();
          partial_.shrink_to_fit();
        } else if (newline == std::string_view::npos || !partial_.empty()) {
          partial_.append(piece);
        }
      }
      if (newline == std::string_view::npos) return;
      if (discarding_) {
        Line(std::string_view(), /*too_long=*/true);
      } else if (partial_.empty()) {
        Line(piece, false);  // the common case: no copy
      } else {
        Line(partial_, false);
      }
      partial_.clear();
      discarding_ = false;
      bytes.remove_prefix(newline + 1);
    }
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    if (status_.ok() && (discarding_ || !partial_.empty())) {
      Line(partial_, discarding_);
      partial_.clear();
      discarding_ = false;
    }
    if (!status_.ok()) return;
    switch (format_) {
      case ImportFormat::kShlink:
      case ImportFormat::kYourls:
        while (!pending_.empty()) ResyncCsv();
        break;
      case ImportFormat::kKutt:
        if (!containers_.empty()) {
          Problem(doc_start_line_,
                  "JSON: the document that starts here never ends (a "
                  "'}' or ']' is missing)");
        }
        break;
      case ImportFormat::kShorty:
        if (header_seen_ && !end_seen_) {
          Problem(lines_,
                  "the export has no end line ({\"shorty_export_end\":...}): "
                  "it was cut short, and links after the cut are missing");
        }
        break;
      case ImportFormat::kGolink:
        break;
    }
  }

  std::vector<SourceLink> TakeLinks() { return std::exchange(links_, {}); }
  std::vector<ParseProblem> TakeProblems() {
    return std::exchange(problems_, {});
  }
  const Status& status() const { return status_; }
  int64_t lines() const { return lines_; }

 private:
  // One physical line, without its line break.
  void Line(std::string_view text, bool too_long) {
    const int64_t number = ++lines_;
    if (number == 1 && text.substr(0, kBom.size()) == kBom) {
      text.remove_prefix(kBom.size());
    }
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    std::string bad;
    if (too_long) {
      bad = "longer than 768 KiB; no link is that long";
    } else if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
      bad = "holds a NUL byte; a text file has none";
    } else if (!IsValidUtf8(text)) {
      bad = "not valid UTF-8; save the file as UTF-8";
    }
    if (!bad.empty()) {
      // A bad line ends a CSV record in progress.
      if (format_ == ImportFormat::kShlink ||
          format_ == ImportFormat::kYourls) {
        while (!pending_.empty()) ResyncCsv();
      }
      Problem(number, bad);
      return;
    }
    switch (format_) {
      case ImportFormat::kShorty:
        ShortyLine(number, text);
        break;
      case ImportFormat::kGolink:
        GolinkLine(number, text);
        break;
      case ImportFormat::kShlink:
      case ImportFormat::kYourls:
        CsvLine(number, text);
        break;
      case ImportFormat::kKutt:
        KuttLine(number, text);
        break;
    }
  }

  void Problem(int64_t line, std::string message) {
    problems_.push_back({line, std::move(message)});
  }

  // --- JSON lines: shorty and golink -------------------------------------

  bool JsonObjectLine(int64_t number, std::string_view text, json* out) {
    std::string problem;
    if (!ParseJson(text, out, &problem)) {
      Problem(number, problem);
      return false;
    }
    if (!out->is_object()) {
      Problem(number, "expected a JSON object, one link a line");
      return false;
    }
    return true;
  }

  void ShortyLine(int64_t number, std::string_view text) {
    if (IsBlank(text)) return;
    json j;
    if (!header_seen_) {
      std::string problem;
      if (!ParseJson(text, &j, &problem) || !j.is_object() ||
          !j.contains("shorty_export")) {
        status_ =
            Status::InvalidArgument("line " + std::to_string(number) +
                                    ": not a shorty export; its first line is "
                                    "{\"shorty_export\":1,...}");
        return;
      }
      const json& version = j["shorty_export"];
      if (!version.is_number_integer() || version.get<int64_t>() != 1) {
        status_ = Status::InvalidArgument(
            "line " + std::to_string(number) + ": shorty export version " +
            version.dump() +
            " is not one this shorty reads (1); upgrade shorty");
        return;
      }
      header_seen_ = true;
      return;
    }
    if (end_seen_) {
      Problem(number, "after the export's end line; nothing follows it");
      return;
    }
    ++link_lines_;
    if (!JsonObjectLine(number, text, &j)) return;
    if (j.contains("shorty_export_end")) {
      --link_lines_;
      end_seen_ = true;
      const json& end = j["shorty_export_end"];
      if (end.is_object() && end.contains("links") &&
          end["links"].is_number_integer() &&
          end["links"].get<int64_t>() != link_lines_) {
        Problem(number, "the export says it holds " + end["links"].dump() +
                            " links but has " + std::to_string(link_lines_) +
                            " link lines; it was changed since it was made");
      }
      return;
    }
    FieldReader r(j);
    SourceLink link;
    link.line = number;
    link.slug = r.String("slug", true);
    link.target = r.String("target", true);
    link.title = r.String("title");
    link.note = r.String("note");
    link.tags = r.Strings("tags");
    if (std::optional<int64_t> status = r.Int("status")) {
      if (*status < 0 || *status > 999) {
        r.Fail("status: " + std::to_string(*status) +
               " is not a redirect status; use 301, 302, 307 or 308");
      } else {
        link.status = static_cast<int>(*status);
      }
    }
    link.created_at = r.Time("created_at");
    link.updated_at = r.Time("updated_at");
    link.created_by = r.String("created_by");
    link.expires_at = r.Time("expires_at");
    link.max_visits = r.Int("max_visits");
    link.visits = r.Int("visits").value_or(0);
    link.disabled = r.Bool("disabled");
    link.password_hash = r.String("password_hash");
    if (const json* history = r.Find("history")) {
      if (!history->is_array() || history->size() > kMaxHistoryEntries) {
        r.Fail("history: expected an array of at most 1000 changes");
      } else {
        for (const json& e : *history) {
          if (!e.is_object()) {
            r.Fail("history: expected an array of objects");
            break;
          }
          FieldReader h(e);
          HistoryEntry entry;
          entry.slug = link.slug;
          std::optional<UnixTime> at = h.Time("at");
          entry.actor = h.String("actor");
          entry.action = h.String("action", true);
          const json* changes = h.Find("changes");
          if (!at) h.Fail("at: missing; every change has a time");
          if (changes == nullptr || !changes->is_object()) {
            h.Fail("changes: expected an object");
          }
          if (!h.ok()) {
            r.Fail("history: " + h.error());
            break;
          }
          entry.at = *at;
          entry.changes =
              changes->dump(-1, ' ', false, json::error_handler_t::replace);
          link.history.push_back(std::move(entry));
        }
      }
    }
    if (!r.ok()) {
      Problem(number, r.error());
      return;
    }
    links_.push_back(std::move(link));
  }

  void GolinkLine(int64_t number, std::string_view text) {
    if (IsBlank(text)) return;
    json j;
    if (!JsonObjectLine(number, text, &j)) return;
    FieldReader r(j);
    SourceLink link;
    link.line = number;
    link.slug = r.String("Short", true);
    link.target = r.String("Long", true);
    link.created_at = r.Time("Created");
    link.updated_at = r.Time("LastEdit");
    link.created_by = r.String("Owner");
    link.note = r.String("Description");
    link.visits = r.Int("Clicks").value_or(0);
    if (r.ok() && link.target.find("{{") != std::string::npos) {
      // golink runs Long as a text/template; the one action with a shorty
      // equivalent is the extra path.
      std::string target;
      constexpr std::string_view kPath = "{{.Path}}";
      for (size_t i = 0; i < link.target.size();) {
        if (link.target.compare(i, kPath.size(), kPath) == 0) {
          target += "{path}";
          i += kPath.size();
        } else {
          target += link.target[i++];
        }
      }
      if (target.find("{{") != std::string::npos) {
        r.Fail("Long: " + Quoted(link.target) +
               " is a golink template; only {{.Path}} has a shorty "
               "equivalent ({path})");
      }
      link.target = std::move(target);
    }
    if (!r.ok()) {
      Problem(number, r.error());
      return;
    }
    links_.push_back(std::move(link));
  }

  // --- CSV: Shlink and YOURLS ---------------------------------------------

  void CsvLine(int64_t number, std::string_view text) {
    if (pending_.empty()) {
      if (IsBlank(text)) return;
      if (!header_done_) {
        CsvHeader(number, text);
        if (!header_done_ || !status_.ok()) return;
        if (!yourls_positional_) return;  // the line was a header
      }
      std::vector<std::string> fields;
      std::string error;
      switch (ParseCsvRecord(text, delimiter_, &fields, &error)) {
        case CsvParse::kOk:
          CsvRecord(number, fields);
          return;
        case CsvParse::kBad:
          Problem(number, error);
          return;
        case CsvParse::kOpenQuote:
          if (text.size() > kMaxCsvRecordBytes) {
            Problem(number, QuoteNeverClosed());
            return;
          }
          pending_.emplace_back(number, std::string(text));
          pending_bytes_ = text.size();
          return;
      }
      return;
    }
    pending_.emplace_back(number, std::string(text));
    pending_bytes_ += text.size() + 1;
    std::string joined;
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (i > 0) joined += '\n';
      joined += pending_[i].second;
    }
    std::vector<std::string> fields;
    std::string error;
    CsvParse parsed = ParseCsvRecord(joined, delimiter_, &fields, &error);
    if (parsed == CsvParse::kOk && fields.size() == expected_fields_) {
      int64_t first = pending_.front().first;
      pending_.clear();
      CsvRecord(first, fields);
      return;
    }
    if (parsed == CsvParse::kOpenQuote &&
        pending_bytes_ <= kMaxCsvRecordBytes) {
      return;  // the quoted field may close on a later line
    }
    ResyncCsv();
  }

  static std::string QuoteNeverClosed() {
    return "CSV: a quoted field opened on this line is never closed; close "
           "it, or write a quote inside it as two (\"\")";
  }

  // The first pending line opened a quote that no later line closes into a
  // good record: it is reported, and the lines after it are read again on
  // their own.
  void ResyncCsv() {
    std::vector<std::pair<int64_t, std::string>> rest(
        std::make_move_iterator(pending_.begin() + 1),
        std::make_move_iterator(pending_.end()));
    Problem(pending_.front().first, QuoteNeverClosed());
    pending_.clear();
    pending_bytes_ = 0;
    for (auto& [number, text] : rest) CsvLine(number, text);
  }

  void CsvHeader(int64_t number, std::string_view text) {
    delimiter_ = DetectDelimiter(text);
    std::vector<std::string> fields;
    std::string error;
    CsvParse parsed = ParseCsvRecord(text, delimiter_, &fields, &error);
    std::vector<std::string> names;
    for (const std::string& f : fields) names.push_back(HeaderKey(f));
    auto column = [&names](std::string_view name) {
      auto it = std::find(names.begin(), names.end(), name);
      return it == names.end() ? -1 : static_cast<int>(it - names.begin());
    };
    if (format_ == ImportFormat::kShlink) {
      if (parsed != CsvParse::kOk || column("longurl") < 0 ||
          column("shortcode") < 0) {
        status_ = Status::InvalidArgument(
            "line " + std::to_string(number) +
            ": a Shlink CSV starts with a header naming its columns, "
            "\"Long URL\" and \"Short code\" at least (also \"Title\", "
            "\"Domain\", \"Tags\")");
        return;
      }
      columns_ = {
          column("shortcode"), column("longurl"), column("title"), -1, -1, -1,
          column("domain"),    column("tags")};
    } else if (parsed == CsvParse::kOk && !names.empty() &&
               names[0] == "keyword") {
      if (column("url") < 0) {
        status_ = Status::InvalidArgument(
            "line " + std::to_string(number) +
            ": a YOURLS CSV header names at least the keyword and url "
            "columns");
        return;
      }
      columns_ = {column("keyword"),
                  column("url"),
                  column("title"),
                  column("timestamp"),
                  column("clicks"),
                  -1,
                  -1,
                  -1};
    } else {
      // yourls_url exported without a header: its columns in table order.
      yourls_positional_ = true;
      fields.assign(6, "");
      columns_ = {0, 1, 2, 3, 5, -1, -1, -1};
    }
    expected_fields_ = fields.size();
    header_done_ = true;
  }

  // Column indexes into a record, -1 for none.
  struct Columns {
    int slug = -1, target = -1, title = -1, created = -1, visits = -1,
        unused = -1, domain = -1, tags = -1;
  };

  void CsvRecord(int64_t number, const std::vector<std::string>& fields) {
    if (fields.size() != expected_fields_) {
      Problem(number, "CSV: " + std::to_string(fields.size()) +
                          " fields where the header has " +
                          std::to_string(expected_fields_));
      return;
    }
    auto field = [&fields](int index) -> std::string_view {
      return index < 0 ? std::string_view() : Trim(fields[index]);
    };
    SourceLink link;
    link.line = number;
    link.slug = std::string(field(columns_.slug));
    link.target = std::string(field(columns_.target));
    link.title = std::string(field(columns_.title));
    std::string problem;
    if (link.target.empty()) problem = "target: the URL column is empty";
    if (columns_.created >= 0 && problem.empty()) {
      Result<std::optional<UnixTime>> t =
          ParseSourceTime("timestamp", field(columns_.created));
      if (t.ok()) {
        link.created_at = *t;
        link.updated_at = *t;
      } else {
        problem = t.status().message();
      }
    }
    if (columns_.visits >= 0 && problem.empty() &&
        !field(columns_.visits).empty()) {
      std::optional<int64_t> n = ParseCount(field(columns_.visits));
      if (n) {
        link.visits = *n;
      } else {
        problem = "clicks: " + Quoted(field(columns_.visits)) +
                  " is not a whole number";
      }
    }
    if (columns_.tags >= 0) {
      std::string_view tags = field(columns_.tags);
      while (!tags.empty()) {
        size_t bar = tags.find('|');
        std::string_view tag = Trim(tags.substr(0, bar));
        if (!tag.empty()) link.tags.emplace_back(tag);
        if (bar == std::string_view::npos) break;
        tags.remove_prefix(bar + 1);
      }
    }
    if (!field(columns_.domain).empty()) {
      link.note = "Shlink domain: " + std::string(field(columns_.domain));
    }
    if (!problem.empty()) {
      Problem(number, problem);
      return;
    }
    links_.push_back(std::move(link));
  }

  // --- Kutt: whole JSON documents -----------------------------------------

  void KuttLine(int64_t number, std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
      if (containers_.empty()) {
        size_t start = text.find_first_not_of(" \t", i);
        if (start == std::string_view::npos) return;
        if (text[start] != '{' && text[start] != '[') {
          Problem(number,
                  "expected Kutt's JSON ({\"data\": [...]}, the answer of "
                  "GET /api/v2/links)");
          return;
        }
        i = start;
        doc_.clear();
        doc_too_big_ = false;
        doc_start_line_ = number;
        element_lines_.clear();
        in_string_ = false;
        escaped_ = false;
        expect_element_ = false;
      }
      // Scan to the end of the document or of the line.
      const size_t begin = i;
      bool closed = false;
      for (; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string_) {
          if (escaped_) {
            escaped_ = false;
          } else if (c == '\\') {
            escaped_ = true;
          } else if (c == '"') {
            in_string_ = false;
          }
          continue;
        }
        if (c == ' ' || c == '\t') continue;
        // A link is a value directly inside the document's array:
        // [ {..}, .. ] or { "data": [ {..}, .. ] }.
        const bool in_links =
            (containers_.size() == 1 && containers_[0] == '[') ||
            (containers_.size() == 2 && containers_[0] == '{' &&
             containers_[1] == '[');
        if (expect_element_ && c != ']') element_lines_.push_back(number);
        expect_element_ = false;
        if (c == '"') {
          in_string_ = true;
        } else if (c == '{' || c == '[') {
          containers_.push_back(c);
          expect_element_ =
              c == '[' && (containers_.size() == 1 ||
                           (containers_.size() == 2 && containers_[0] == '{'));
        } else if (c == '}' || c == ']') {
          if (containers_.back() != (c == '}' ? '{' : '[')) {
            // Brackets that do not pair: the document ends here, broken.
            Problem(doc_start_line_, "JSON: not valid JSON");
            containers_.clear();
            doc_.clear();
            return;
          }
          containers_.pop_back();
          if (containers_.empty()) {
            ++i;
            closed = true;
            break;
          }
        } else if (c == ',' && in_links) {
          expect_element_ = true;
        }
      }
      if (!doc_too_big_) {
        if (doc_.size() + (i - begin) + 1 > kMaxJsonDocumentBytes) {
          doc_too_big_ = true;
          doc_.clear();
          doc_.shrink_to_fit();
        } else {
          doc_.append(text.substr(begin, i - begin));
          if (!closed) doc_ += '\n';
        }
      }
      if (closed) KuttDocument();
    }
  }

  void KuttDocument() {
    if (doc_too_big_) {
      Problem(doc_start_line_,
              "JSON: the document that starts here is larger than 64 MiB; "
              "fetch Kutt's links in pages");
      return;
    }
    json doc;
    std::string problem;
    if (!ParseJson(doc_, &doc, &problem)) {
      Problem(doc_start_line_, "JSON: " + problem);
      return;
    }
    doc_.clear();
    const json* items = &doc;
    if (doc.is_object()) {
      auto it = doc.find("data");
      if (it == doc.end() || !it->is_array()) {
        Problem(doc_start_line_,
                "data: expected an array of links (the answer of Kutt's GET "
                "/api/v2/links)");
        return;
      }
      items = &*it;
    } else if (!doc.is_array()) {
      Problem(doc_start_line_, "expected a JSON object or array");
      return;
    }
    const bool lines_known = element_lines_.size() == items->size();
    for (size_t n = 0; n < items->size(); ++n) {
      const int64_t line = lines_known ? element_lines_[n] : doc_start_line_;
      KuttLink(line, (*items)[n]);
    }
  }

  void KuttLink(int64_t line, const json& item) {
    if (!item.is_object()) {
      Problem(line, "data: expected each link to be an object");
      return;
    }
    FieldReader r(item);
    SourceLink link;
    link.line = line;
    link.slug = r.String("address", true);
    link.target = r.String("target", true);
    link.note = r.String("description");
    link.visits = r.Int("visit_count").value_or(0);
    link.created_at = r.Time("created_at");
    link.updated_at = r.Time("updated_at");
    link.expires_at = r.Time("expire_in");
    link.disabled = r.Bool("banned");
    if (const json* domain = r.Find("domain");
        domain != nullptr && domain->is_string() &&
        !domain->get_ref<const std::string&>().empty()) {
      if (!link.note.empty()) link.note += "\n";
      link.note += "Kutt domain: " + domain->get<std::string>();
    }
    if (r.ok() && r.Bool("password")) {
      r.Fail(
          "password: the link is password-protected in Kutt, and its "
          "password cannot be carried over; add it with 'shorty add "
          "--password' instead");
    }
    if (!r.ok()) {
      Problem(line, r.error());
      return;
    }
    links_.push_back(std::move(link));
  }

  const ImportFormat format_;
  Status status_;
  int64_t lines_ = 0;
  bool finished_ = false;
  std::vector<SourceLink> links_;
  std::vector<ParseProblem> problems_;

  // Line splitting.
  std::string partial_;
  bool discarding_ = false;

  // shorty.
  bool header_seen_ = false;
  bool end_seen_ = false;
  int64_t link_lines_ = 0;

  // CSV.
  bool header_done_ = false;
  bool yourls_positional_ = false;
  char delimiter_ = ',';
  size_t expected_fields_ = 0;
  Columns columns_;
  std::vector<std::pair<int64_t, std::string>> pending_;
  size_t pending_bytes_ = 0;

  // Kutt.
  std::string doc_;
  bool doc_too_big_ = false;
  int64_t doc_start_line_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  bool expect_element_ = false;   // the next value starts a link
  std::vector<char> containers_;  // open '{' and '[' of the document
  std::vector<int64_t> element_lines_;
};

ImportParser::ImportParser(ImportFormat format)
    : impl_(std::make_unique<Impl>(format)) {}
ImportParser::~ImportParser() = default;
void ImportParser::Feed(std::string_view bytes) { impl_->Feed(bytes); }
void ImportParser::Finish() { impl_->Finish(); }
std::vector<SourceLink> ImportParser::TakeLinks() { return impl_->TakeLinks(); }
std::vector<ParseProblem> ImportParser::TakeProblems() {
  return impl_->TakeProblems();
}
const Status& ImportParser::status() const { return impl_->status(); }
int64_t ImportParser::lines() const { return impl_->lines(); }

std::optional<std::string> CleanSlug(std::string_view slug) {
  if (ValidateCustomSlug(slug).ok()) return std::string(slug);
  std::string out;
  for (char c : slug) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    if (alnum || c == '_' || c == '-') {
      // A slug starts with a letter or digit.
      if (!out.empty() || alnum) out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > kMaxSlugLength) out.resize(kMaxSlugLength);
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.empty()) return std::nullopt;
  return out;
}

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + text.size() + 2);
  *out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        *out += "\\u00";
        *out += kHex[c >> 4];
        *out += kHex[c & 15];
    }
  }
  out->append(text.data() + run, text.size() - run);
  *out += '"';
}

namespace {

using ordered = nlohmann::ordered_json;

ordered OptionalTime(const std::optional<UnixTime>& t) {
  return t ? ordered(FormatTime(*t)) : ordered(nullptr);
}

std::string Dump(const ordered& j) {
  return j.dump(-1, ' ', false, ordered::error_handler_t::replace) + "\n";
}

}  // namespace

std::string ExportHeaderLine(std::string_view version, UnixTime exported_at) {
  ordered j;
  j["shorty_export"] = 1;
  j["shorty_version"] = std::string(version);
  j["exported_at"] = FormatTime(exported_at);
  return Dump(j);
}

std::string ExportLinkLine(const Link& link,
                           const std::vector<HistoryEntry>* history) {
  ordered j;
  j["slug"] = link.slug;
  j["target"] = link.target;
  j["status"] = link.status;
  j["title"] = link.title;
  j["note"] = link.note;
  j["tags"] = link.tags;
  j["created_at"] = FormatTime(link.created_at);
  j["updated_at"] = FormatTime(link.updated_at);
  j["created_by"] = link.created_by;
  j["expires_at"] = OptionalTime(link.expires_at);
  j["max_visits"] =
      link.max_visits ? ordered(*link.max_visits) : ordered(nullptr);
  j["visits"] = link.visits;
  j["disabled"] = link.disabled;
  if (!link.password_hash.empty()) j["password_hash"] = link.password_hash;
  if (history != nullptr) {
    ordered entries = ordered::array();
    for (const HistoryEntry& e : *history) {
      ordered changes = ordered::parse(e.changes, nullptr, false);
      if (changes.is_discarded() || !changes.is_object()) {
        changes = ordered::object();
      }
      ordered entry;
      entry["at"] = FormatTime(e.at);
      entry["actor"] = e.actor;
      entry["action"] = e.action;
      entry["changes"] = std::move(changes);
      entries.push_back(std::move(entry));
    }
    j["history"] = std::move(entries);
  }
  return Dump(j);
}

std::string ExportEndLine(int64_t links) {
  ordered j;
  j["shorty_export_end"] = ordered{{"links", links}};
  return Dump(j);
}

}  // namespace shorty
