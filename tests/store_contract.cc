// The Store contract: what every implementation of shared/store.h does,
// written only against that interface. Each test program links this file
// with its own MakeContractStore (see tests/store_contract.h).
#include "tests/store_contract.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/history.h"
#include "shared/link.h"
#include "shared/status.h"
#include "shared/store.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

constexpr UnixTime kNow = 1'750'000'000;
// Stores keep a password hash as an opaque string.
constexpr char kSomeHash[] =
    "scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
    "ghw4Sj8jKk1B9MaO1ArrW4oWvqg20qo8aXQA7Siiw4I=";

Link NewLink(const std::string& slug, UnixTime created_at = kNow) {
  Link link;
  link.slug = slug;
  link.target = "https://example.com/" + slug;
  link.created_at = created_at;
  link.updated_at = created_at;
  link.created_by = "tester";
  return link;
}

std::shared_ptr<Store> Make(bool case_sensitive = false) {
  std::shared_ptr<Store> store = MakeContractStore(case_sensitive);
  REQUIRE(store != nullptr);
  return store;
}

Link MustCreate(Store& store, const Link& link) {
  Result<Link> created = store.CreateLink(link);
  INFO("create ", link.slug, ": ", created.status().message());
  REQUIRE(created.ok());
  return *created;
}

Link MustGet(Store& store, const std::string& slug) {
  Result<Link> got = store.GetLink(slug);
  INFO("get ", slug, ": ", got.status().message());
  REQUIRE(got.ok());
  return *got;
}

void CheckSameLink(const Link& a, const Link& b) {
  CHECK(a.slug == b.slug);
  CHECK(a.target == b.target);
  CHECK(a.title == b.title);
  CHECK(a.note == b.note);
  CHECK(a.tags == b.tags);
  CHECK(a.status == b.status);
  CHECK(a.created_at == b.created_at);
  CHECK(a.updated_at == b.updated_at);
  CHECK(a.created_by == b.created_by);
  CHECK(a.expires_at == b.expires_at);
  CHECK(a.max_visits == b.max_visits);
  CHECK(a.visits == b.visits);
  CHECK(a.disabled == b.disabled);
  CHECK(a.password_hash == b.password_hash);
}

std::vector<std::string> Slugs(const LinkPage& page) {
  std::vector<std::string> slugs;
  for (const Link& link : page.links) slugs.push_back(link.slug);
  return slugs;
}

std::vector<std::string> ListSlugs(Store& store, ListQuery query) {
  Result<LinkPage> page = store.ListLinks(query);
  INFO(page.status().message());
  REQUIRE(page.ok());
  return Slugs(*page);
}

// Follows next_cursor to the end; fails on a loop.
std::vector<std::string> AllPages(Store& store, ListQuery query,
                                  int* pages = nullptr) {
  std::vector<std::string> slugs;
  int count = 0;
  for (;;) {
    Result<LinkPage> page = store.ListLinks(query);
    INFO(page.status().message());
    REQUIRE(page.ok());
    ++count;
    REQUIRE(count < 1000);
    CHECK(static_cast<int>(page->links.size()) <= query.limit);
    for (const std::string& slug : Slugs(*page)) slugs.push_back(slug);
    if (page->next_cursor.empty()) break;
    CHECK(static_cast<int>(page->links.size()) == query.limit);
    query.cursor = page->next_cursor;
  }
  if (pages != nullptr) *pages = count;
  return slugs;
}

ListQuery Query() {
  ListQuery query;
  query.now = kNow;
  query.include_inactive = true;
  return query;
}

TEST_CASE("store: create and get round-trip every field") {
  auto store = Make();
  Link full = NewLink("Full-1");
  full.target = "https://example.com/a?b=c#d";
  full.title = "A title with ünïcödé and 'quotes' and \"double\"";
  full.note = "line one\nline two; DROP TABLE links; --";
  full.tags = {"zeta", "alpha", "zeta", "mid"};
  full.status = 308;
  full.created_at = kNow - 100;
  full.updated_at = kNow - 50;
  full.created_by = "token:ci";
  full.expires_at = kNow + 3600;
  full.max_visits = 10;
  full.visits = 7;
  full.disabled = true;
  full.password_hash = kSomeHash;

  Link expected = full;
  expected.tags = {"alpha", "mid", "zeta"};

  Link created = MustCreate(*store, full);
  CheckSameLink(created, expected);
  CheckSameLink(MustGet(*store, "Full-1"), expected);

  Link bare = NewLink("bare");
  Link got = MustCreate(*store, bare);
  CHECK(got.tags.empty());
  CHECK_FALSE(got.expires_at.has_value());
  CHECK_FALSE(got.max_visits.has_value());
  CHECK(got.visits == 0);
  CHECK_FALSE(got.disabled);
  CHECK(got.password_hash.empty());
  CHECK(got.status == 302);
  CheckSameLink(MustGet(*store, "bare"), bare);

  // Edge values survive too: zero and negative times, 64-bit extremes.
  Link edge = NewLink("edge", 0);
  edge.expires_at = -1;
  edge.max_visits = 0;
  edge.visits = int64_t{1} << 40;
  MustCreate(*store, edge);
  CheckSameLink(MustGet(*store, "edge"), edge);
}

TEST_CASE("store: slugs are case-insensitive by default, keeping their case") {
  auto store = Make(false);
  MustCreate(*store, NewLink("MyLink"));
  for (const char* spelling : {"MyLink", "mylink", "MYLINK", "mYlInK"}) {
    CAPTURE(spelling);
    CHECK(MustGet(*store, spelling).slug == "MyLink");
  }

  Result<Link> again = store->CreateLink(NewLink("mylink"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kAlreadyExists);
  CHECK(again.status().message().find("mylink") != std::string::npos);

  LinkPatch patch;
  patch.title = "via other case";
  Result<Link> updated = store->UpdateLink("MYLINK", patch, kNow + 1, "tester");
  REQUIRE(updated.ok());
  CHECK(updated->slug == "MyLink");
  CHECK(MustGet(*store, "mylink").title == "via other case");

  CHECK(store->ConsumeLimitedVisit("mylink").ok());
  CHECK(store->DeleteLink("myLINK", kNow, "tester").ok());
  CHECK(store->GetLink("MyLink").status().code() == Code::kNotFound);
}

TEST_CASE("store: case-sensitive mode keeps slugs that differ in case apart") {
  auto store = Make(true);
  Link upper = NewLink("Abc");
  upper.target = "https://example.com/upper";
  Link lower = NewLink("abc");
  lower.target = "https://example.com/lower";
  MustCreate(*store, upper);
  MustCreate(*store, lower);
  CHECK(MustGet(*store, "Abc").target == "https://example.com/upper");
  CHECK(MustGet(*store, "abc").target == "https://example.com/lower");
  CHECK(store->GetLink("ABC").status().code() == Code::kNotFound);
  CHECK(store->CreateLink(NewLink("Abc")).status().code() ==
        Code::kAlreadyExists);

  CHECK(store->DeleteLink("Abc", kNow, "tester").ok());
  CHECK(store->GetLink("Abc").status().code() == Code::kNotFound);
  CHECK(MustGet(*store, "abc").target == "https://example.com/lower");
}

TEST_CASE("store: a taken slug is AlreadyExists and changes nothing") {
  auto store = Make();
  Link first = NewLink("occupied");
  first.tags = {"one"};
  MustCreate(*store, first);

  Link second = NewLink("occupied");
  second.target = "https://other.example/";
  second.tags = {"two"};
  Result<Link> result = store->CreateLink(second);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::kAlreadyExists);
  CHECK(result.status().message().find("occupied") != std::string::npos);

  CheckSameLink(MustGet(*store, "occupied"), first);
  Result<StoreInfo> info = store->Info();
  REQUIRE(info.ok());
  CHECK(info->links == 1);
  ListQuery by_tag = Query();
  by_tag.tag = "two";
  CHECK(ListSlugs(*store, by_tag).empty());
}

TEST_CASE("store: update replaces each field that is set") {
  auto store = Make();
  Link original = NewLink("upd");
  original.title = "old title";
  original.note = "old note";
  original.tags = {"a", "b"};
  original.expires_at = kNow + 100;
  original.max_visits = 5;
  original.visits = 2;
  MustCreate(*store, original);

  struct Case {
    const char* name;
    LinkPatch patch;
    void (*apply)(Link&);
    bool changes = true;  // false: the stored link stays as it was
  };
  std::vector<Case> cases;
  {
    LinkPatch p;
    p.target = "https://new.example/path";
    cases.push_back(
        {"target", p, [](Link& l) { l.target = "https://new.example/path"; }});
  }
  {
    LinkPatch p;
    p.title = "new title";
    cases.push_back({"title", p, [](Link& l) { l.title = "new title"; }});
  }
  {
    LinkPatch p;
    p.title = "";
    cases.push_back({"title cleared", p, [](Link& l) { l.title = ""; }});
    cases.push_back({"title unchanged", p, [](Link&) {}, false});
  }
  {
    LinkPatch p;
    p.note = "new note";
    cases.push_back({"note", p, [](Link& l) { l.note = "new note"; }});
  }
  {
    LinkPatch p;
    p.tags = std::vector<std::string>{"z", "c", "z"};
    cases.push_back({"tags", p, [](Link& l) { l.tags = {"c", "z"}; }});
  }
  {
    LinkPatch p;
    p.tags = std::vector<std::string>{"z", "c", "c"};  // as stored already
    cases.push_back({"tags unchanged", p, [](Link&) {}, false});
  }
  {
    LinkPatch p;
    p.tags = std::vector<std::string>{};
    cases.push_back({"tags cleared", p, [](Link& l) { l.tags.clear(); }});
  }
  {
    LinkPatch p;
    p.status = 301;
    cases.push_back({"status", p, [](Link& l) { l.status = 301; }});
  }
  {
    LinkPatch p;
    p.expires_at = std::optional<UnixTime>(kNow + 999);
    cases.push_back(
        {"expires_at", p, [](Link& l) { l.expires_at = kNow + 999; }});
  }
  {
    LinkPatch p;
    p.expires_at = std::optional<UnixTime>();
    cases.push_back(
        {"expires_at cleared", p, [](Link& l) { l.expires_at.reset(); }});
  }
  {
    LinkPatch p;
    p.max_visits = std::optional<int64_t>(42);
    cases.push_back({"max_visits", p, [](Link& l) { l.max_visits = 42; }});
  }
  {
    LinkPatch p;
    p.max_visits = std::optional<int64_t>();
    cases.push_back(
        {"max_visits cleared", p, [](Link& l) { l.max_visits.reset(); }});
  }
  {
    LinkPatch p;
    p.disabled = true;
    cases.push_back({"disabled", p, [](Link& l) { l.disabled = true; }});
  }
  {
    LinkPatch p;
    p.disabled = false;
    cases.push_back({"enabled", p, [](Link& l) { l.disabled = false; }});
  }
  cases.push_back({"empty patch", LinkPatch{}, [](Link&) {}, false});

  {
    LinkPatch p;
    p.target = "https://all.example/";
    p.title = "all";
    p.note = "all note";
    p.tags = std::vector<std::string>{"x"};
    p.status = 307;
    p.expires_at = std::optional<UnixTime>(kNow + 5);
    p.max_visits = std::optional<int64_t>(9);
    p.disabled = true;
    cases.push_back({"everything", p, [](Link& l) {
                       l.target = "https://all.example/";
                       l.title = "all";
                       l.note = "all note";
                       l.tags = {"x"};
                       l.status = 307;
                       l.expires_at = kNow + 5;
                       l.max_visits = 9;
                       l.disabled = true;
                     }});
  }

  Link expected = MustGet(*store, "upd");
  UnixTime now = kNow;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    now += 10;
    c.apply(expected);
    // A patch that changes nothing leaves updated_at alone too.
    if (c.changes) expected.updated_at = now;
    Result<Link> updated = store->UpdateLink("upd", c.patch, now, "tester");
    INFO(updated.status().message());
    REQUIRE(updated.ok());
    CheckSameLink(*updated, expected);
    CheckSameLink(MustGet(*store, "upd"), expected);
  }
  // What a patch cannot touch stays.
  Link last = MustGet(*store, "upd");
  CHECK(last.slug == "upd");
  CHECK(last.created_at == original.created_at);
  CHECK(last.created_by == original.created_by);
  CHECK(last.visits == original.visits);
}

TEST_CASE("store: missing links are NotFound") {
  auto store = Make();
  MustCreate(*store, NewLink("present"));
  CHECK(store->GetLink("absent").status().code() == Code::kNotFound);
  LinkPatch patch;
  patch.title = "x";
  CHECK(store->UpdateLink("absent", patch, kNow, "tester").status().code() ==
        Code::kNotFound);
  CHECK(store->UpdateLink("absent", LinkPatch{}, kNow, "tester")
            .status()
            .code() == Code::kNotFound);
  CHECK(store->DeleteLink("absent", kNow, "tester").code() == Code::kNotFound);
  CHECK(store->ConsumeLimitedVisit("absent").status().code() ==
        Code::kNotFound);
  CHECK(store->GetLink("").status().code() == Code::kNotFound);
  // Nothing else was disturbed.
  CHECK(MustGet(*store, "present").title.empty());
}

TEST_CASE("store: delete removes the link and its tags; the slug is free") {
  auto store = Make();
  Link first = NewLink("again");
  first.tags = {"old"};
  first.visits = 12;
  first.max_visits = 20;
  MustCreate(*store, first);
  REQUIRE(store->DeleteLink("again", kNow, "tester").ok());
  CHECK(store->GetLink("again").status().code() == Code::kNotFound);
  CHECK(store->DeleteLink("again", kNow, "tester").code() == Code::kNotFound);

  Link second = NewLink("Again", kNow + 10);
  second.target = "https://second.example/";
  second.tags = {"new"};
  Link created = MustCreate(*store, second);
  CheckSameLink(created, second);
  Link got = MustGet(*store, "again");
  CheckSameLink(got, second);
  CHECK(got.visits == 0);
  CHECK_FALSE(got.max_visits.has_value());

  ListQuery by_old = Query();
  by_old.tag = "old";
  CHECK(ListSlugs(*store, by_old).empty());
  ListQuery by_new = Query();
  by_new.tag = "new";
  CHECK(ListSlugs(*store, by_new) == std::vector<std::string>{"Again"});
}

TEST_CASE("store: list is newest first, ties broken by creation order") {
  auto store = Make();
  MustCreate(*store, NewLink("t100-a", 100));
  MustCreate(*store, NewLink("t300", 300));
  MustCreate(*store, NewLink("t100-b", 100));
  MustCreate(*store, NewLink("t200", 200));
  MustCreate(*store, NewLink("t100-c", 100));
  CHECK(ListSlugs(*store, Query()) ==
        std::vector<std::string>{"t300", "t200", "t100-c", "t100-b", "t100-a"});

  Result<LinkPage> page = store->ListLinks(Query());
  REQUIRE(page.ok());
  CHECK(page->next_cursor.empty());
  CHECK(MakeContractStore(false)->ListLinks(Query())->links.empty());
}

TEST_CASE("store: list search is a case-insensitive literal substring") {
  auto store = Make();
  Link by_slug = NewLink("HelloWorld", 1);
  Link by_target = NewLink("t", 2);
  by_target.target = "https://example.com/Needle/path";
  Link by_title = NewLink("ti", 3);
  by_title.title = "some NEEDLE here";
  Link by_note = NewLink("n", 4);
  by_note.note = "a needle in a note";
  Link percent = NewLink("pct", 5);
  percent.title = "100% pure";
  Link no_percent = NewLink("nopct", 6);
  no_percent.title = "1000 pure";
  Link underscore = NewLink("a_b", 7);
  Link no_underscore = NewLink("axb", 8);
  Link backslash = NewLink("bs", 9);
  backslash.note = R"(C:\path)";
  for (const Link& link : {by_slug, by_target, by_title, by_note, percent,
                           no_percent, underscore, no_underscore, backslash}) {
    MustCreate(*store, link);
  }

  auto search = [&](const std::string& text) {
    ListQuery query = Query();
    query.search = text;
    std::vector<std::string> slugs = ListSlugs(*store, query);
    return std::set<std::string>(slugs.begin(), slugs.end());
  };
  using Set = std::set<std::string>;
  CHECK(search("hello") == Set{"HelloWorld"});
  CHECK(search("WORLD") == Set{"HelloWorld"});
  CHECK(search("needle") == Set{"t", "ti", "n"});
  CHECK(search("0%") == Set{"pct"});
  CHECK(search("%") == Set{"pct"});
  CHECK(search("a_b") == Set{"a_b"});
  CHECK(search("_") == Set{"a_b"});
  CHECK(search(R"(:\p)") == Set{"bs"});
  CHECK(search("no such text") == Set{});
  CHECK(search("").size() == 9);
}

TEST_CASE("store: list filters by tag") {
  auto store = Make();
  Link a = NewLink("a", 1);
  a.tags = {"red", "blue"};
  Link b = NewLink("b", 2);
  b.tags = {"blue"};
  Link c = NewLink("c", 3);
  MustCreate(*store, a);
  MustCreate(*store, b);
  MustCreate(*store, c);
  auto by_tag = [&](const std::string& tag) {
    ListQuery query = Query();
    query.tag = tag;
    return ListSlugs(*store, query);
  };
  CHECK(by_tag("blue") == std::vector<std::string>{"b", "a"});
  CHECK(by_tag("red") == std::vector<std::string>{"a"});
  CHECK(by_tag("green").empty());
  CHECK(by_tag("").size() == 3);

  ListQuery both = Query();
  both.tag = "blue";
  both.search = "b";
  CHECK(ListSlugs(*store, both) == std::vector<std::string>{"b"});
}

TEST_CASE("store: list hides inactive links unless asked") {
  auto store = Make();
  Link active = NewLink("active", 1);
  active.expires_at = kNow + 1;
  active.max_visits = 3;
  active.visits = 2;
  Link disabled = NewLink("disabled", 2);
  disabled.disabled = true;
  Link expired = NewLink("expired", 3);
  expired.expires_at = kNow;  // expiring at now counts as expired
  Link used_up = NewLink("used-up", 4);
  used_up.max_visits = 3;
  used_up.visits = 3;
  Link plain = NewLink("plain", 5);
  for (const Link& link : {active, disabled, expired, used_up, plain}) {
    MustCreate(*store, link);
  }

  ListQuery query = Query();
  query.include_inactive = false;
  CHECK(ListSlugs(*store, query) ==
        std::vector<std::string>{"plain", "active"});
  query.include_inactive = true;
  CHECK(ListSlugs(*store, query) ==
        std::vector<std::string>{"plain", "used-up", "expired", "disabled",
                                 "active"});
  // "now" comes from the query: earlier, the expired link was active.
  query.include_inactive = false;
  query.now = kNow - 1;
  CHECK(ListSlugs(*store, query) ==
        std::vector<std::string>{"plain", "expired", "active"});
}

TEST_CASE("store: cursor pagination visits every link exactly once") {
  auto store = Make();
  std::vector<std::string> expected;  // newest first
  for (int i = 0; i < 23; ++i) {
    // Runs of equal created_at, so pages end inside ties.
    std::string slug = "p" + std::to_string(i);
    MustCreate(*store, NewLink(slug, 1000 + i / 4));
    expected.insert(expected.begin(), slug);
  }

  for (int limit : {1, 2, 3, 4, 5, 7, 22, 23, 24, 1000}) {
    CAPTURE(limit);
    ListQuery query = Query();
    query.limit = limit;
    int pages = 0;
    CHECK(AllPages(*store, query, &pages) == expected);
    CHECK(pages == (23 + limit - 1) / limit);
  }

  // Links created between pages appear on no page of this walk (they are
  // newer than the cursor) and do not shift what follows.
  ListQuery query = Query();
  query.limit = 5;
  Result<LinkPage> first = store->ListLinks(query);
  REQUIRE(first.ok());
  MustCreate(*store, NewLink("late", 5000));
  query.cursor = first->next_cursor;
  std::vector<std::string> seen = Slugs(*first);
  for (const std::string& slug : AllPages(*store, query)) seen.push_back(slug);
  CHECK(seen == expected);

  // A filter holds across pages.
  ListQuery filtered = Query();
  filtered.search = "p1";  // p1, p10..p19
  filtered.limit = 4;
  std::vector<std::string> want;
  for (const std::string& slug : expected) {
    if (slug.rfind("p1", 0) == 0) want.push_back(slug);
  }
  CHECK(AllPages(*store, filtered) == want);
}

TEST_CASE("store: limit is clamped to 1..1000") {
  auto store = Make();
  for (int i = 0; i < 3; ++i) {
    MustCreate(*store, NewLink("l" + std::to_string(i), i));
  }
  for (int limit : {0, -5}) {
    ListQuery query = Query();
    query.limit = limit;
    Result<LinkPage> page = store->ListLinks(query);
    REQUIRE(page.ok());
    CHECK(page->links.size() == 1);
    CHECK_FALSE(page->next_cursor.empty());
  }
  ListQuery big = Query();
  big.limit = 1'000'000;
  CHECK(ListSlugs(*store, big).size() == 3);
}

TEST_CASE("store: a malformed cursor is InvalidArgument") {
  auto store = Make();
  for (int i = 0; i < 3; ++i) {
    MustCreate(*store, NewLink("m" + std::to_string(i), i));
  }
  ListQuery query = Query();
  query.limit = 1;
  Result<LinkPage> first = store->ListLinks(query);
  REQUIRE(first.ok());
  REQUIRE_FALSE(first->next_cursor.empty());

  for (const std::string& cursor :
       {std::string("not a cursor"), std::string("%%%"),
        std::string("\x01\x02", 2), first->next_cursor + "!",
        first->next_cursor + " ", "'" + first->next_cursor}) {
    CAPTURE(cursor);
    query.cursor = cursor;
    Result<LinkPage> page = store->ListLinks(query);
    REQUIRE_FALSE(page.ok());
    CHECK(page.status().code() == Code::kInvalidArgument);
    CHECK(page.status().message().find("cursor") != std::string::npos);
  }
}

TEST_CASE("store: AddVisits adds a batch and skips missing slugs") {
  auto store = Make();
  Link a = NewLink("VisitA");
  a.visits = 10;
  MustCreate(*store, a);
  MustCreate(*store, NewLink("visit-b"));

  CHECK(store->AddVisits({}).ok());
  CHECK(store
            ->AddVisits({{"visita", 3},
                         {"visit-b", 2},
                         {"gone-away", 5},
                         {"VISITA", 1},
                         {"visit-b", 0}})
            .ok());
  CHECK(MustGet(*store, "VisitA").visits == 14);
  CHECK(MustGet(*store, "visit-b").visits == 2);
  CHECK(store->GetLink("gone-away").status().code() == Code::kNotFound);

  CHECK(store->AddVisits({{"visit-b", 1'000'000}}).ok());
  CHECK(MustGet(*store, "visit-b").visits == 1'000'002);
}

// The visits of `buckets` in `dimension` with `value`, bots or not.
int64_t VisitsIn(const std::vector<VisitBucket>& buckets,
                 const std::string& dimension, const std::string& value,
                 bool bot) {
  int64_t n = 0;
  for (const VisitBucket& b : buckets) {
    if (b.dimension == dimension && b.value == value && b.bot == bot) {
      n += b.visits;
    }
  }
  return n;
}

VisitGroup Group(UnixTime hour, const char* ua, const char* referer,
                 int64_t count) {
  VisitGroup g;
  g.hour = hour;
  g.traits = ClassifyVisit(ua, referer);
  g.count = count;
  return g;
}

constexpr char kFirefoxUa[] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";
constexpr UnixTime kHourNow = kNow - kNow % kHour;

TEST_CASE("store: AddVisits keeps each group's buckets, summed by hour") {
  auto store = Make();
  MustCreate(*store, NewLink("Stats"));
  MustCreate(*store, NewLink("other"));
  const UnixTime h = kHourNow;
  REQUIRE(store
              ->AddVisits({{"stats",
                            3,
                            {Group(h, kFirefoxUa, "https://a.example/", 2),
                             Group(h, "curl/8.0", "", 1)}},
                           {"nowhere", 4, {Group(h, kFirefoxUa, "", 4)}},
                           {"other", 1, {Group(h - kHour, kFirefoxUa, "", 1)}}})
              .ok());
  // A limited link's visit is counted already: buckets only.
  REQUIRE(
      store
          ->AddVisits(
              {{"STATS", 0, {Group(h, kFirefoxUa, "https://a.example/", 5)}}})
          .ok());
  CHECK(MustGet(*store, "stats").visits == 3);

  Result<std::vector<VisitBucket>> b = store->LinkVisits("stats", 0);
  REQUIRE(b.ok());
  CHECK(VisitsIn(*b, "total", "", false) == 7);
  CHECK(VisitsIn(*b, "total", "", true) == 1);
  CHECK(VisitsIn(*b, "referrer", "a.example", false) == 7);
  CHECK(VisitsIn(*b, "referrer", "", true) == 1);
  CHECK(VisitsIn(*b, "browser", "firefox", false) == 7);
  CHECK(VisitsIn(*b, "device", "bot", true) == 1);
  for (const VisitBucket& x : *b) CHECK(x.start == h);
  // One row a bucket: the two writes to the same hour were summed.
  CHECK(b->size() == 10);

  Result<std::vector<VisitBucket>> later = store->LinkVisits("stats", h + 1);
  REQUIRE(later.ok());
  CHECK(later->empty());
  Result<std::vector<VisitBucket>> other = store->LinkVisits("OTHER", 0);
  REQUIRE(other.ok());
  CHECK(VisitsIn(*other, "total", "", false) == 1);
  CHECK(store->LinkVisits("nowhere", 0).status().code() == Code::kNotFound);
}

TEST_CASE("store: RollUpVisits folds the hours before a day into the day") {
  auto store = Make();
  MustCreate(*store, NewLink("busy"));
  const UnixTime today = kNow - kNow % kDay;
  const UnixTime yesterday = today - kDay;
  std::vector<VisitGroup> groups;
  for (int hour = 0; hour < 24; ++hour) {
    groups.push_back(
        Group(yesterday + hour * kHour, kFirefoxUa, "https://a.example/", 1));
  }
  groups.push_back(Group(today + 5 * kHour, kFirefoxUa, "", 2));
  REQUIRE(store->AddVisits({{"busy", 26, groups}}).ok());
  const size_t before = store->LinkVisits("busy", 0)->size();

  CHECK(store->RollUpVisits(today + 1).status().code() ==
        Code::kInvalidArgument);
  Result<int64_t> folded = store->RollUpVisits(today);
  REQUIRE(folded.ok());
  CHECK(*folded == 23 * 5);  // the hour at midnight is the day's own row
  Result<std::vector<VisitBucket>> b = store->LinkVisits("busy", 0);
  REQUIRE(b.ok());
  CHECK(b->size() == before - 23 * 5);
  CHECK(VisitsIn(*b, "total", "", false) == 26);
  CHECK(VisitsIn(*b, "referrer", "a.example", false) == 24);
  for (const VisitBucket& x : *b) {
    CHECK((x.start == yesterday || x.start == today + 5 * kHour));
  }
  Result<int64_t> again = store->RollUpVisits(today);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(VisitsIn(*store->LinkVisits("busy", 0), "total", "", false) == 26);
}

TEST_CASE("store: a deleted link's visit buckets go with it") {
  auto store = Make();
  MustCreate(*store, NewLink("brief"));
  REQUIRE(store->AddVisits({{"brief", 1, {Group(kHourNow, kFirefoxUa, "", 1)}}})
              .ok());
  REQUIRE(store->DeleteLink("brief", kNow, "admin").ok());
  MustCreate(*store, NewLink("brief"));
  Result<std::vector<VisitBucket>> b = store->LinkVisits("brief", 0);
  REQUIRE(b.ok());
  CHECK(b->empty());
}

TEST_CASE("store: ConsumeLimitedVisit counts up to the limit exactly") {
  auto store = Make();
  Link limited = NewLink("Limited");
  limited.max_visits = 3;
  MustCreate(*store, limited);
  std::vector<bool> results;
  for (int i = 0; i < 4; ++i) {
    Result<bool> counted = store->ConsumeLimitedVisit("limited");
    REQUIRE(counted.ok());
    results.push_back(*counted);
  }
  CHECK(results == std::vector<bool>{true, true, true, false});
  CHECK(MustGet(*store, "Limited").visits == 3);

  // Raising the limit lets visits through again.
  LinkPatch raise;
  raise.max_visits = std::optional<int64_t>(4);
  REQUIRE(store->UpdateLink("Limited", raise, kNow, "tester").ok());
  CHECK(*store->ConsumeLimitedVisit("Limited") == true);
  CHECK(*store->ConsumeLimitedVisit("Limited") == false);
  CHECK(MustGet(*store, "Limited").visits == 4);

  Link zero = NewLink("zero");
  zero.max_visits = 0;
  MustCreate(*store, zero);
  CHECK(*store->ConsumeLimitedVisit("zero") == false);
  CHECK(MustGet(*store, "zero").visits == 0);
}

TEST_CASE("store: concurrent creates of one slug: exactly one wins") {
  auto store = Make();
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::atomic<int> taken{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Link link = NewLink(t % 2 == 0 ? "race" : "RACE");
      link.title = std::to_string(t);
      Result<Link> result = store->CreateLink(link);
      if (result.ok()) {
        ++created;
      } else if (result.status().code() == Code::kAlreadyExists) {
        ++taken;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(created == 1);
  CHECK(taken == kThreads - 1);
  CHECK(other == 0);
  CHECK(store->Info()->links == 1);
}

TEST_CASE("store: concurrent limited visits never pass the limit") {
  auto store = Make();
  Link limited = NewLink("flash-sale");
  limited.max_visits = 50;
  MustCreate(*store, limited);
  constexpr int kThreads = 8;
  constexpr int kAttempts = 100;
  std::atomic<int> counted{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        Result<bool> result = store->ConsumeLimitedVisit("flash-sale");
        if (!result.ok()) {
          ++errors;
        } else if (*result) {
          ++counted;
        } else {
          ++refused;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(errors == 0);
  CHECK(counted == 50);
  CHECK(refused == kThreads * kAttempts - 50);
  CHECK(MustGet(*store, "flash-sale").visits == 50);
}

TEST_CASE("store: reads run alongside writes") {
  auto store = Make();
  for (int i = 0; i < 20; ++i) {
    MustCreate(*store, NewLink("r" + std::to_string(i), i));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&, t] {
      int i = t;
      while (!stop) {
        std::string slug = "r" + std::to_string(i++ % 20);
        Result<Link> link = store->GetLink(slug);
        if (!link.ok() || link->slug != slug) ++read_errors;
        if (i % 10 == 0) {
          ListQuery query = Query();
          query.limit = 7;
          if (!store->ListLinks(query).ok()) ++read_errors;
        }
        ++reads;
      }
    });
  }
  int write_errors = 0;
  for (int i = 0; i < 200; ++i) {
    LinkPatch patch;
    patch.title = "rev " + std::to_string(i);
    patch.tags = std::vector<std::string>{"t" + std::to_string(i % 3)};
    if (!store
             ->UpdateLink("r" + std::to_string(i % 20), patch, kNow + i,
                          "tester")
             .ok()) {
      ++write_errors;
    }
    if (!store->AddVisits({{"r" + std::to_string(i % 20), 1}}).ok()) {
      ++write_errors;
    }
  }
  stop = true;
  for (std::thread& thread : readers) thread.join();
  CHECK(write_errors == 0);
  CHECK(read_errors == 0);
  CHECK(reads > 0);
  int64_t total = 0;
  for (int i = 0; i < 20; ++i) {
    total += MustGet(*store, "r" + std::to_string(i)).visits;
  }
  CHECK(total == 200);
}

TEST_CASE("store: Info counts every link, active or not") {
  auto store = Make();
  Result<StoreInfo> empty = store->Info();
  REQUIRE(empty.ok());
  CHECK(empty->links == 0);
  CHECK(empty->schema_version > 0);
  CHECK_FALSE(empty->backend.empty());

  Link disabled = NewLink("i1");
  disabled.disabled = true;
  MustCreate(*store, disabled);
  Link expired = NewLink("i2");
  expired.expires_at = 1;
  MustCreate(*store, expired);
  MustCreate(*store, NewLink("i3"));
  CHECK(store->Info()->links == 3);
  REQUIRE(store->DeleteLink("i3", kNow, "tester").ok());
  CHECK(store->Info()->links == 2);
}

TEST_CASE("store: Checkpoint succeeds and loses nothing") {
  auto store = Make();
  MustCreate(*store, NewLink("ck"));
  CHECK(store->Checkpoint().ok());
  CHECK(MustGet(*store, "ck").slug == "ck");
  CHECK(store->Checkpoint().ok());
}

std::vector<HistoryEntry> History(Store& store, const std::string& slug,
                                  int limit = 1000) {
  Result<std::vector<HistoryEntry>> history = store.LinkHistory(slug, limit);
  INFO("history of ", slug, ": ", history.status().message());
  REQUIRE(history.ok());
  return *history;
}

std::vector<std::string> Actions(const std::vector<HistoryEntry>& history) {
  std::vector<std::string> actions;
  for (const HistoryEntry& entry : history) actions.push_back(entry.action);
  return actions;
}

nlohmann::json Changes(const HistoryEntry& entry) {
  nlohmann::json changes =
      nlohmann::json::parse(entry.changes, nullptr, /*allow_exceptions=*/false);
  INFO("changes: ", entry.changes);
  REQUIRE(changes.is_object());
  return changes;
}

// The names of the fields an entry records as changed.
std::set<std::string> ChangedFields(const HistoryEntry& entry) {
  std::set<std::string> fields;
  nlohmann::json changes = Changes(entry);
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    fields.insert(it.key());
  }
  return fields;
}

Link MustUpdate(Store& store, const std::string& slug, const LinkPatch& patch,
                UnixTime now, const std::string& actor) {
  Result<Link> updated = store.UpdateLink(slug, patch, now, actor);
  INFO("update ", slug, ": ", updated.status().message());
  REQUIRE(updated.ok());
  return *updated;
}

TEST_CASE("store: history records each kind of change, by whom and when") {
  auto store = Make();
  Link link = NewLink("Hist");
  link.created_by = "alice";
  link.title = "first";
  link.tags = {"b", "a"};
  link.max_visits = 10;
  MustCreate(*store, link);

  LinkPatch edit;
  edit.title = "second";
  edit.tags = std::vector<std::string>{"a", "c"};
  MustUpdate(*store, "Hist", edit, kNow + 10, "bob");
  LinkPatch expire;
  expire.expires_at = std::optional<UnixTime>(kNow + 20);
  MustUpdate(*store, "hist", expire, kNow + 20, "carol");
  LinkPatch disable;
  disable.disabled = true;
  MustUpdate(*store, "HIST", disable, kNow + 30, "dave");
  LinkPatch enable;
  enable.disabled = false;
  MustUpdate(*store, "Hist", enable, kNow + 40, "erin");
  LinkPatch several;  // disabling among other changes is an edit
  several.disabled = true;
  several.status = 301;
  MustUpdate(*store, "Hist", several, kNow + 45, "erin");
  REQUIRE(store->DeleteLink("hist", kNow + 50, "frank").ok());

  std::vector<HistoryEntry> history = History(*store, "Hist");
  REQUIRE(history.size() == 7);
  CHECK(Actions(history) == std::vector<std::string>{"create", "edit", "expire",
                                                     "disable", "enable",
                                                     "edit", "delete"});
  std::vector<std::string> actors;
  std::vector<UnixTime> times;
  for (size_t i = 0; i < history.size(); ++i) {
    CAPTURE(i);
    CHECK(history[i].slug == "Hist");
    if (i > 0) CHECK(history[i].seq > history[i - 1].seq);
    actors.push_back(history[i].actor);
    times.push_back(history[i].at);
  }
  CHECK(actors == std::vector<std::string>{"alice", "bob", "carol", "dave",
                                           "erin", "erin", "frank"});
  CHECK(times == std::vector<UnixTime>{kNow, kNow + 10, kNow + 20, kNow + 30,
                                       kNow + 40, kNow + 45, kNow + 50});

  using nlohmann::json;
  // create: every set field, null before.
  json created = Changes(history[0]);
  CHECK(created["target"] == json::array({nullptr, link.target}));
  CHECK(created["title"] == json::array({nullptr, "first"}));
  CHECK(created["note"] == json::array({nullptr, ""}));
  CHECK(created["tags"] == json::array({nullptr, {"a", "b"}}));
  CHECK(created["status"] == json::array({nullptr, 302}));
  CHECK(created["max_visits"] == json::array({nullptr, 10}));
  CHECK(created["disabled"] == json::array({nullptr, false}));
  // edits: only what changed, [before, after].
  CHECK(ChangedFields(history[1]) == std::set<std::string>{"title", "tags"});
  CHECK(Changes(history[1])["title"] == json::array({"first", "second"}));
  CHECK(Changes(history[1])["tags"] == json::array({{"a", "b"}, {"a", "c"}}));
  CHECK(ChangedFields(history[2]) == std::set<std::string>{"expires_at"});
  CHECK(Changes(history[2])["expires_at"] ==
        json::array({nullptr, FormatTime(kNow + 20)}));
  CHECK(Changes(history[3]) == json{{"disabled", {false, true}}});
  CHECK(Changes(history[4]) == json{{"disabled", {true, false}}});
  CHECK(ChangedFields(history[5]) ==
        std::set<std::string>{"disabled", "status"});
  // delete: every field, null after.
  json deleted = Changes(history[6]);
  CHECK(deleted["target"] == json::array({link.target, nullptr}));
  CHECK(deleted["title"] == json::array({"second", nullptr}));
  CHECK(deleted["tags"] == json::array({{"a", "c"}, nullptr}));
  CHECK(deleted["status"] == json::array({301, nullptr}));
  CHECK(deleted["expires_at"] == json::array({FormatTime(kNow + 20), nullptr}));
  CHECK(deleted["max_visits"] == json::array({10, nullptr}));
  CHECK(deleted["disabled"] == json::array({true, nullptr}));
}

TEST_CASE("store: a patch that changes nothing records nothing") {
  auto store = Make();
  Link link = NewLink("same");
  link.title = "title";
  link.tags = {"x", "y"};
  link.expires_at = kNow + 100;
  Link created = MustCreate(*store, link);

  std::vector<LinkPatch> patches(6);
  patches[1].title = "title";
  patches[2].tags = std::vector<std::string>{"y", "x", "y"};
  patches[3].disabled = false;
  patches[4].expires_at = std::optional<UnixTime>(kNow + 100);
  patches[5].max_visits = std::optional<int64_t>();
  for (size_t i = 0; i < patches.size(); ++i) {
    CAPTURE(i);
    Link returned = MustUpdate(*store, "SAME", patches[i], kNow + 50, "bob");
    CheckSameLink(returned, created);
    CheckSameLink(MustGet(*store, "same"), created);
  }
  CHECK(Actions(History(*store, "same")) == std::vector<std::string>{"create"});

  // Visits are no change of the link either.
  REQUIRE(store->AddVisits({{"same", 3}}).ok());
  CHECK(History(*store, "same").size() == 1);
}

TEST_CASE("store: failed writes record no history") {
  auto store = Make();
  MustCreate(*store, NewLink("taken"));
  Link again = NewLink("TAKEN");
  again.created_by = "intruder";
  CHECK(store->CreateLink(again).status().code() == Code::kAlreadyExists);
  LinkPatch patch;
  patch.title = "x";
  CHECK(store->UpdateLink("missing", patch, kNow, "bob").status().code() ==
        Code::kNotFound);
  CHECK(store->DeleteLink("missing", kNow, "bob").code() == Code::kNotFound);

  std::vector<HistoryEntry> history = History(*store, "taken");
  REQUIRE(history.size() == 1);
  CHECK(history[0].actor == "tester");
  CHECK(History(*store, "missing").empty());
}

TEST_CASE("store: history outlives its link and continues with the next") {
  auto store = Make();
  Link first = NewLink("Again");
  first.created_by = "alice";
  MustCreate(*store, first);
  REQUIRE(store->DeleteLink("again", kNow + 10, "bob").ok());
  CHECK(store->GetLink("Again").status().code() == Code::kNotFound);

  // The deleted link's history is still there.
  std::vector<HistoryEntry> history = History(*store, "Again");
  CHECK(Actions(history) == std::vector<std::string>{"create", "delete"});

  Link second = NewLink("AGAIN", kNow + 20);
  second.created_by = "carol";
  second.target = "https://second.example/";
  MustCreate(*store, second);
  LinkPatch patch;
  patch.note = "second life";
  MustUpdate(*store, "again", patch, kNow + 30, "dave");
  MustCreate(*store, NewLink("other"));

  history = History(*store, "again");
  CHECK(Actions(history) ==
        std::vector<std::string>{"create", "delete", "create", "edit"});
  REQUIRE(history.size() == 4);
  std::vector<std::string> slugs;
  std::vector<std::string> actors;
  for (const HistoryEntry& entry : history) {
    slugs.push_back(entry.slug);
    actors.push_back(entry.actor);
  }
  CHECK(slugs == std::vector<std::string>{"Again", "Again", "AGAIN", "AGAIN"});
  CHECK(actors == std::vector<std::string>{"alice", "bob", "carol", "dave"});
  CHECK(Changes(history[2])["target"] ==
        nlohmann::json::array({nullptr, "https://second.example/"}));
  CHECK(Actions(History(*store, "other")) ==
        std::vector<std::string>{"create"});
  CHECK(History(*store, "never-was").empty());
}

TEST_CASE("store: history is looked up by the slug's folded key") {
  auto insensitive = Make(false);
  MustCreate(*insensitive, NewLink("MyLink"));
  for (const char* spelling : {"MyLink", "mylink", "MYLINK"}) {
    CAPTURE(spelling);
    std::vector<HistoryEntry> history = History(*insensitive, spelling);
    REQUIRE(history.size() == 1);
    CHECK(history[0].slug == "MyLink");
  }

  auto sensitive = Make(true);
  MustCreate(*sensitive, NewLink("Abc"));
  MustCreate(*sensitive, NewLink("abc"));
  LinkPatch patch;
  patch.title = "lower";
  MustUpdate(*sensitive, "abc", patch, kNow + 1, "bob");
  CHECK(Actions(History(*sensitive, "Abc")) ==
        std::vector<std::string>{"create"});
  CHECK(Actions(History(*sensitive, "abc")) ==
        std::vector<std::string>{"create", "edit"});
  CHECK(History(*sensitive, "ABC").empty());
}

TEST_CASE("store: history limit keeps the newest, oldest first") {
  auto store = Make();
  MustCreate(*store, NewLink("busy"));
  for (int i = 1; i < 10; ++i) {
    LinkPatch patch;
    patch.title = "rev " + std::to_string(i);
    MustUpdate(*store, "busy", patch, kNow + i, "bob");
  }
  auto titles = [](const std::vector<HistoryEntry>& history) {
    std::vector<std::string> result;
    for (const HistoryEntry& entry : history) {
      nlohmann::json changes = Changes(entry);
      result.push_back(changes["title"][1].get<std::string>());
    }
    return result;
  };
  CHECK(titles(History(*store, "busy", 3)) ==
        std::vector<std::string>{"rev 7", "rev 8", "rev 9"});
  // Outside 1..1000 the limit is clamped.
  for (int limit : {1, 0, -5}) {
    CAPTURE(limit);
    CHECK(titles(History(*store, "busy", limit)) ==
          std::vector<std::string>{"rev 9"});
  }
  for (int limit : {10, 11, 1000, 1'000'000}) {
    CAPTURE(limit);
    std::vector<HistoryEntry> all = History(*store, "busy", limit);
    REQUIRE(all.size() == 10);
    CHECK(all.front().action == "create");
  }
}

TEST_CASE("store: concurrent edits each record exactly one entry, in order") {
  auto store = Make();
  MustCreate(*store, NewLink("contended"));
  constexpr int kThreads = 8;
  constexpr int kEdits = 50;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEdits; ++i) {
        LinkPatch patch;  // unique per edit, so every one is a change
        patch.title =
            "thread " + std::to_string(t) + " edit " + std::to_string(i);
        if (!store
                 ->UpdateLink("contended", patch, kNow + i,
                              "actor-" + std::to_string(t))
                 .ok()) {
          ++errors;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(errors == 0);

  std::vector<HistoryEntry> history = History(*store, "contended");
  REQUIRE(history.size() == 1 + kThreads * kEdits);
  CHECK(history.front().action == "create");
  std::set<std::string> titles;
  for (size_t i = 1; i < history.size(); ++i) {
    CAPTURE(i);
    CHECK(history[i].seq > history[i - 1].seq);
    CHECK(history[i].action == "edit");
    nlohmann::json changes = Changes(history[i]);
    titles.insert(changes["title"][1].get<std::string>());
    // Each entry's "before" is the previous entry's "after": no lost update.
    if (i > 1) {
      CHECK(changes["title"][0] == Changes(history[i - 1])["title"][1]);
    }
  }
  CHECK(titles.size() == kThreads * kEdits);
  CHECK(Changes(history.back())["title"][1] ==
        MustGet(*store, "contended").title);
}

Token NewToken(const std::string& name, const std::string& id) {
  Token token;
  token.name = name;
  token.id = id;
  token.secret_digest = std::string("\x00\x01\xff", 3) + std::string(29, 'd');
  token.scope = Scope::kWrite;
  token.created_at = kNow;
  token.created_by = "admin";
  return token;
}

void CheckSameToken(const Token& a, const Token& b) {
  CHECK(a.name == b.name);
  CHECK(a.id == b.id);
  CHECK(a.secret_digest == b.secret_digest);
  CHECK(a.scope == b.scope);
  CHECK(a.created_at == b.created_at);
  CHECK(a.created_by == b.created_by);
  CHECK(a.last_used_at == b.last_used_at);
  CHECK(a.expires_at == b.expires_at);
  CHECK(a.revoked_at == b.revoked_at);
}

Token MustFindToken(Store& store, const std::string& id) {
  Result<Token> token = store.FindToken(id);
  INFO("find token ", id, ": ", token.status().message());
  REQUIRE(token.ok());
  return *token;
}

std::vector<std::string> TokenNames(Store& store) {
  Result<std::vector<Token>> tokens = store.ListTokens();
  INFO(tokens.status().message());
  REQUIRE(tokens.ok());
  std::vector<std::string> names;
  for (const Token& token : *tokens) names.push_back(token.name);
  return names;
}

TEST_CASE("store: tokens round-trip every field") {
  auto store = Make();
  CHECK(TokenNames(*store).empty());

  Token full = NewToken("deploy", "id-deploy");
  full.scope = Scope::kAdmin;
  full.last_used_at = kNow + 5;
  full.expires_at = kNow + 3600;
  full.revoked_at = kNow + 7;
  REQUIRE(store->CreateToken(full).ok());
  CheckSameToken(MustFindToken(*store, "id-deploy"), full);

  Token bare = NewToken("bare", "id-bare");
  bare.scope = Scope::kRead;
  REQUIRE(store->CreateToken(bare).ok());
  Token found = MustFindToken(*store, "id-bare");
  CheckSameToken(found, bare);
  CHECK_FALSE(found.last_used_at.has_value());
  CHECK_FALSE(found.expires_at.has_value());
  CHECK_FALSE(found.revoked_at.has_value());

  Token write = NewToken("writer", "id-writer");
  write.secret_digest = std::string(32, '\0');
  REQUIRE(store->CreateToken(write).ok());
  CheckSameToken(MustFindToken(*store, "id-writer"), write);

  // Ids are exact: no case folding.
  CHECK(store->FindToken("ID-BARE").status().code() == Code::kNotFound);
}

TEST_CASE("store: tokens list by name, revoked and expired ones too") {
  auto store = Make();
  Token expired = NewToken("middle", "id-2");
  expired.expires_at = kNow - 10;
  for (const Token& token :
       {NewToken("zulu", "id-1"), expired, NewToken("alpha", "id-3")}) {
    REQUIRE(store->CreateToken(token).ok());
  }
  REQUIRE(store->RevokeToken("zulu", kNow).ok());
  CHECK(TokenNames(*store) ==
        std::vector<std::string>{"alpha", "middle", "zulu"});
  Result<std::vector<Token>> tokens = store->ListTokens();
  REQUIRE(tokens.ok());
  REQUIRE(tokens->size() == 3);
  CHECK((*tokens)[1].expires_at == kNow - 10);
  CHECK((*tokens)[2].revoked_at == kNow);

  // Finding does not judge: the caller decides what revoked or expired means.
  CHECK(MustFindToken(*store, "id-1").revoked_at == kNow);
  CHECK(MustFindToken(*store, "id-2").expires_at == kNow - 10);
}

TEST_CASE(
    "store: a taken token name or id is AlreadyExists, changing nothing") {
  auto store = Make();
  Token first = NewToken("ci", "id-ci");
  REQUIRE(store->CreateToken(first).ok());

  Token same_name = NewToken("ci", "id-other");
  same_name.scope = Scope::kAdmin;
  Status status = store->CreateToken(same_name);
  CHECK(status.code() == Code::kAlreadyExists);
  CHECK(status.message().find("token 'ci' already exists") !=
        std::string::npos);

  Token same_id = NewToken("other", "id-ci");
  status = store->CreateToken(same_id);
  CHECK(status.code() == Code::kAlreadyExists);

  CHECK(TokenNames(*store) == std::vector<std::string>{"ci"});
  CheckSameToken(MustFindToken(*store, "id-ci"), first);
  CHECK(store->FindToken("id-other").status().code() == Code::kNotFound);

  // A revoked token's name stays taken.
  REQUIRE(store->RevokeToken("ci", kNow).ok());
  CHECK(store->CreateToken(NewToken("ci", "id-new")).code() ==
        Code::kAlreadyExists);
}

TEST_CASE("store: revoking keeps the first time; touching records the use") {
  auto store = Make();
  REQUIRE(store->CreateToken(NewToken("ops", "id-ops")).ok());
  REQUIRE(store->CreateToken(NewToken("other", "id-other")).ok());

  REQUIRE(store->TouchToken("id-ops", kNow + 1).ok());
  CHECK(MustFindToken(*store, "id-ops").last_used_at == kNow + 1);
  REQUIRE(store->TouchToken("id-ops", kNow + 2).ok());
  CHECK(MustFindToken(*store, "id-ops").last_used_at == kNow + 2);
  REQUIRE(store->TouchToken("id-ops", kNow + 2).ok());  // same time again

  REQUIRE(store->RevokeToken("ops", kNow + 10).ok());
  CHECK(MustFindToken(*store, "id-ops").revoked_at == kNow + 10);
  REQUIRE(store->RevokeToken("ops", kNow + 20).ok());
  Token revoked = MustFindToken(*store, "id-ops");
  CHECK(revoked.revoked_at == kNow + 10);
  CHECK(revoked.last_used_at == kNow + 2);

  // Nothing else moved.
  Token other = MustFindToken(*store, "id-other");
  CHECK_FALSE(other.revoked_at.has_value());
  CHECK_FALSE(other.last_used_at.has_value());
}

TEST_CASE("store: missing tokens are NotFound") {
  auto store = Make();
  REQUIRE(store->CreateToken(NewToken("present", "id-present")).ok());
  CHECK(store->FindToken("id-absent").status().code() == Code::kNotFound);
  CHECK(store->FindToken("").status().code() == Code::kNotFound);
  // Revoke is by name, find and touch by id: neither answers to the other.
  CHECK(store->FindToken("present").status().code() == Code::kNotFound);
  Status revoke = store->RevokeToken("absent", kNow);
  CHECK(revoke.code() == Code::kNotFound);
  CHECK(revoke.message().find("no token named 'absent'") != std::string::npos);
  CHECK(store->RevokeToken("id-present", kNow).code() == Code::kNotFound);
  CHECK(store->TouchToken("id-absent", kNow).code() == Code::kNotFound);
  CHECK(store->TouchToken("present", kNow).code() == Code::kNotFound);
  Token present = MustFindToken(*store, "id-present");
  CHECK_FALSE(present.revoked_at.has_value());
  CHECK_FALSE(present.last_used_at.has_value());
}

TEST_CASE("store: a password hash is set, replaced and removed by patch") {
  auto store = Make();
  MustCreate(*store, NewLink("locked"));
  LinkPatch set;
  set.password_hash = std::string(kSomeHash);
  Link after = MustUpdate(*store, "locked", set, kNow + 1, "alice");
  CHECK(after.password_hash == kSomeHash);
  CHECK(after.updated_at == kNow + 1);
  CHECK(MustGet(*store, "LOCKED").password_hash == kSomeHash);

  // Other patches leave it alone.
  LinkPatch title;
  title.title = "still locked";
  CHECK(MustUpdate(*store, "locked", title, kNow + 2, "alice").password_hash ==
        kSomeHash);

  LinkPatch replace;
  replace.password_hash = std::string(kSomeHash) + "X";
  CHECK(MustUpdate(*store, "locked", replace, kNow + 3, "bob").password_hash ==
        std::string(kSomeHash) + "X");
  // The same hash again changes nothing and records nothing.
  MustUpdate(*store, "locked", replace, kNow + 4, "bob");

  LinkPatch clear;
  clear.password_hash = std::string();
  CHECK(MustUpdate(*store, "locked", clear, kNow + 5, "carol")
            .password_hash.empty());
  CHECK(MustGet(*store, "locked").password_hash.empty());
  // Listing shows the field as stored.
  MustUpdate(*store, "locked", set, kNow + 6, "carol");
  ListQuery query = Query();
  Result<LinkPage> page = store->ListLinks(query);
  REQUIRE(page.ok());
  REQUIRE(page->links.size() == 1);
  CHECK(page->links[0].password_hash == kSomeHash);
}

TEST_CASE(
    "store: history says a password was set, changed or removed, never "
    "the hash") {
  auto store = Make();
  Link link = NewLink("pw");
  link.password_hash = kSomeHash;
  MustCreate(*store, link);
  LinkPatch change;
  change.password_hash = std::string(kSomeHash) + "2";
  MustUpdate(*store, "pw", change, kNow + 1, "alice");
  LinkPatch clear;
  clear.password_hash = std::string();
  MustUpdate(*store, "pw", clear, kNow + 2, "alice");
  LinkPatch set;
  set.password_hash = std::string(kSomeHash);
  MustUpdate(*store, "pw", set, kNow + 3, "alice");
  REQUIRE(store->DeleteLink("pw", kNow + 4, "alice").ok());

  std::vector<HistoryEntry> history = History(*store, "pw");
  REQUIRE(history.size() == 5);
  using nlohmann::json;
  CHECK(Changes(history[0])["password"] == json::array({nullptr, "set"}));
  CHECK(Changes(history[1]) == json{{"password", {"set", "changed"}}});
  CHECK(Actions(history)[1] == "edit");
  CHECK(Changes(history[2]) == json{{"password", {"set", "none"}}});
  CHECK(Changes(history[3]) == json{{"password", {"none", "set"}}});
  CHECK(Changes(history[4])["password"] == json::array({"set", nullptr}));
  for (const HistoryEntry& entry : history) {
    CAPTURE(entry.changes);
    CHECK(entry.changes.find("scrypt") == std::string::npos);
    CHECK(entry.changes.find("ghw4") == std::string::npos);
  }
  // A link without a password records "none" at its creation.
  MustCreate(*store, NewLink("open"));
  CHECK(Changes(History(*store, "open")[0])["password"] ==
        json::array({nullptr, "none"}));
}

TEST_CASE("store: CreateLinkOnce creates once per key and replays after") {
  auto store = Make();
  Link first = NewLink("Once");
  first.created_by = "alice";
  first.tags = {"t"};
  Result<CreatedLink> made = store->CreateLinkOnce(first, "key-1");
  INFO(made.status().message());
  REQUIRE(made.ok());
  CHECK_FALSE(made->replayed);
  CHECK(made->link.slug == "Once");
  CHECK(made->link.tags == std::vector<std::string>{"t"});

  // A retry, even one that would make another slug, gets the first link.
  Link retry = NewLink("other", kNow + 30);
  retry.created_by = "alice";
  Result<CreatedLink> again = store->CreateLinkOnce(retry, "key-1");
  INFO(again.status().message());
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CheckSameLink(again->link, MustGet(*store, "once"));
  CHECK(store->GetLink("other").status().code() == Code::kNotFound);
  CHECK(History(*store, "Once").size() == 1);
  CHECK(History(*store, "other").empty());
  CHECK(store->Info()->links == 1);

  // The link as stored now, edits and all.
  LinkPatch edit;
  edit.title = "edited";
  MustUpdate(*store, "once", edit, kNow + 40, "bob");
  again = store->CreateLinkOnce(retry, "key-1");
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->link.title == "edited");

  // Another key is another link.
  Result<CreatedLink> second = store->CreateLinkOnce(retry, "key-2");
  REQUIRE(second.ok());
  CHECK_FALSE(second->replayed);
  CHECK(second->link.slug == "other");
  CHECK(store->Info()->links == 2);

  // Keys are exact: no folding.
  Link third = NewLink("third", kNow + 50);
  third.created_by = "alice";
  Result<CreatedLink> upper = store->CreateLinkOnce(third, "KEY-1");
  REQUIRE(upper.ok());
  CHECK_FALSE(upper->replayed);
}

TEST_CASE("store: CreateLinkOnce refuses a key whose link was deleted") {
  auto store = Make();
  Link link = NewLink("doomed");
  REQUIRE(store->CreateLinkOnce(link, "k").ok());
  REQUIRE(store->DeleteLink("doomed", kNow + 1, "tester").ok());
  Result<CreatedLink> again = store->CreateLinkOnce(link, "k");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kAlreadyExists);
  CHECK(again.status().message().find(
            "idempotency key was used for a link since deleted") !=
        std::string::npos);
  CHECK(store->GetLink("doomed").status().code() == Code::kNotFound);

  // Nor does a later link of the same slug answer for the key.
  MustCreate(*store, NewLink("doomed", kNow + 2));
  again = store->CreateLinkOnce(NewLink("elsewhere", kNow + 3), "k");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kAlreadyExists);
  CHECK(store->GetLink("elsewhere").status().code() == Code::kNotFound);
}

TEST_CASE("store: CreateLinkOnce: another creator's key is refused") {
  auto store = Make();
  Link mine = NewLink("mine");
  mine.created_by = "alice";
  REQUIRE(store->CreateLinkOnce(mine, "shared-key").ok());
  Link theirs = NewLink("theirs");
  theirs.created_by = "mallory";
  Result<CreatedLink> r = store->CreateLinkOnce(theirs, "shared-key");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAlreadyExists);
  CHECK(store->GetLink("theirs").status().code() == Code::kNotFound);
}

TEST_CASE("store: CreateLinkOnce: a taken slug records no key") {
  auto store = Make();
  MustCreate(*store, NewLink("taken"));
  Result<CreatedLink> r = store->CreateLinkOnce(NewLink("TAKEN"), "fresh");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kAlreadyExists);
  CHECK(r.status().message().find("slug 'TAKEN' is taken") !=
        std::string::npos);
  // The key is still free: a try with a free slug creates.
  Result<CreatedLink> next = store->CreateLinkOnce(NewLink("free"), "fresh");
  REQUIRE(next.ok());
  CHECK_FALSE(next->replayed);
  CHECK(next->link.slug == "free");
  CHECK(store->CreateLinkOnce(NewLink("x"), "").status().code() ==
        Code::kInvalidArgument);
  CHECK(store->GetLink("x").status().code() == Code::kNotFound);
}

TEST_CASE("store: CreateLinkOnce forgets keys after a day") {
  auto store = Make();
  REQUIRE(store->CreateLinkOnce(NewLink("day-one"), "daily").ok());
  // Just within the day: replayed.
  Result<CreatedLink> r = store->CreateLinkOnce(
      NewLink("day-two", kNow + kIdempotencyKeySeconds), "daily");
  REQUIRE(r.ok());
  CHECK(r->replayed);
  CHECK(r->link.slug == "day-one");
  // Past it: the key makes a new link.
  r = store->CreateLinkOnce(
      NewLink("day-two", kNow + kIdempotencyKeySeconds + 1), "daily");
  REQUIRE(r.ok());
  CHECK_FALSE(r->replayed);
  CHECK(r->link.slug == "day-two");
  // And is remembered for that one from then on.
  r = store->CreateLinkOnce(
      NewLink("day-three", kNow + kIdempotencyKeySeconds + 2), "daily");
  REQUIRE(r.ok());
  CHECK(r->replayed);
  CHECK(r->link.slug == "day-two");
}

TEST_CASE("store: concurrent creates with one key make exactly one link") {
  auto store = Make();
  constexpr int kThreads = 8;
  std::atomic<int> created{0};
  std::atomic<int> replayed{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Result<CreatedLink> r =
          store->CreateLinkOnce(NewLink("race-" + std::to_string(t)), "race");
      if (!r.ok()) {
        ++failed;
      } else if (r->replayed) {
        ++replayed;
      } else {
        ++created;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(created == 1);
  CHECK(replayed == kThreads - 1);
  CHECK(failed == 0);
  CHECK(store->Info()->links == 1);
}

TEST_CASE("store: Ping answers OK while the store serves, from many threads") {
  auto store = Make();
  Status fresh = store->Ping();
  INFO(fresh.message());
  CHECK(fresh.ok());
  MustCreate(*store, NewLink("pinged"));
  REQUIRE(store->AddVisits({{"pinged", 3}}).ok());
  CHECK(store->Ping().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!store->Ping().ok()) ++failures;
        if (!store->GetLink("pinged").ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  // Ping only reads.
  CHECK(MustGet(*store, "pinged").visits == 3);
  CHECK(store->Info()->links == 1);
}

// --- Import and export pages -----------------------------------------

ImportedLink Imported(const std::string& slug, const std::string& target) {
  ImportedLink imported;
  imported.link = NewLink(slug, kNow - 1000);
  imported.link.target = target;
  imported.link.created_by = "source-owner";
  return imported;
}

std::vector<ImportOutcome> MustImport(Store& store,
                                      const std::vector<ImportedLink>& links,
                                      const std::string& actor = "importer") {
  Result<std::vector<ImportOutcome>> outcomes =
      store.ImportLinks(links, kNow, actor);
  INFO(outcomes.status().message());
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes->size() == links.size());
  return *outcomes;
}

TEST_CASE(
    "store: ImportLinks keeps every field, the source history and "
    "records the import") {
  auto store = Make();
  ImportedLink full = Imported("Full", "https://example.com/full");
  Link& link = full.link;
  link.title = "t\"i\\t/l\u00e9 \u2014 \U0001F600 \x7f";
  link.note = "note\nwith\ttabs\r and \x01 \x1f";
  link.tags = {"z", "a", "z"};
  link.status = 308;
  link.created_at = kNow - 5000;
  link.updated_at = kNow - 4000;
  link.expires_at = kNow - 10;  // already expired: imported as it is
  link.max_visits = 50;
  link.visits = 49;
  link.disabled = true;
  link.password_hash = kSomeHash;
  HistoryEntry made;
  made.at = kNow - 5000;
  made.actor = "ada";
  made.action = "create";
  made.changes = R"({"target":[null,"https://example.com/full"]})";
  HistoryEntry edited = made;
  edited.at = kNow - 4000;
  edited.actor = "bob";
  edited.action = "edit";
  edited.changes = R"({"title":["","title"]})";
  full.history = {made, edited};

  CHECK(MustImport(*store, {full}) ==
        std::vector<ImportOutcome>{ImportOutcome::kImported});
  Link expected = link;
  expected.tags = {"a", "z"};
  CheckSameLink(MustGet(*store, "full"), expected);

  std::vector<HistoryEntry> history = History(*store, "FULL");
  REQUIRE(history.size() == 3);
  CHECK(Actions(history) ==
        std::vector<std::string>{"create", "edit", "import"});
  CHECK(history[0].actor == "ada");
  CHECK(history[0].at == kNow - 5000);
  CHECK(history[0].changes == made.changes);
  CHECK(history[1].actor == "bob");
  CHECK(history[2].actor == "importer");
  CHECK(history[2].at == kNow);
  CHECK(history[2].slug == "Full");
  using nlohmann::json;
  // The changes of a create, to the byte.
  CHECK(history[2].changes == LinkChanges(std::nullopt, expected));
  json changes = Changes(history[2]);
  CHECK(changes["target"] ==
        json::array({nullptr, "https://example.com/full"}));
  CHECK(changes["tags"] == json::array({nullptr, {"a", "z"}}));
  CHECK(changes["password"] == json::array({nullptr, "set"}));
  // The stored link is served like any other.
  CHECK(store->Info()->links == 1);
}

TEST_CASE(
    "store: ImportLinks: present, taken, and earlier links of the "
    "batch; a second import adds nothing") {
  auto store = Make();
  MustCreate(*store, NewLink("old"));  // target https://example.com/old
  const std::vector<ImportedLink> batch = {
      Imported("old", "https://example.com/old"),    // same target
      Imported("OLD", "https://example.com/old"),    // folded: same link
      Imported("Old", "https://example.com/other"),  // another target
      Imported("new", "https://example.com/new"),
      Imported("NEW", "https://example.com/new"),  // the batch's own
      Imported("New", "https://example.com/else"),
      Imported("more", "https://example.com/more"),
  };
  using O = ImportOutcome;
  CHECK(MustImport(*store, batch) ==
        std::vector<O>{O::kAlreadyPresent, O::kAlreadyPresent, O::kSlugTaken,
                       O::kImported, O::kAlreadyPresent, O::kSlugTaken,
                       O::kImported});
  CHECK(store->Info()->links == 3);
  CHECK(MustGet(*store, "new").slug == "new");
  CHECK(MustGet(*store, "new").created_by == "source-owner");
  CHECK(MustGet(*store, "old").created_by == "tester");  // never overwritten
  CHECK(History(*store, "old").size() == 1);
  const Link plain = MustGet(*store, "new");
  CHECK(History(*store, "new").back().changes ==
        LinkChanges(std::nullopt, plain));

  CHECK(MustImport(*store, batch) ==
        std::vector<O>{O::kAlreadyPresent, O::kAlreadyPresent, O::kSlugTaken,
                       O::kAlreadyPresent, O::kAlreadyPresent, O::kSlugTaken,
                       O::kAlreadyPresent});
  CHECK(store->Info()->links == 3);
  CHECK(History(*store, "new").size() == 1);  // one import, not two
  CHECK(MustImport(*store, {}).empty());
}

TEST_CASE("store: ImportLinks: a refused batch stores nothing") {
  auto store = Make();
  std::vector<ImportedLink> batch = {Imported("fine", "https://e.com/"),
                                     Imported("", "https://e.com/")};
  Result<std::vector<ImportOutcome>> outcomes =
      store->ImportLinks(batch, kNow, "importer");
  REQUIRE_FALSE(outcomes.ok());
  CHECK(outcomes.status().code() == Code::kInvalidArgument);
  CHECK(store->GetLink("fine").status().code() == Code::kNotFound);
  CHECK(store->Info()->links == 0);
  CHECK(History(*store, "fine").empty());
}

TEST_CASE("store: ImportLinks in case-sensitive mode keeps case apart") {
  auto store = Make(/*case_sensitive=*/true);
  using O = ImportOutcome;
  CHECK(MustImport(*store, {Imported("a", "https://e.com/1"),
                            Imported("A", "https://e.com/2")}) ==
        std::vector<O>{O::kImported, O::kImported});
  CHECK(MustGet(*store, "A").target == "https://e.com/2");
}

std::vector<std::string> AllLinkPages(Store& store, int limit) {
  const int clamped = std::clamp(limit, 1, 1000);
  std::vector<std::string> slugs;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 1000);
    Result<LinkPage> page = store.ListAllLinks(cursor, limit);
    INFO(page.status().message());
    REQUIRE(page.ok());
    CHECK(static_cast<int>(page->links.size()) <= clamped);
    for (const std::string& slug : Slugs(*page)) slugs.push_back(slug);
    if (page->next_cursor.empty()) break;
    CHECK(static_cast<int>(page->links.size()) == clamped);
    cursor = page->next_cursor;
  }
  return slugs;
}

TEST_CASE("store: ListAllLinks visits every link once, by folded slug") {
  auto store = Make();
  // Created in another order than their slugs'; some inactive.
  const std::vector<std::string> made = {"m", "B", "a-1", "Z9", "c_",
                                         "a", "9", "zz",  "A0"};
  UnixTime t = kNow;
  for (const std::string& slug : made) {
    Link link = NewLink(slug, t--);
    if (slug == "Z9") link.disabled = true;
    if (slug == "c_") link.expires_at = kNow - 100;
    MustCreate(*store, link);
  }
  const std::vector<std::string> want = {"9",  "a", "a-1", "A0", "B",
                                         "c_", "m", "Z9",  "zz"};
  for (int limit : {1, 2, 4, 9, 1000, 5000, 0}) {
    CAPTURE(limit);
    CHECK(AllLinkPages(*store, limit) == want);
  }
  Result<LinkPage> page = store->ListAllLinks("", 3);
  REQUIRE(page.ok());
  CHECK(page->links[0].target == "https://example.com/9");
  CHECK_FALSE(page->next_cursor.empty());
  for (const std::string& bad :
       {std::string("-x"), std::string("A"), std::string("a b"),
        std::string(65, 'a'), std::string("a\0", 2)}) {
    CAPTURE(bad);
    Result<LinkPage> refused = store->ListAllLinks(bad, 10);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::kInvalidArgument);
  }
  Result<LinkPage> empty = Make()->ListAllLinks("", 10);
  REQUIRE(empty.ok());
  CHECK(empty->links.empty());
  CHECK(empty->next_cursor.empty());
}

}  // namespace
}  // namespace shorty
