// LinkService over a real SqliteStore in a temporary directory. Only the
// edges are fakes: the clock (a variable the test advances), the random
// source (a script of bytes) and the visit ledger (a map).
#include "shared/link_service.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shared/link_json.h"
#include "shared/password.h"
#include "shared/slug.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

constexpr UnixTime kStart = 1'700'000'000;

// A std::string, so doctest shows it and == compares text.
std::string CodeOf(const Status& s) { return CodeName(s.code()); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// A directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/shorty-service-test-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Plays back a script of bytes; past its end, a fixed xorshift stream, so
// unscripted slugs are deterministic and, in practice, distinct.
class ScriptedRandom : public RandomSource {
 public:
  void Script(const std::vector<uint8_t>& bytes) {
    script_.insert(script_.end(), bytes.begin(), bytes.end());
  }
  void Fill(uint8_t* buf, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      if (pos_ < script_.size()) {
        buf[i] = script_[pos_++];
      } else {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        buf[i] = static_cast<uint8_t>(state_ >> 24);
      }
    }
  }
  // Scripted bytes not yet handed out.
  size_t ScriptLeft() const { return script_.size() - pos_; }

 private:
  std::vector<uint8_t> script_;
  size_t pos_ = 0;
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

// Bytes that GenerateSlug turns into the slug whose symbols are
// kSlugAlphabet[i] for each i: one byte a symbol (all below the rejection
// limit of 216), padded to the 8 bytes it asks for at a time for length 6.
std::vector<uint8_t> SlugBytes(std::vector<uint8_t> indexes) {
  REQUIRE(indexes.size() == 6);
  indexes.push_back(0);
  indexes.push_back(0);
  return indexes;
}

class MapLedger : public VisitLedger {
 public:
  void Count(const std::string& slug_key, UnixTime hour,
             const VisitTraits& traits, bool counted) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!counted) ++counts_[slug_key];
    visits_.push_back({hour, traits, 1});
  }
  std::vector<VisitGroup> visits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return visits_;
  }
  int64_t Pending(const std::string& slug_key) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(slug_key);
    return it == counts_.end() ? 0 : it->second;
  }
  std::map<std::string, int64_t> counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> counts_;
  std::vector<VisitGroup> visits_;
};

ServiceOptions TestOptions() {
  ServiceOptions options;
  options.rules.own_hosts = {"s.example"};
  options.default_status = 307;
  options.public_url = "https://s.example";
  return options;
}

// A LinkService over a fresh SqliteStore, with the fakes in reach.
struct Fixture {
  explicit Fixture(size_t cache_entries = 0) {
    SqliteOptions options;
    options.path = dir.path() + "/links.db";
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(options);
    INFO(opened.status().message());
    REQUIRE(opened.ok());
    store = std::move(*opened);
    service = std::make_unique<LinkService>(
        store.get(), &ledger, &random, [this] { return now; }, TestOptions(),
        cache_entries);
  }

  // Creates a link that must succeed.
  Link MustCreate(LinkInput input, const std::string& actor = "alice") {
    Result<Link> link = service->Create(input, actor);
    INFO(link.status().message());
    REQUIRE(link.ok());
    return *link;
  }

  int64_t StoredLinks() {
    Result<StoreInfo> info = store->Info();
    REQUIRE(info.ok());
    return info->links;
  }

  TempDir dir;
  std::unique_ptr<SqliteStore> store;
  MapLedger ledger;
  ScriptedRandom random;
  UnixTime now = kStart;
  std::unique_ptr<LinkService> service;
};

LinkInput Input(const std::string& target,
                std::optional<std::string> slug = std::nullopt) {
  LinkInput in;
  in.target = target;
  in.slug = std::move(slug);
  return in;
}

LinkPatch Disable(bool disabled) {
  LinkPatch patch;
  patch.disabled = disabled;
  return patch;
}

TEST_CASE("Create: defaults, actor and a normalised target") {
  Fixture f;
  const Link link = f.MustCreate(Input("HTTPS://Example.COM:443"), "alice");
  CHECK(link.target == "https://example.com/");
  CHECK(link.status == 307);  // options.default_status
  CHECK(link.created_by == "alice");
  CHECK(link.created_at == kStart);
  CHECK(link.updated_at == kStart);
  CHECK(link.title.empty());
  CHECK(link.note.empty());
  CHECK(link.tags.empty());
  CHECK_FALSE(link.expires_at.has_value());
  CHECK_FALSE(link.max_visits.has_value());
  CHECK(link.visits == 0);
  CHECK_FALSE(link.disabled);
  REQUIRE(link.slug.size() == kDefaultSlugLength);
  for (char c : link.slug) {
    CHECK(kSlugAlphabet.find(c) != std::string_view::npos);
  }

  // What was stored is what was returned.
  Result<Link> stored = f.store->GetLink(link.slug);
  REQUIRE(stored.ok());
  CHECK(stored->target == "https://example.com/");
  CHECK(stored->status == 307);
  CHECK(stored->created_by == "alice");

  // An explicit status wins over the default.
  LinkInput in = Input("https://example.com/");
  in.status = 301;
  CHECK(f.MustCreate(in, "bob").status == 301);
}

TEST_CASE("Create: the target is validated") {
  Fixture f;
  struct Case {
    const char* target;
    const char* message_part;
  };
  const Case cases[] = {
      {"", "target: must be an absolute URL"},
      {"example.com/page", "target: must be an absolute URL"},
      {"ftp://example.com/", "target: scheme 'ftp' is not allowed"},
      {"javascript:alert(1)", "target: scheme 'javascript' is not allowed"},
      {"https://s.example/x", "target: points at this shortener itself"},
      {"https://user:pw@example.com/", "target: credentials"},
      {"https://example.com/a b", "target: must not contain whitespace"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.target));
    Result<Link> r = f.service->Create(Input(c.target), "alice");
    INFO(r.status().message());
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(), c.message_part));
  }
  // An escaped NUL from a JSON body is refused here, not stored.
  Result<LinkInput> parsed =
      ParseLinkInput(R"({"target":"https://example.com/\u0000"})", f.now);
  REQUIRE(parsed.ok());
  Result<Link> r = f.service->Create(*parsed, "alice");
  CHECK(CodeOf(r.status()) == "invalid_argument");
  CHECK(f.StoredLinks() == 0);
}

TEST_CASE("Create: custom slugs are validated with a message naming the rule") {
  Fixture f;
  struct Case {
    std::string slug;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"", "slug: must not be empty"},
      {"-promo", "slug: must start with a letter or digit, not '-'"},
      {"_promo", "slug: must start with a letter or digit, not '_'"},
      {"a b", "slug: ' ' is not allowed; use letters, digits, '-' and '_'"},
      {"a/b", "slug: '/' is not allowed"},
      {"a.b", "slug: '.' is not allowed"},
      {"caf\xc3\xa9", "slug: non-ASCII character '\\xC3\\xA9' is not allowed"},
      {std::string(65, 'a'), "slug: longer than 64 characters"},
  };
  for (const Case& c : cases) {
    INFO("slug: ", c.slug);
    Result<Link> r =
        f.service->Create(Input("https://example.com/", c.slug), "alice");
    INFO(r.status().message());
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(), c.message));
  }
  CHECK(f.StoredLinks() == 0);

  const Link ok = f.MustCreate(Input("https://example.com/", "Go-2_x"));
  CHECK(ok.slug == "Go-2_x");
  CHECK(f.MustCreate(Input("https://example.com/", std::string(64, 'z')))
            .slug.size() == 64);
}

TEST_CASE("Create: a taken custom slug is AlreadyExists, case folded") {
  Fixture f;
  const Link first = f.MustCreate(Input("https://one.example/", "promo"));
  for (const char* slug : {"promo", "PROMO", "Promo"}) {
    INFO(std::string(slug));
    Result<Link> r =
        f.service->Create(Input("https://two.example/", slug), "bob");
    INFO(r.status().message());
    CHECK(CodeOf(r.status()) == "already_exists");
    CHECK(Contains(r.status().message(), "taken"));
  }
  Result<Link> kept = f.service->Get("promo");
  REQUIRE(kept.ok());
  CHECK(kept->target == "https://one.example/");
  CHECK(kept->created_by == "alice");
  CHECK(f.StoredLinks() == 1);
}

TEST_CASE("Create: a generated slug that collides is retried") {
  Fixture f;
  // ABCDEF for the first link; ABCDEF again, then GHJKMN, for the second.
  f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));
  f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));
  f.random.Script(SlugBytes({6, 7, 8, 9, 10, 11}));
  const Link first = f.MustCreate(Input("https://one.example/"));
  CHECK(first.slug == "ABCDEF");
  const Link second = f.MustCreate(Input("https://two.example/"));
  CHECK(second.slug == "GHJKMN");
  CHECK(f.random.ScriptLeft() == 0);
  CHECK(f.StoredLinks() == 2);
  Result<Link> kept = f.service->Get("ABCDEF");
  REQUIRE(kept.ok());
  CHECK(kept->target == "https://one.example/");
}

TEST_CASE("Create: a generated slug collides with a custom one, case folded") {
  Fixture f;
  f.MustCreate(Input("https://one.example/", "abcdef"));
  f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));        // ABCDEF: taken
  f.random.Script(SlugBytes({23, 24, 25, 26, 27, 28}));  // abcdef: taken
  f.random.Script(SlugBytes({46, 47, 48, 49, 50, 51}));  // 234567
  const Link link = f.MustCreate(Input("https://two.example/"));
  CHECK(link.slug == "234567");
  CHECK(f.random.ScriptLeft() == 0);
}

TEST_CASE("Create: gives up after 12 collisions, then lengthens slugs") {
  Fixture f;
  for (int i = 0; i < 13; ++i) f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));
  CHECK(f.MustCreate(Input("https://one.example/")).slug == "ABCDEF");
  Result<Link> r = f.service->Create(Input("https://two.example/"), "alice");
  INFO(r.status().message());
  CHECK(CodeOf(r.status()) == "unavailable");
  CHECK(Contains(r.status().message(), "no free slug found after 12 tries"));
  CHECK(f.random.ScriptLeft() == 0);
  CHECK(f.StoredLinks() == 1);
  // Twelve collisions in one create lengthen the generated slugs.
  CHECK(f.MustCreate(Input("https://three.example/")).slug.size() ==
        kDefaultSlugLength + 1);
}

TEST_CASE("Create refuses an expiry not in the future; Update allows it") {
  Fixture f;
  for (UnixTime t : {kStart - 86400, kStart - 1, kStart}) {
    INFO(t);
    LinkInput in = Input("https://example.com/");
    in.expires_at = t;
    Result<Link> r = f.service->Create(in, "alice");
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(), "expires_at: "));
    CHECK(Contains(r.status().message(), "is not in the future"));
  }
  CHECK(f.StoredLinks() == 0);

  LinkInput in = Input("https://example.com/", "soon");
  in.expires_at = kStart + 1;
  CHECK(f.MustCreate(in).expires_at == std::optional<UnixTime>(kStart + 1));

  LinkPatch patch;
  patch.expires_at = std::optional<UnixTime>(kStart - 3600);
  Result<Link> updated = f.service->Update("soon", patch, "tester");
  INFO(updated.status().message());
  REQUIRE(updated.ok());
  CHECK(updated->expires_at == std::optional<UnixTime>(kStart - 3600));
  Result<RedirectOutcome> out = f.service->Resolve("soon", "", "", true);
  REQUIRE(out.ok());
  CHECK(out->verdict == Verdict::kExpired);
}

struct TextCase {
  const char* name;
  std::string title;
  std::string note;
  const char* error;  // nullptr when accepted
};

std::vector<TextCase> TextCases() {
  return {
      {"plain", "Hello", "World", nullptr},
      {"UTF-8", "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x94\x97", "\xe6\x97\xa5",
       nullptr},
      {"note with newline and tab", "t", "line one\nline two\tend", nullptr},
      {"title of 300 bytes", std::string(300, 't'), "", nullptr},
      {"note of 2000 bytes", "", std::string(2000, 'n'), nullptr},
      {"title with newline", "a\nb", "", "title: must be UTF-8 text"},
      {"title with tab", "a\tb", "", "title: must be UTF-8 text"},
      {"title with control char",
       "a\x01"
       "b",
       "", "title: must be UTF-8 text"},
      {"title with escape", "\x1b[2J", "", "title: must be UTF-8 text"},
      {"title with DEL", "a\x7f", "", "title: must be UTF-8 text"},
      {"title with NUL", std::string("a\0b", 3), "", "title: must be UTF-8"},
      {"title with C1 control", "a\xc2\x85", "", "title: must be UTF-8 text"},
      {"title invalid byte", "caf\xff", "", "title: must be UTF-8 text"},
      {"title lone continuation", "\x80", "", "title: must be UTF-8 text"},
      {"title truncated sequence", "\xe2\x82", "", "title: must be UTF-8"},
      {"title overlong", "\xc0\xaf", "", "title: must be UTF-8 text"},
      {"title surrogate", "\xed\xa0\x80", "", "title: must be UTF-8 text"},
      {"title past U+10FFFF", "\xf4\x90\x80\x80", "", "title: must be UTF-8"},
      {"title of 301 bytes", std::string(301, 't'), "",
       "title: longer than 300 bytes"},
      {"note with carriage return", "", "a\r\nb", "note: must be UTF-8 text"},
      {"note with control char", "", "a\x02", "note: must be UTF-8 text"},
      {"note invalid UTF-8", "", "\xfe", "note: must be UTF-8 text"},
      {"note of 2001 bytes", "", std::string(2001, 'n'),
       "note: longer than 2000 bytes"},
  };
}

TEST_CASE("Create and Update: title and note rules") {
  Fixture f;
  const Link base = f.MustCreate(Input("https://example.com/", "base"));
  for (const TextCase& c : TextCases()) {
    INFO("case: ", std::string(c.name));
    LinkInput in = Input("https://example.com/");
    in.title = c.title;
    in.note = c.note;
    Result<Link> created = f.service->Create(in, "alice");
    INFO("create: ", created.status().message());
    LinkPatch patch;
    patch.title = c.title;
    patch.note = c.note;
    Result<Link> updated = f.service->Update("base", patch, "tester");
    INFO("update: ", updated.status().message());
    if (c.error == nullptr) {
      REQUIRE(created.ok());
      CHECK(created->title == c.title);
      CHECK(created->note == c.note);
      REQUIRE(updated.ok());
      CHECK(updated->title == c.title);
      CHECK(updated->note == c.note);
    } else {
      CHECK(CodeOf(created.status()) == "invalid_argument");
      CHECK(Contains(created.status().message(), c.error));
      CHECK(CodeOf(updated.status()) == "invalid_argument");
      CHECK(Contains(updated.status().message(), c.error));
    }
  }
  // A refused update changed nothing.
  LinkPatch bad;
  bad.title = "x\x01";
  bad.note = "kept?";
  REQUIRE_FALSE(f.service->Update("base", bad, "tester").ok());
  Result<Link> now = f.service->Get("base");
  REQUIRE(now.ok());
  CHECK(now->note != "kept?");
}

TEST_CASE("Create and Update: tags are validated, sorted and de-duplicated") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "base"));
  struct Case {
    const char* name;
    std::vector<std::string> tags;
    std::vector<std::string> want;  // when accepted
    const char* error;              // nullptr when accepted
  };
  std::vector<std::string> twenty;
  for (int i = 0; i < 20; ++i) twenty.push_back("t" + std::to_string(i + 10));
  std::vector<std::string> twenty_one = twenty;
  twenty_one.push_back("t99");
  std::vector<std::string> twenty_with_dups = twenty;
  twenty_with_dups.insert(twenty_with_dups.end(), twenty.begin(), twenty.end());
  std::vector<std::string> twenty_sorted = twenty;  // "t10".."t29" sort as is
  const std::vector<Case> cases = {
      {"none", {}, {}, nullptr},
      {"sorted and unique",
       {"work", "b", "a", "b", "work"},
       {"a", "b", "work"},
       nullptr},
      {"punctuation after the first",
       {"a-b_c.d:e/f", "Z9"},
       {"Z9", "a-b_c.d:e/f"},
       nullptr},
      {"50 bytes", {std::string(50, 'x')}, {std::string(50, 'x')}, nullptr},
      {"20 tags", twenty, twenty_sorted, nullptr},
      {"20 distinct among 40", twenty_with_dups, twenty_sorted, nullptr},
      {"21 tags", twenty_one, {}, "tags: at most 20 tags a link"},
      {"empty tag", {"a", ""}, {}, "tags: a tag cannot be empty"},
      {"51 bytes", {std::string(51, 'x')}, {}, "is longer than 50 bytes"},
      {"leading dash", {"-a"}, {}, "tags: a tag is letters and digits"},
      {"space", {"a b"}, {}, "'a b' is not"},
      {"comma", {"a,b"}, {}, "'a,b' is not"},
      {"non-ASCII", {"caf\xc3\xa9"}, {}, "tags: a tag is letters and digits"},
      {"control char", {"a\nb"}, {}, "'(unprintable)' is not"},
  };
  for (const Case& c : cases) {
    INFO("case: ", std::string(c.name));
    LinkInput in = Input("https://example.com/");
    in.tags = c.tags;
    Result<Link> created = f.service->Create(in, "alice");
    INFO("create: ", created.status().message());
    LinkPatch patch;
    patch.tags = c.tags;
    Result<Link> updated = f.service->Update("base", patch, "tester");
    INFO("update: ", updated.status().message());
    if (c.error == nullptr) {
      REQUIRE(created.ok());
      CHECK(created->tags == c.want);
      REQUIRE(updated.ok());
      CHECK(updated->tags == c.want);
      Result<Link> stored = f.store->GetLink(created->slug);
      REQUIRE(stored.ok());
      CHECK(stored->tags == c.want);
    } else {
      CHECK(CodeOf(created.status()) == "invalid_argument");
      CHECK(Contains(created.status().message(), c.error));
      CHECK(CodeOf(updated.status()) == "invalid_argument");
      CHECK(Contains(updated.status().message(), c.error));
    }
  }
}

TEST_CASE("Create: error messages quote a long tag safely") {
  // Messages travel in JSON error bodies and are printed in terminals: a
  // quoted prefix of the tag must stay valid UTF-8 and hold no control
  // characters.
  Fixture f;
  struct Case {
    const char* name;
    std::string tag;
  };
  std::string accents = "a";
  for (int i = 0; i < 30; ++i) accents += "\xc3\xa9";  // 'é', cut at byte 20
  const Case cases[] = {
      {"multi-byte characters", accents},
      {"escape sequences", std::string(60, '\x1b')},
      {"line breaks", "a" + std::string(60, '\n')},
  };
  for (const Case& c : cases) {
    INFO("case: ", std::string(c.name));
    LinkInput in = Input("https://example.com/");
    in.tags = {c.tag};
    Result<Link> r = f.service->Create(in, "alice");
    REQUIRE(CodeOf(r.status()) == "invalid_argument");
    const std::string& m = r.status().message();
    INFO("message: ", m);
    CHECK(IsValidUtf8(m));
    bool has_control = false;
    for (unsigned char ch : m) has_control |= ch < 0x20 || ch == 0x7f;
    CHECK_FALSE(has_control);
    std::string body;
    CHECK_NOTHROW(body = ErrorBody(r.status()));
    CHECK(CodeOf(StatusFromErrorBody(400, body)) == "invalid_argument");
  }
}

TEST_CASE("Create and Update: status and max_visits rules") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "base"));
  for (int status : {0, 200, 300, 303, 304, 404, 999, -1}) {
    INFO(status);
    LinkInput in = Input("https://example.com/");
    in.status = status;
    Result<Link> r = f.service->Create(in, "alice");
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(), "status: " + std::to_string(status) +
                                             " is not a redirect status"));
    LinkPatch patch;
    patch.status = status;
    CHECK(CodeOf(f.service->Update("base", patch, "tester").status()) ==
          "invalid_argument");
  }
  for (int status : {301, 302, 307, 308}) {
    INFO(status);
    LinkInput in = Input("https://example.com/");
    in.status = status;
    CHECK(f.MustCreate(in).status == status);
  }
  for (int64_t max : {int64_t{0}, int64_t{-1}, kMaxVisitLimit + 1, INT64_MAX}) {
    INFO(max);
    LinkInput in = Input("https://example.com/");
    in.max_visits = max;
    Result<Link> r = f.service->Create(in, "alice");
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(),
                   "max_visits: must be a whole number from 1 to "
                   "1000000000000"));
    LinkPatch patch;
    patch.max_visits = std::optional<int64_t>(max);
    CHECK(CodeOf(f.service->Update("base", patch, "tester").status()) ==
          "invalid_argument");
  }
  for (int64_t max : {int64_t{1}, kMaxVisitLimit}) {
    INFO(max);
    LinkInput in = Input("https://example.com/");
    in.max_visits = max;
    CHECK(f.MustCreate(in).max_visits == std::optional<int64_t>(max));
  }
}

TEST_CASE("Update: an empty patch is refused") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "base"));
  Result<Link> r = f.service->Update("base", LinkPatch(), "tester");
  CHECK(CodeOf(r.status()) == "invalid_argument");
  CHECK(Contains(r.status().message(), "nothing to change"));
  // Refused before the store is asked: also for a slug that does not exist.
  CHECK(CodeOf(f.service->Update("nope", LinkPatch(), "tester").status()) ==
        "invalid_argument");
}

TEST_CASE("Update: the target is validated and normalised again") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "base"));
  f.now = kStart + 100;
  struct Case {
    const char* target;
    const char* error;
  };
  const Case bad[] = {
      {"ftp://example.com/", "target: scheme 'ftp' is not allowed"},
      {"https://s.example/loop", "target: points at this shortener itself"},
      {"not a url", "target: must not contain whitespace"},
      {"/relative", "target: must be an absolute URL"},
  };
  for (const Case& c : bad) {
    INFO(std::string(c.target));
    LinkPatch patch;
    patch.target = c.target;
    Result<Link> r = f.service->Update("base", patch, "tester");
    INFO(r.status().message());
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(Contains(r.status().message(), c.error));
  }
  Result<Link> unchanged = f.service->Get("base");
  REQUIRE(unchanged.ok());
  CHECK(unchanged->target == "https://example.com/");
  CHECK(unchanged->updated_at == kStart);

  LinkPatch patch;
  patch.target = "HTTP://New.Example:80";
  Result<Link> r = f.service->Update("base", patch, "tester");
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->target == "http://new.example/");
  CHECK(r->created_at == kStart);
  CHECK(r->updated_at == kStart + 100);
  Result<Link> stored = f.store->GetLink("base");
  REQUIRE(stored.ok());
  CHECK(stored->target == "http://new.example/");
}

TEST_CASE("Update: clearing the expiry and the visit limit") {
  Fixture f;
  LinkInput in = Input("https://example.com/", "base");
  in.expires_at = kStart + 60;
  in.max_visits = 1;
  f.MustCreate(in);
  LinkPatch patch;
  patch.expires_at = std::optional<UnixTime>();
  patch.max_visits = std::optional<int64_t>();
  Result<Link> r = f.service->Update("base", patch, "tester");
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK_FALSE(r->expires_at.has_value());
  CHECK_FALSE(r->max_visits.has_value());
  f.now = kStart + 3600;
  for (int i = 0; i < 3; ++i) {
    Result<RedirectOutcome> out = f.service->Resolve("base", "", "", true);
    REQUIRE(out.ok());
    CHECK(out->verdict == Verdict::kRedirect);
  }
}

TEST_CASE("Update and Delete: an unknown slug is NotFound") {
  Fixture f;
  CHECK(CodeOf(f.service->Update("nope", Disable(true), "tester").status()) ==
        "not_found");
  f.MustCreate(Input("https://example.com/", "gone"));
  CHECK(f.service->Delete("GONE", "tester").ok());
  CHECK(CodeOf(f.service->Get("gone").status()) == "not_found");
  CHECK(CodeOf(f.service->Delete("gone", "tester")) == "not_found");
}

TEST_CASE("Resolve: an unknown slug is NotFound") {
  Fixture f;
  Result<RedirectOutcome> r = f.service->Resolve("nope", "", "", true);
  CHECK(CodeOf(r.status()) == "not_found");
  CHECK(f.ledger.counts().empty());
}

TEST_CASE("Resolve: redirect with extra path and query") {
  Fixture f;
  LinkInput in = Input("https://example.com/docs?lang=en", "docs");
  in.status = 308;
  f.MustCreate(in);
  LinkInput search = Input("https://example.com/search?q={path}", "s");
  f.MustCreate(search);
  struct Case {
    const char* slug;
    const char* extra;
    const char* query;
    const char* location;
  };
  const Case cases[] = {
      {"docs", "", "", "https://example.com/docs?lang=en"},
      {"docs", "a/b", "", "https://example.com/docs/a/b?lang=en"},
      {"docs", "", "x=1", "https://example.com/docs?lang=en&x=1"},
      {"docs", "a/b", "x=1&y=2",
       "https://example.com/docs/a/b?lang=en&x=1&y=2"},
      {"DOCS", "two%20words", "",
       "https://example.com/docs/two%20words?lang=en"},
      {"s", "hello", "", "https://example.com/search?q=hello"},
      {"s", "", "", "https://example.com/search?q="},
  };
  for (const Case& c : cases) {
    INFO((std::string(c.slug) + " /" + c.extra + " ?" + c.query));
    Result<RedirectOutcome> r =
        f.service->Resolve(c.slug, c.extra, c.query, false);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kRedirect);
    CHECK(r->location == c.location);
  }
  Result<RedirectOutcome> r = f.service->Resolve("docs", "", "", false);
  REQUIRE(r.ok());
  CHECK(r->status == 308);
  r = f.service->Resolve("s", "", "", false);
  REQUIRE(r.ok());
  CHECK(r->status == 307);  // the default at create time
}

TEST_CASE("Resolve through the cache: hits, and every write seen at once") {
  Fixture f(/*cache_entries=*/100);
  f.MustCreate(Input("https://one.example/", "Docs"));
  auto location = [&](const char* slug) {
    Result<RedirectOutcome> r = f.service->Resolve(slug, "", "", true);
    INFO(r.status().message());
    REQUIRE(r.ok());
    return r->verdict == Verdict::kRedirect ? r->location
                                            : VerdictReason(r->verdict);
  };
  CHECK(location("docs") == "https://one.example/");
  CHECK(location("DOCS") == "https://one.example/");  // one entry, folded
  CacheFigures figures = f.service->redirect_cache()->Figures();
  CHECK(figures.misses == 1);
  CHECK(figures.hits == 1);
  CHECK(figures.entries == 1);

  LinkPatch retarget;
  retarget.target = "https://two.example/";
  REQUIRE(f.service->Update("docs", retarget, "alice").ok());
  CHECK(location("docs") == "https://two.example/");
  REQUIRE(f.service->Update("docs", Disable(true), "alice").ok());
  CHECK(location("docs") == std::string("disabled"));
  REQUIRE(f.service->Update("docs", Disable(false), "alice").ok());
  CHECK(location("docs") == "https://two.example/");
  LinkPatch expire;
  expire.expires_at = std::optional<UnixTime>(f.now);
  REQUIRE(f.service->Update("docs", expire, "alice").ok());
  CHECK(location("docs") == std::string("expired"));
  REQUIRE(f.service->Delete("docs", "alice").ok());
  CHECK(CodeOf(f.service->Resolve("docs", "", "", true).status()) ==
        "not_found");
  f.MustCreate(Input("https://three.example/", "docs"));
  CHECK(location("docs") == "https://three.example/");
}

TEST_CASE("Resolve through the cache: a visit limit holds exactly") {
  Fixture f(/*cache_entries=*/100);
  LinkInput in = Input("https://limited.example/", "twice");
  in.max_visits = 2;
  f.MustCreate(in);
  std::vector<Verdict> verdicts;
  for (int i = 0; i < 4; ++i) {
    Result<RedirectOutcome> r = f.service->Resolve("twice", "", "", true);
    REQUIRE(r.ok());
    verdicts.push_back(r->verdict);
  }
  CHECK(verdicts == std::vector<Verdict>{Verdict::kRedirect, Verdict::kRedirect,
                                         Verdict::kUsedUp, Verdict::kUsedUp});
  // Never kept: its count changes with every visit, in the store.
  CHECK(f.service->redirect_cache()->Figures().hits == 0);
  CHECK(f.service->redirect_cache()->Figures().entries == 0);
}

TEST_CASE("Resolve: a hostile extra path is InvalidArgument and not counted") {
  Fixture f;
  f.MustCreate(Input("https://example.com/base/", "open"));
  LinkInput limited = Input("https://example.com/base/", "once");
  limited.max_visits = 1;
  f.MustCreate(limited);
  for (const char* extra :
       {"..", "../admin", "a/../../b", "%2e%2E", "a/.", "a%2F..%2Fb", "a\\b",
        "a b", "a%0d%0aX: y", "a?b", "%zz"}) {
    for (const char* slug : {"open", "once"}) {
      INFO((std::string(slug) + " /" + extra));
      Result<RedirectOutcome> r = f.service->Resolve(slug, extra, "", true);
      INFO(r.status().message());
      CHECK(CodeOf(r.status()) == "invalid_argument");
      CHECK(Contains(r.status().message(), "path: "));
    }
  }
  CHECK(f.ledger.counts().empty());
  Result<Link> once = f.store->GetLink("once");
  REQUIRE(once.ok());
  CHECK(once->visits == 0);
  Result<RedirectOutcome> r = f.service->Resolve("once", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
}

TEST_CASE("Resolve: expired once the clock reaches expires_at") {
  Fixture f;
  LinkInput in = Input("https://example.com/", "temp");
  in.expires_at = kStart + 60;
  f.MustCreate(in);
  f.now = kStart + 59;
  Result<RedirectOutcome> r = f.service->Resolve("temp", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
  CHECK(r->location == "https://example.com/");
  for (UnixTime t : {kStart + 60, kStart + 61, kStart + 86400 * 365}) {
    INFO(t);
    f.now = t;
    r = f.service->Resolve("temp", "x", "y=1", true);
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kExpired);
    CHECK(r->location.empty());
  }
  // Only the one redirect was counted.
  CHECK(f.ledger.Pending("temp") == 1);
  Result<Link> link = f.service->Get("temp");
  REQUIRE(link.ok());
  CHECK(f.service->StateOf(*link) == Verdict::kExpired);
}

TEST_CASE("Resolve: a disabled link is kDisabled and not counted") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "off"));
  REQUIRE(f.service->Update("off", Disable(true), "tester").ok());
  Result<RedirectOutcome> r = f.service->Resolve("off", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kDisabled);
  CHECK(r->location.empty());
  // The verdict comes before the extra path is looked at.
  r = f.service->Resolve("off", "..", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kDisabled);
  CHECK(f.ledger.counts().empty());

  REQUIRE(f.service->Update("off", Disable(false), "tester").ok());
  r = f.service->Resolve("off", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
  CHECK(f.ledger.Pending("off") == 1);
}

TEST_CASE("Resolve: a visit limit holds exactly") {
  Fixture f;
  LinkInput in = Input("https://example.com/", "three");
  in.max_visits = 3;
  f.MustCreate(in);

  // Not counting consumes nothing.
  for (int i = 0; i < 5; ++i) {
    Result<RedirectOutcome> r = f.service->Resolve("three", "", "", false);
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kRedirect);
  }
  Result<Link> link = f.service->Get("three");
  REQUIRE(link.ok());
  CHECK(link->visits == 0);

  for (int i = 1; i <= 3; ++i) {
    INFO("visit ", i);
    Result<RedirectOutcome> r = f.service->Resolve("three", "p", "q=1", true);
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kRedirect);
    CHECK(r->location == "https://example.com/p?q=1");
    Result<Link> stored = f.store->GetLink("three");
    REQUIRE(stored.ok());
    CHECK(stored->visits == i);  // counted in the store at once
  }
  for (bool count : {true, false, true}) {
    Result<RedirectOutcome> r = f.service->Resolve("three", "", "", count);
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kUsedUp);
    CHECK(r->location.empty());
  }
  link = f.service->Get("three");
  REQUIRE(link.ok());
  CHECK(link->visits == 3);
  CHECK(f.service->StateOf(*link) == Verdict::kUsedUp);
  // Limited links never go through the ledger.
  CHECK(f.ledger.counts().empty());

  // Raising the limit lets exactly one more through.
  LinkPatch more;
  more.max_visits = std::optional<int64_t>(4);
  REQUIRE(f.service->Update("three", more, "tester").ok());
  Result<RedirectOutcome> r = f.service->Resolve("three", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
  r = f.service->Resolve("three", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kUsedUp);
}

TEST_CASE("Resolve: an unlimited link is counted in the ledger by folded key") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "Promo"));
  for (const char* slug : {"Promo", "PROMO", "promo"}) {
    Result<RedirectOutcome> r = f.service->Resolve(slug, "", "", true);
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kRedirect);
  }
  Result<RedirectOutcome> r = f.service->Resolve("promo", "", "", false);
  REQUIRE(r.ok());
  CHECK(f.ledger.counts() == std::map<std::string, int64_t>{{"promo", 3}});
  // The store is untouched until the ledger is flushed.
  Result<Link> stored = f.store->GetLink("promo");
  REQUIRE(stored.ok());
  CHECK(stored->visits == 0);
  Result<Link> got = f.service->Get("PROMO");
  REQUIRE(got.ok());
  CHECK(got->visits == 3);
}

TEST_CASE("Resolve: a stored target the rules now refuse is not served") {
  Fixture f;
  f.MustCreate(Input("https://go.example/x", "loop"));
  LinkInput limited = Input("https://go.example/y", "limited");
  limited.max_visits = 5;
  f.MustCreate(limited);
  f.MustCreate(Input("https://other.example/", "fine"));

  ServiceOptions options = TestOptions();
  options.rules.own_hosts.push_back("go.example");
  f.service->SetOptions(options);

  for (const char* slug : {"loop", "limited"}) {
    INFO(std::string(slug));
    Result<RedirectOutcome> r = f.service->Resolve(slug, "", "", true);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->verdict == Verdict::kDisabled);
    CHECK(r->location.empty());
    // With an extra path or a query it is not served either.
    const std::pair<const char*, const char*> requests[] = {{"a", ""},
                                                            {"", "q=1"}};
    for (const auto& [extra, query] : requests) {
      INFO((std::string("/") + extra + " ?" + query));
      Result<RedirectOutcome> with =
          f.service->Resolve(slug, extra, query, true);
      CHECK((!with.ok() || with->verdict != Verdict::kRedirect));
      if (with.ok()) CHECK(with->location.empty());
    }
  }
  CHECK(f.ledger.counts().empty());
  Result<Link> stored = f.store->GetLink("limited");
  REQUIRE(stored.ok());
  CHECK(stored->visits == 0);

  Result<RedirectOutcome> r = f.service->Resolve("fine", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);

  // A scheme dropped from the rules takes its links out of service too.
  f.MustCreate(Input("http://plain.example/", "plain"));
  options.rules.schemes = {"https"};
  f.service->SetOptions(options);
  r = f.service->Resolve("plain", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kDisabled);
}

// --- Passwords ---------------------------------------------------------------

LinkInput Protected(const std::string& target, const std::string& slug,
                    const std::string& password) {
  LinkInput in = Input(target, slug);
  in.password = password;
  return in;
}

TEST_CASE("Create: a password is stored as a hash that verifies") {
  Fixture f;
  Link link = f.MustCreate(
      Protected("https://example.com/secret", "locked", "open sesame"));
  CHECK(link.password_hash.rfind("scrypt$15$8$1$", 0) == 0);
  CHECK(link.password_hash.find("open sesame") == std::string::npos);
  CHECK(VerifyPassword("open sesame", link.password_hash));
  Result<Link> stored = f.store->GetLink("locked");
  REQUIRE(stored.ok());
  CHECK(stored->password_hash == link.password_hash);
  // No password: none stored.
  CHECK(f.MustCreate(Input("https://example.com/", "open"))
            .password_hash.empty());
}

TEST_CASE(
    "Create: a password too short or too long is refused, nothing stored") {
  Fixture f;
  for (const std::string& password :
       {std::string(), std::string("1234567"), std::string(1025, 'p')}) {
    CAPTURE(password.size());
    Result<Link> r = f.service->Create(
        Protected("https://example.com/", "pw", password), "alice");
    REQUIRE_FALSE(r.ok());
    CHECK(CodeOf(r.status()) == "invalid_argument");
    CHECK(r.status().message().rfind("password: ", 0) == 0);
  }
  CHECK(f.StoredLinks() == 0);
}

TEST_CASE("Resolve: a protected link is locked: no location, nothing counted") {
  Fixture f;
  LinkInput limited =
      Protected("https://example.com/l", "limited", "password1");
  limited.max_visits = 5;
  f.MustCreate(limited);
  f.MustCreate(Protected("https://example.com/u", "unlimited", "password1"));
  for (const char* slug : {"limited", "UNLIMITED"}) {
    CAPTURE(slug);
    for (bool count : {true, false}) {
      Result<RedirectOutcome> r = f.service->Resolve(slug, "a", "b=1", count);
      REQUIRE(r.ok());
      CHECK(r->verdict == Verdict::kRedirect);
      CHECK(r->locked);
      CHECK(r->location.empty());
    }
  }
  CHECK(f.ledger.counts().empty());
  CHECK(f.store->GetLink("limited")->visits == 0);

  // A gone link says so, password or not.
  LinkPatch off;
  off.disabled = true;
  REQUIRE(f.service->Update("unlimited", off, "tester").ok());
  Result<RedirectOutcome> r = f.service->Resolve("unlimited", "", "", true);
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kDisabled);
  CHECK_FALSE(r->locked);
}

TEST_CASE("Unlock: the right password redirects and counts once") {
  Fixture f;
  f.MustCreate(
      Protected("https://example.com/docs?lang=en", "Docs", "correct horse"));
  LinkInput limited =
      Protected("https://example.com/", "once", "correct horse");
  limited.max_visits = 1;
  f.MustCreate(limited);

  for (const char* wrong : {"", "correct hors", "Correct horse",
                            "correct horse ", "wrong password"}) {
    CAPTURE(wrong);
    Result<RedirectOutcome> r = f.service->Unlock("docs", "a", "x=1", wrong);
    REQUIRE_FALSE(r.ok());
    CHECK(CodeOf(r.status()) == "unauthorized");
    CHECK(r.status().message().rfind("password: ", 0) == 0);
  }
  CHECK(f.ledger.counts().empty());

  Result<RedirectOutcome> r =
      f.service->Unlock("DOCS", "a/b", "x=1", "correct horse");
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
  CHECK_FALSE(r->locked);
  CHECK(r->status == 307);
  CHECK(r->location == "https://example.com/docs/a/b?lang=en&x=1");
  CHECK(f.ledger.counts() == std::map<std::string, int64_t>{{"docs", 1}});

  // A hostile extra path is refused after the password, and not counted.
  r = f.service->Unlock("docs", "../x", "", "correct horse");
  REQUIRE_FALSE(r.ok());
  CHECK(CodeOf(r.status()) == "invalid_argument");
  CHECK(f.ledger.counts() == std::map<std::string, int64_t>{{"docs", 1}});

  // A visit limit holds for unlocked visits too; a used-up link is gone
  // before any password is checked.
  r = f.service->Unlock("once", "", "", "correct horse");
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kRedirect);
  r = f.service->Unlock("once", "", "", "correct horse");
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kUsedUp);
  r = f.service->Unlock("once", "", "", "wrong password");
  REQUIRE(r.ok());
  CHECK(r->verdict == Verdict::kUsedUp);
  CHECK(f.store->GetLink("once")->visits == 1);

  CHECK(CodeOf(f.service->Unlock("nope", "", "", "x").status()) == "not_found");
}

TEST_CASE("Unlock: a link without a password resolves whatever is given") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "open"));
  Result<RedirectOutcome> r = f.service->Unlock("open", "", "", "anything");
  REQUIRE(r.ok());
  CHECK(r->location == "https://example.com/");
  CHECK(f.ledger.counts() == std::map<std::string, int64_t>{{"open", 1}});
}

TEST_CASE("Update: a password is set, replaced and removed") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "pw"));
  LinkEdit set;
  set.password = "first password";
  Result<Link> r = f.service->Update("pw", set, "bob");
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(VerifyPassword("first password", r->password_hash));
  const std::string first_hash = r->password_hash;

  LinkEdit replace;
  replace.password = "second password";
  replace.patch.title = "with title";
  r = f.service->Update("pw", replace, "bob");
  REQUIRE(r.ok());
  CHECK(r->title == "with title");
  CHECK(r->password_hash != first_hash);
  CHECK(VerifyPassword("second password", r->password_hash));
  CHECK_FALSE(VerifyPassword("first password", r->password_hash));

  LinkEdit remove;
  remove.password = "";
  r = f.service->Update("pw", remove, "bob");
  REQUIRE(r.ok());
  CHECK(r->password_hash.empty());
  CHECK_FALSE(f.service->Resolve("pw", "", "", false)->locked);

  Result<std::vector<HistoryEntry>> history = f.service->History("pw", 10);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 4);
  for (const HistoryEntry& e : *history) {
    CHECK(e.changes.find("scrypt") == std::string::npos);
  }
}

TEST_CASE("Update: password rules; a hash cannot be set directly") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "pw"));
  LinkEdit shorter;
  shorter.password = "short";
  Result<Link> r = f.service->Update("pw", shorter, "bob");
  REQUIRE_FALSE(r.ok());
  CHECK(CodeOf(r.status()) == "invalid_argument");
  CHECK(r.status().message().rfind("password: ", 0) == 0);

  LinkPatch direct;
  direct.password_hash = std::string("scrypt$15$8$1$x$y");
  r = f.service->Update("pw", direct, "bob");
  REQUIRE_FALSE(r.ok());
  CHECK(CodeOf(r.status()) == "invalid_argument");
  CHECK(f.store->GetLink("pw")->password_hash.empty());

  CHECK(CodeOf(f.service->Update("pw", LinkEdit(), "bob").status()) ==
        "invalid_argument");
}

// --- Idempotency keys
// ----------------------------------------------------------

TEST_CASE("ValidateIdempotencyKey: 1 to 128 of [A-Za-z0-9_-]") {
  for (const std::string& good :
       {std::string("a"), std::string("A-z_09"), std::string(128, 'k'),
        std::string("0123456789abcdef0123456789abcdef")}) {
    CAPTURE(good);
    CHECK(ValidateIdempotencyKey(good).ok());
  }
  for (const std::string& bad :
       {std::string(), std::string(129, 'k'), std::string("a b"),
        std::string("a.b"), std::string("key\n"), std::string("k\xc3\xa9"),
        std::string("a/b"), std::string("a+b=")}) {
    CAPTURE(bad);
    Status s = ValidateIdempotencyKey(bad);
    CHECK(CodeOf(s) == "bad_request");
    CHECK(s.message().rfind("Idempotency-Key: ", 0) == 0);
  }
}

TEST_CASE("CreateOnce: a repeated key gets the first link") {
  Fixture f;
  Result<CreatedLink> first =
      f.service->CreateOnce(Input("https://example.com/a"), "alice", "key-1");
  INFO(first.status().message());
  REQUIRE(first.ok());
  CHECK_FALSE(first->replayed);
  f.now += 10;
  Result<CreatedLink> again =
      f.service->CreateOnce(Input("https://example.com/a"), "alice", "key-1");
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->link.slug == first->link.slug);
  CHECK(f.StoredLinks() == 1);
  Result<CreatedLink> other =
      f.service->CreateOnce(Input("https://example.com/a"), "alice", "key-2");
  REQUIRE(other.ok());
  CHECK_FALSE(other->replayed);
  CHECK(other->link.slug != first->link.slug);
  CHECK(f.StoredLinks() == 2);

  // A malformed key creates nothing.
  Result<CreatedLink> bad =
      f.service->CreateOnce(Input("https://example.com/a"), "alice", "a b");
  CHECK(CodeOf(bad.status()) == "bad_request");
  CHECK(f.StoredLinks() == 2);
  // Nor does the same key from another actor.
  Result<CreatedLink> theirs =
      f.service->CreateOnce(Input("https://example.com/a"), "bob", "key-1");
  CHECK(CodeOf(theirs.status()) == "already_exists");
  CHECK(f.StoredLinks() == 2);
}

TEST_CASE("CreateOnce: generated slugs still retry collisions") {
  Fixture f;
  f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));
  f.random.Script(SlugBytes({0, 1, 2, 3, 4, 5}));
  f.random.Script(SlugBytes({6, 7, 8, 9, 10, 11}));
  CHECK(f.MustCreate(Input("https://one.example/")).slug == "ABCDEF");
  Result<CreatedLink> r =
      f.service->CreateOnce(Input("https://two.example/"), "alice", "k");
  REQUIRE(r.ok());
  CHECK(r->link.slug == "GHJKMN");
  CHECK(f.random.ScriptLeft() == 0);
}

TEST_CASE("CreateOnce: a key whose link was deleted fails at once") {
  Fixture f;
  Result<CreatedLink> r =
      f.service->CreateOnce(Input("https://one.example/"), "alice", "k");
  REQUIRE(r.ok());
  REQUIRE(f.service->Delete(r->link.slug, "alice").ok());
  // Not twelve tries at new slugs, then "no free slug": the key is the
  // problem, and the message says so.
  r = f.service->CreateOnce(Input("https://one.example/"), "alice", "k");
  REQUIRE_FALSE(r.ok());
  CHECK(CodeOf(r.status()) == "already_exists");
  CHECK(Contains(r.status().message(), "since deleted"));
  r = f.service->CreateOnce(Input("https://one.example/", "custom"), "alice",
                            "k");
  CHECK(CodeOf(r.status()) == "already_exists");
  CHECK(f.StoredLinks() == 0);
}

TEST_CASE("CreateOnce: a password is hashed once, and a replay keeps it") {
  Fixture f;
  Result<CreatedLink> r = f.service->CreateOnce(
      Protected("https://example.com/", "pw", "password one"), "alice", "k");
  REQUIRE(r.ok());
  const std::string hash = r->link.password_hash;
  r = f.service->CreateOnce(
      Protected("https://example.com/", "pw", "password one"), "alice", "k");
  REQUIRE(r.ok());
  CHECK(r->replayed);
  CHECK(r->link.password_hash == hash);
}

TEST_CASE("List: limit bounds, the service's clock and pending visits") {
  Fixture f;
  LinkInput temp = Input("https://example.com/temp", "temp");
  temp.expires_at = kStart + 10;
  f.MustCreate(temp);
  f.now = kStart + 1;
  f.MustCreate(Input("https://example.com/a", "a"));
  f.now = kStart + 2;
  f.MustCreate(Input("https://example.com/b", "b"));

  for (int limit : {0, -1, 1001, 1'000'000}) {
    INFO(limit);
    ListQuery q;
    q.limit = limit;
    Result<LinkPage> page = f.service->List(q);
    CHECK(CodeOf(page.status()) == "invalid_argument");
    CHECK(Contains(page.status().message(), "limit: must be from 1 to 1000"));
  }

  ListQuery one;
  one.limit = 1;
  Result<LinkPage> page = f.service->List(one);
  REQUIRE(page.ok());
  REQUIRE(page->links.size() == 1);
  CHECK(page->links[0].slug == "b");  // newest first
  CHECK_FALSE(page->next_cursor.empty());

  ListQuery all;
  all.limit = 1000;
  page = f.service->List(all);
  REQUIRE(page.ok());
  CHECK(page->links.size() == 3);
  CHECK(page->next_cursor.empty());

  // Expired links drop out by the service's clock, whatever query.now says.
  f.now = kStart + 10;
  ListQuery active;
  active.now = 0;
  page = f.service->List(active);
  REQUIRE(page.ok());
  std::vector<std::string> slugs;
  for (const Link& link : page->links) slugs.push_back(link.slug);
  CHECK(slugs == std::vector<std::string>{"b", "a"});
  ListQuery inactive;
  inactive.include_inactive = true;
  page = f.service->List(inactive);
  REQUIRE(page.ok());
  CHECK(page->links.size() == 3);

  // Pending visits are added to each listed link.
  REQUIRE(f.service->Resolve("a", "", "", true).ok());
  REQUIRE(f.service->Resolve("a", "", "", true).ok());
  page = f.service->List(active);
  REQUIRE(page.ok());
  REQUIRE(page->links.size() == 2);
  CHECK(page->links[0].visits == 0);
  CHECK(page->links[1].slug == "a");
  CHECK(page->links[1].visits == 2);
}

TEST_CASE("Get: stored visits plus the ledger's pending ones") {
  Fixture f;
  f.MustCreate(Input("https://example.com/", "Counted"));
  REQUIRE(f.store->AddVisits({{"counted", 4}}).ok());
  Result<Link> link = f.service->Get("counted");
  REQUIRE(link.ok());
  CHECK(link->visits == 4);
  for (int i = 0; i < 3; ++i) f.ledger.Count("counted", 0, {}, false);
  f.ledger.Count("other", 0, {}, false);
  link = f.service->Get("COUNTED");
  REQUIRE(link.ok());
  CHECK(link->slug == "Counted");
  CHECK(link->visits == 7);
  CHECK(CodeOf(f.service->Get("missing").status()) == "not_found");
}

TEST_CASE("SetOptions: later creates use the new settings") {
  Fixture f;
  const Link before = f.MustCreate(Input("https://example.com/", "before"));
  CHECK(before.status == 307);

  ServiceOptions options = TestOptions();
  options.default_status = 301;
  options.slug_length = 9;
  options.public_url = "https://new.example";
  f.service->SetOptions(options);
  CHECK(f.service->options().default_status == 301);
  CHECK(f.service->options().slug_length == 9);

  const Link after = f.MustCreate(Input("https://example.com/"));
  CHECK(after.status == 301);
  CHECK(after.slug.size() == 9);
  LinkInput explicit_status = Input("https://example.com/");
  explicit_status.status = 302;
  CHECK(f.MustCreate(explicit_status).status == 302);
  // Links made before keep their status.
  Result<Link> kept = f.service->Get("before");
  REQUIRE(kept.ok());
  CHECK(kept->status == 307);
  CHECK(f.service->ShortUrl("x") == "https://new.example/x");
}

TEST_CASE("ShortUrl: the public URL and the slug as spelled") {
  Fixture f;
  CHECK(f.service->ShortUrl("Promo-1") == "https://s.example/Promo-1");
  CHECK(f.service->ShortUrl("") == "https://s.example/");
}

TEST_CASE("Info and Now") {
  Fixture f;
  f.MustCreate(Input("https://example.com/"));
  f.MustCreate(Input("https://example.com/"));
  Result<StoreInfo> info = f.service->Info();
  REQUIRE(info.ok());
  CHECK(info->links == 2);
  CHECK(info->backend == "sqlite");
  f.now = 42;
  CHECK(f.service->Now() == 42);
}

}  // namespace
}  // namespace shorty
