#include "shared/import_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "shared/import_formats.h"
#include "shared/password.h"
#include "shared/slug.h"
#include "shared/target.h"
#include "shared/text.h"

namespace shorty {
namespace {

using nlohmann::json;

constexpr size_t kMaxCreatorBytes = 100;
constexpr size_t kMaxHistoryEntries = 1000;
constexpr int kMaxBodyDepth = 16;

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// Cuts `text` to at most `max` bytes on a character boundary.
void CutUtf8(std::string* text, size_t max) {
  if (text->size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>((*text)[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  text->resize(cut);
}

// Text as shorty keeps it for titles, notes and names: control characters
// (C0, DEL, C1) become spaces (newlines and tabs stay where allowed), then
// it is cut to `max` bytes. The text is UTF-8 already: JSON carried it.
std::string FitText(std::string_view in, size_t max, bool allow_newlines) {
  std::string out;
  out.reserve(std::min(in.size(), max + 4));
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c == 0x7f) {
      out += allow_newlines && (c == '\n' || c == '\t') ? static_cast<char>(c)
                                                        : ' ';
    } else if (c == 0xC2 && i + 1 < in.size() &&
               static_cast<unsigned char>(in[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(in[i + 1]) <= 0x9F) {
      out += ' ';  // a C1 control, U+0080..U+009F
      ++i;
    } else {
      out += static_cast<char>(c);
    }
    if (out.size() > max + 4) break;
  }
  CutUtf8(&out, max);
  return out;
}

// A tag as shorty's rules allow it (letters and digits, then also
// - _ . : /): each run of other bytes becomes '-', it starts with a letter
// or digit, and is cut to kMaxTagBytes.
std::string FitTag(std::string_view in) {
  std::string out;
  for (char c : in) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    bool punct = c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (alnum || (punct && !out.empty())) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() > kMaxTagBytes) break;
  }
  if (out.size() > kMaxTagBytes) out.resize(kMaxTagBytes);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

bool IsAllowedStatus(int status) {
  return status == 301 || status == 302 || status == 307 || status == 308;
}

bool IsKnownAction(std::string_view action) {
  for (std::string_view known :
       {"create", "edit", "expire", "disable", "enable", "delete", "import"}) {
    if (action == known) return true;
  }
  return false;
}

// A checked link, or why it is skipped.
struct Checked {
  std::string reason;  // "" when the link may be imported
  bool renamed = false;
  ImportedLink imported;
};

}  // namespace

ImportService::ImportService(Store* store, LinkService* links,
                             VisitLedger* ledger)
    : store_(store), links_(links), ledger_(ledger) {}

Result<std::vector<ImportResult>> ImportService::Import(
    const std::vector<SourceLink>& links, const std::string& actor,
    bool dry_run) {
  const ServiceOptions options = links_->options();
  const UnixTime now = links_->Now();

  auto check = [&](const SourceLink& source) {
    Checked out;
    Link& link = out.imported.link;
    if (ValidateCustomSlug(source.slug).ok()) {
      link.slug = source.slug;
    } else if (std::optional<std::string> clean = CleanSlug(source.slug)) {
      link.slug = std::move(*clean);
      out.renamed = true;
    } else {
      out.reason = "slug: " + Quoted(FitText(source.slug, 80, false)) +
                   " cannot be made into a shorty slug (letters, digits, "
                   "'-' and '_', starting with a letter or digit)";
      return out;
    }
    Result<std::string> target = NormalizeTarget(source.target, options.rules);
    if (!target.ok()) {
      out.reason = target.status().message();
      return out;
    }
    link.target = std::move(*target);
    link.title = FitText(source.title, kMaxTitleBytes, false);
    link.note = FitText(source.note, kMaxNoteBytes, true);
    for (const std::string& raw : source.tags) {
      std::string tag = FitTag(raw);
      if (!tag.empty()) link.tags.push_back(std::move(tag));
    }
    std::sort(link.tags.begin(), link.tags.end());
    link.tags.erase(std::unique(link.tags.begin(), link.tags.end()),
                    link.tags.end());
    if (link.tags.size() > kMaxTags) {
      out.reason = "tags: at most 20 tags a link; this one has " +
                   std::to_string(link.tags.size());
      return out;
    }
    link.status = source.status.value_or(options.default_status);
    if (!IsAllowedStatus(link.status)) {
      out.reason = "status: " + std::to_string(link.status) +
                   " is not a redirect status; use 301, 302, 307 or 308";
      return out;
    }
    if (source.max_visits &&
        (*source.max_visits < 1 || *source.max_visits > kMaxVisitLimit)) {
      out.reason = "max_visits: must be a whole number from 1 to 1000000000000";
      return out;
    }
    if (source.visits < 0) {
      out.reason = "visits: must not be negative";
      return out;
    }
    if (!source.password_hash.empty() &&
        !IsPasswordHash(source.password_hash)) {
      out.reason =
          "password_hash: not a password hash shorty makes (scrypt$...)";
      return out;
    }
    if (source.history.size() > kMaxHistoryEntries) {
      out.reason = "history: at most 1000 changes a link";
      return out;
    }
    for (const HistoryEntry& entry : source.history) {
      if (!IsKnownAction(entry.action)) {
        out.reason = "history: " + Quoted(FitText(entry.action, 40, false)) +
                     " is not a change shorty records";
        return out;
      }
      json changes = json::parse(entry.changes, nullptr, false);
      if (changes.is_discarded() || !changes.is_object()) {
        out.reason = "history: changes: expected a JSON object";
        return out;
      }
      HistoryEntry kept;
      kept.at = entry.at;
      kept.actor = FitText(entry.actor, kMaxCreatorBytes, false);
      kept.action = entry.action;
      kept.changes =
          changes.dump(-1, ' ', false, json::error_handler_t::replace);
      out.imported.history.push_back(std::move(kept));
    }
    link.created_at = source.created_at.value_or(now);
    link.updated_at = source.updated_at.value_or(link.created_at);
    link.created_by = FitText(source.created_by, kMaxCreatorBytes, false);
    if (link.created_by.empty()) link.created_by = actor;
    link.expires_at = source.expires_at;
    link.max_visits = source.max_visits;
    link.visits = source.visits;
    link.disabled = source.disabled;
    link.password_hash = source.password_hash;
    return out;
  };

  std::vector<ImportResult> results(links.size());
  std::vector<ImportedLink> batch;
  std::vector<size_t> batch_index;  // result index of each batch entry
  std::vector<bool> renamed(links.size(), false);
  batch.reserve(links.size());
  for (size_t i = 0; i < links.size(); ++i) {
    Checked checked = check(links[i]);
    if (!checked.reason.empty()) {
      results[i].kind = ImportResult::Kind::kSkipped;
      results[i].reason = std::move(checked.reason);
      continue;
    }
    renamed[i] = checked.renamed;
    batch_index.push_back(i);
    batch.push_back(std::move(checked.imported));
  }

  std::vector<ImportOutcome> outcomes;
  if (dry_run) {
    // What ImportLinks would say, without writing: the stored links, then
    // the batch's earlier links.
    std::unordered_map<std::string, std::string> seen;  // key -> target
    for (const ImportedLink& imported : batch) {
      const Link& link = imported.link;
      const std::string key = SlugKey(link.slug, options.case_sensitive);
      auto it = seen.find(key);
      std::optional<std::string> existing;
      if (it != seen.end()) {
        existing = it->second;
      } else {
        Result<Link> stored = store_->GetLink(link.slug);
        if (stored.ok()) {
          existing = stored->target;
        } else if (stored.status().code() != Code::kNotFound) {
          return stored.status();
        }
      }
      if (!existing) {
        seen.emplace(key, link.target);
        outcomes.push_back(ImportOutcome::kImported);
      } else {
        outcomes.push_back(*existing == link.target
                               ? ImportOutcome::kAlreadyPresent
                               : ImportOutcome::kSlugTaken);
      }
    }
  } else {
    Result<std::vector<ImportOutcome>> stored =
        store_->ImportLinks(batch, now, actor);
    if (!stored.ok()) return stored.status();
    outcomes = std::move(*stored);
  }

  for (size_t n = 0; n < batch.size(); ++n) {
    const size_t i = batch_index[n];
    const std::string& slug = batch[n].link.slug;
    ImportResult& result = results[i];
    switch (outcomes[n]) {
      case ImportOutcome::kImported:
        result.kind = renamed[i] ? ImportResult::Kind::kRenamed
                                 : ImportResult::Kind::kImported;
        if (renamed[i]) result.slug = slug;
        break;
      case ImportOutcome::kAlreadyPresent:
        result.kind = ImportResult::Kind::kAlreadyPresent;
        break;
      case ImportOutcome::kSlugTaken:
        result.kind = ImportResult::Kind::kSkipped;
        result.reason =
            "slug taken: " + Quoted(slug) +
            (renamed[i] ? " (made from " + Quoted(links[i].slug) + ")" : "") +
            " already leads somewhere else";
        break;
    }
  }
  return results;
}

Result<LinkPage> ImportService::ExportPage(const std::string& cursor,
                                           int limit) {
  Result<LinkPage> page = store_->ListAllLinks(cursor, limit);
  if (!page.ok()) return page;
  const bool case_sensitive = links_->options().case_sensitive;
  for (Link& link : page->links) {
    link.visits += ledger_->Pending(SlugKey(link.slug, case_sensitive));
  }
  return page;
}

Result<std::vector<HistoryEntry>> ImportService::History(
    const std::string& slug) {
  return store_->LinkHistory(slug, 1000);
}

Result<StoreBackup> ImportService::WriteBackup() {
  return store_->WriteBackup();
}

// --- The import API's JSON -------------------------------------------------

// The import API's JSON is written and read without building json values:
// a million links are two million objects, and building them would cost
// more than storing the links.

std::string ImportItemJson(const SourceLink& link) {
  std::string out = "{\"line\":" + std::to_string(link.line) + ",\"slug\":";
  AppendJsonString(&out, link.slug);
  out += ",\"target\":";
  AppendJsonString(&out, link.target);
  auto text = [&out](const char* key, const std::string& value) {
    if (value.empty()) return;
    out += ",\"";
    out += key;
    out += "\":";
    AppendJsonString(&out, value);
  };
  auto number = [&out](const char* key, const std::optional<int64_t>& value) {
    if (!value) return;
    out += ",\"";
    out += key;
    out += "\":";
    out += std::to_string(*value);
  };
  text("title", link.title);
  text("note", link.note);
  if (!link.tags.empty()) {
    out += ",\"tags\":[";
    for (size_t i = 0; i < link.tags.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(&out, link.tags[i]);
    }
    out += ']';
  }
  if (link.status) number("status", int64_t{*link.status});
  number("created_at", link.created_at);
  number("updated_at", link.updated_at);
  text("created_by", link.created_by);
  number("expires_at", link.expires_at);
  number("max_visits", link.max_visits);
  if (link.visits != 0) number("visits", link.visits);
  if (link.disabled) out += ",\"disabled\":true";
  text("password_hash", link.password_hash);
  if (!link.history.empty()) {
    out += ",\"history\":[";
    for (size_t i = 0; i < link.history.size(); ++i) {
      const HistoryEntry& e = link.history[i];
      if (i > 0) out += ',';
      out += "{\"at\":" + std::to_string(e.at) + ",\"actor\":";
      AppendJsonString(&out, e.actor);
      out += ",\"action\":";
      AppendJsonString(&out, e.action);
      // The changes are JSON already (an object, as the parser checked);
      // anything else goes as an empty object.
      json changes = json::parse(e.changes, nullptr, false);
      out += ",\"changes\":";
      out += changes.is_object()
                 ? changes.dump(-1, ' ', false, json::error_handler_t::replace)
                 : "{}";
      out += '}';
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string ImportBatchJson(const std::vector<std::string>& items,
                            bool dry_run) {
  size_t size = 40;
  for (const std::string& item : items) size += item.size() + 1;
  std::string body;
  body.reserve(size);
  body += dry_run ? "{\"dry_run\":true,\"links\":["
                  : "{\"dry_run\":false,"
                    "\"links\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) body += ',';
    body += items[i];
  }
  body += "]}";
  return body;
}

namespace {

// Reads an import request as the parser meets it, straight into
// SourceLinks. Stops at the first problem, which names the field.
class BatchReader : public nlohmann::json_sax<json> {
 public:
  ImportBatch batch;
  Status error;

  bool null() override {
    if (capture_depth_ > 0) return Capture("null");
    // Fields that may be null mean "unset", as if left out.
    if (Top() == kItem || Top() == kEntry) return KnownKey();
    return Wrong("a value, not null");
  }
  bool boolean(bool value) override {
    if (capture_depth_ > 0) return Capture(value ? "true" : "false");
    if (Top() == kTop && key_ == "dry_run") {
      batch.dry_run = value;
      return true;
    }
    if (Top() == kItem && key_ == "disabled") {
      Item().disabled = value;
      return true;
    }
    return Wrong(nullptr);
  }
  bool number_integer(number_integer_t value) override {
    if (capture_depth_ > 0) return Capture(std::to_string(value));
    return Integer(value);
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (capture_depth_ > 0) return Capture(std::to_string(value));
    if (value > static_cast<uint64_t>(INT64_MAX)) {
      return Wrong("a whole number");
    }
    return Integer(static_cast<int64_t>(value));
  }
  bool number_float(number_float_t, const string_t& text) override {
    if (capture_depth_ > 0) return Capture(text);
    return Wrong(nullptr);
  }
  bool string(string_t& value) override {
    if (capture_depth_ > 0) {
      Prefix();
      AppendJsonString(&capture_, value);
      return true;
    }
    switch (Top()) {
      case kTags:
        Item().tags.push_back(std::move(value));
        return true;
      case kItem: {
        SourceLink& link = Item();
        std::string* field = key_ == "slug"            ? &link.slug
                             : key_ == "target"        ? &link.target
                             : key_ == "title"         ? &link.title
                             : key_ == "note"          ? &link.note
                             : key_ == "created_by"    ? &link.created_by
                             : key_ == "password_hash" ? &link.password_hash
                                                       : nullptr;
        if (field == nullptr) return Wrong(nullptr);
        if (key_ == "slug") has_slug_ = true;
        if (key_ == "target") has_target_ = true;
        *field = std::move(value);
        return true;
      }
      case kEntry: {
        HistoryEntry& entry = Item().history.back();
        if (key_ == "actor") {
          entry.actor = std::move(value);
        } else if (key_ == "action") {
          entry.action = std::move(value);
        } else {
          return Wrong(nullptr);
        }
        return true;
      }
      default:
        return Wrong(nullptr);
    }
  }
  bool binary(binary_t&) override { return Wrong(nullptr); }

  bool start_object(std::size_t) override {
    if (capture_depth_ > 0) {
      Prefix();
      return Open('{');
    }
    switch (Top()) {
      case kNone:
        stack_.push_back(kTop);
        return true;
      case kLinks:
        if (batch.links.size() == kMaxImportBatchLinks) {
          error = Status::TooLarge("links: at most 5000 links a request");
          return false;
        }
        batch.links.emplace_back();
        has_slug_ = has_target_ = false;
        stack_.push_back(kItem);
        return true;
      case kHistory:
        Item().history.emplace_back();
        has_at_ = false;
        stack_.push_back(kEntry);
        return true;
      case kEntry:
        if (key_ != "changes") return Wrong(nullptr);
        capture_.clear();
        return Open('{');
      default:
        return Wrong(nullptr);
    }
  }
  bool key(string_t& name) override {
    if (capture_depth_ > 0) {
      if (!first_.back()) capture_ += ',';
      first_.back() = false;
      AppendJsonString(&capture_, name);
      capture_ += ':';
      after_key_ = true;
      return true;
    }
    key_ = std::move(name);
    return KnownKey();
  }
  bool end_object() override {
    if (capture_depth_ > 0) {
      capture_ += '}';
      first_.pop_back();
      if (--capture_depth_ == 0) Item().history.back().changes = capture_;
      return true;
    }
    const int done = Top();
    stack_.pop_back();
    if (done == kItem && (!has_slug_ || !has_target_)) {
      error = Status::BadRequest(Where() + ": slug and target are required");
      return false;
    }
    if (done == kEntry && (!has_at_ || Item().history.back().action.empty() ||
                           Item().history.back().changes.empty())) {
      error = Status::BadRequest(Where() +
                                 ".history: each change needs at, action "
                                 "and changes");
      return false;
    }
    if (done == kTop && !has_links_) {
      error = Status::BadRequest("links: required, an array");
      return false;
    }
    return true;
  }
  bool start_array(std::size_t) override {
    if (capture_depth_ > 0) {
      Prefix();
      first_.push_back(true);
      ++capture_depth_;
      capture_ += '[';
      return true;
    }
    if (Top() == kTop && key_ == "links") {
      has_links_ = true;
      stack_.push_back(kLinks);
    } else if (Top() == kItem && key_ == "tags") {
      stack_.push_back(kTags);
    } else if (Top() == kItem && key_ == "history") {
      stack_.push_back(kHistory);
    } else {
      return Wrong(nullptr);
    }
    return true;
  }
  bool end_array() override {
    if (capture_depth_ > 0) {
      capture_ += ']';
      first_.pop_back();
      --capture_depth_;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    if (error.ok()) error = Status::BadRequest("body: not valid JSON");
    return false;
  }

 private:
  enum Context { kNone, kTop, kLinks, kItem, kTags, kHistory, kEntry };

  int Top() const { return stack_.empty() ? kNone : stack_.back(); }
  SourceLink& Item() { return batch.links.back(); }

  std::string Where() const {
    std::string where =
        "links[" +
        std::to_string(batch.links.empty() ? 0 : batch.links.size() - 1) + "]";
    return where;
  }

  std::string Field() const {
    switch (Top()) {
      case kTop:
        return key_;
      case kItem:
      case kTags:
        return Where() + "." + key_;
      case kEntry:
      case kHistory:
        return Where() + ".history." + key_;
      case kLinks:
        return Where();
      default:
        return "body";
    }
  }

  bool KnownKey() {
    static const char* const kTopKeys[] = {"dry_run", "links"};
    static const char* const kItemKeys[] = {
        "line",       "slug",       "target",        "title",
        "note",       "tags",       "status",        "created_at",
        "updated_at", "created_by", "expires_at",    "max_visits",
        "visits",     "disabled",   "password_hash", "history"};
    static const char* const kEntryKeys[] = {"at", "actor", "action",
                                             "changes"};
    auto known = [this](const auto& keys) {
      for (const char* k : keys) {
        if (key_ == k) return true;
      }
      return false;
    };
    bool ok = Top() == kTop     ? known(kTopKeys)
              : Top() == kItem  ? known(kItemKeys)
              : Top() == kEntry ? known(kEntryKeys)
                                : false;
    if (!ok) {
      const char* list =
          Top() == kTop ? "dry_run, links"
          : Top() == kItem
              ? "line, slug, target, title, note, tags, status, created_at, "
                "updated_at, created_by, expires_at, max_visits, visits, "
                "disabled, password_hash, history"
              : "at, actor, action, changes";
      error = Status::BadRequest("unknown field '" + Field() +
                                 "'; known fields: " + list);
    }
    return ok;
  }

  bool Integer(int64_t value) {
    if (Top() == kEntry && key_ == "at") {
      Item().history.back().at = value;
      has_at_ = true;
      return true;
    }
    if (Top() != kItem) return Wrong(nullptr);
    SourceLink& link = Item();
    if (key_ == "line") {
      link.line = value;
    } else if (key_ == "status") {
      if (value < 0 || value > 999) return Wrong("an HTTP status");
      link.status = static_cast<int>(value);
    } else if (key_ == "created_at") {
      link.created_at = value;
    } else if (key_ == "updated_at") {
      link.updated_at = value;
    } else if (key_ == "expires_at") {
      link.expires_at = value;
    } else if (key_ == "max_visits") {
      link.max_visits = value;
    } else if (key_ == "visits") {
      link.visits = value;
    } else {
      return Wrong(nullptr);
    }
    return true;
  }

  // A value of the wrong type for the field being read.
  bool Wrong(const char* expected) {
    if (!error.ok()) return false;
    if (expected == nullptr) {
      if (Top() == kNone) {
        expected = "a JSON object";
      } else if (Top() == kLinks) {
        expected = "an object";
      } else if (Top() == kTags) {
        expected = "an array of strings";
      } else if (Top() == kTop && key_ == "links") {
        expected = "an array";
      } else if (Top() == kTop) {
        expected = "true or false";
      } else if (key_ == "tags") {
        expected = "an array of strings";
      } else if (key_ == "history") {
        expected = "an array of objects";
      } else if (key_ == "changes") {
        expected = "an object";
      } else if (key_ == "disabled") {
        expected = "true or false";
      } else if (key_ == "slug" || key_ == "target" || key_ == "title" ||
                 key_ == "note" || key_ == "created_by" ||
                 key_ == "password_hash" || key_ == "actor" ||
                 key_ == "action") {
        expected = "a string";
      } else if (Top() == kHistory) {
        expected = "an object";
      } else {
        expected = "a whole number";
      }
    }
    error = Status::BadRequest(Field() + ": expected " + expected);
    return false;
  }

  // The changes object of a history entry is kept as JSON text.
  bool Capture(const std::string& text) {
    Prefix();
    capture_ += text;
    return true;
  }
  void Prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) capture_ += ',';
      first_.back() = false;
    }
  }
  bool Open(char c) {
    capture_ += c;
    first_.push_back(true);
    ++capture_depth_;
    return true;
  }

  std::vector<int> stack_;
  std::string key_;
  bool has_links_ = false;
  bool has_slug_ = false;
  bool has_target_ = false;
  bool has_at_ = false;
  // Capturing a changes object: its text so far, its depth, and whether
  // each open container has had an element yet.
  std::string capture_;
  int capture_depth_ = 0;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace

Result<ImportBatch> ParseImportBatch(std::string_view body) {
  if (!JsonDepthWithin(body, kMaxBodyDepth)) {
    return Status::BadRequest("body: JSON nested deeper than 16 levels");
  }
  BatchReader reader;
  bool parsed = json::sax_parse(body, &reader);
  if (!reader.error.ok()) return reader.error;
  if (!parsed) return Status::BadRequest("body: not valid JSON");
  return std::move(reader.batch);
}

std::string ImportResultsJson(const std::vector<ImportResult>& results) {
  int64_t imported = 0, renamed = 0, present = 0, skipped = 0;
  std::string outcomes;
  outcomes.reserve(results.size());
  json details = json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    const ImportResult& r = results[i];
    switch (r.kind) {
      case ImportResult::Kind::kImported:
        ++imported;
        outcomes += 'i';
        break;
      case ImportResult::Kind::kRenamed:
        ++renamed;
        outcomes += 'r';
        details.push_back({{"index", i}, {"slug", r.slug}});
        break;
      case ImportResult::Kind::kAlreadyPresent:
        ++present;
        outcomes += 'p';
        break;
      case ImportResult::Kind::kSkipped:
        ++skipped;
        outcomes += 's';
        details.push_back({{"index", i}, {"reason", r.reason}});
        break;
    }
  }
  json j = {{"imported", imported},       {"renamed", renamed},
            {"already_present", present}, {"skipped", skipped},
            {"outcomes", outcomes},       {"details", std::move(details)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<ImportResult>> ParseImportResults(std::string_view body,
                                                     size_t expected) {
  const Status bad = Status::BadRequest(
      "the server's answer to an import is not one shorty understands; is "
      "it a shortyd of the same version?");
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("outcomes") ||
      !j["outcomes"].is_string() || !j.contains("details") ||
      !j["details"].is_array()) {
    return bad;
  }
  const std::string& letters = j["outcomes"].get_ref<const std::string&>();
  if (letters.size() != expected) return bad;
  std::vector<ImportResult> results(expected);
  for (size_t i = 0; i < expected; ++i) {
    switch (letters[i]) {
      case 'i':
        results[i].kind = ImportResult::Kind::kImported;
        break;
      case 'r':
        results[i].kind = ImportResult::Kind::kRenamed;
        break;
      case 'p':
        results[i].kind = ImportResult::Kind::kAlreadyPresent;
        break;
      case 's':
        results[i].kind = ImportResult::Kind::kSkipped;
        break;
      default:
        return bad;
    }
  }
  for (const json& d : j["details"]) {
    if (!d.is_object() || !d.contains("index") ||
        !d["index"].is_number_unsigned() ||
        d["index"].get<uint64_t>() >= expected) {
      return bad;
    }
    ImportResult& r = results[d["index"].get<size_t>()];
    if (d.contains("slug") && d["slug"].is_string()) {
      r.slug = d["slug"].get<std::string>();
    }
    if (d.contains("reason") && d["reason"].is_string()) {
      r.reason = d["reason"].get<std::string>();
    }
  }
  return results;
}

}  // namespace shorty
