#include "shared/link_service.h"

#include <algorithm>
#include <utility>

#include "shared/password.h"
#include "shared/text.h"
#include "shared/timeparse.h"

namespace shorty {
namespace {

// How many generated slugs a create tries before it gives up; with the
// length policy lengthening slugs as the space fills, this is never reached
// in practice.
constexpr int kMaxGenerateAttempts = 12;

bool IsAllowedStatus(int status) {
  return status == 301 || status == 302 || status == 307 || status == 308;
}

// Well-formed UTF-8 without control characters (a note may hold newlines
// and tabs). Titles and notes end up in HTML pages and terminal tables.
bool IsCleanText(std::string_view s, bool allow_newlines) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size()) {
    if (!DecodeUtf8(s, &i, &cp)) return false;
    if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9F)) return false;  // DEL, C1
    if (cp < 0x20 && !(allow_newlines && (cp == '\n' || cp == '\t'))) {
      return false;
    }
  }
  return true;
}

Status ValidateTag(const std::string& tag) {
  if (tag.empty())
    return Status::InvalidArgument("tags: a tag cannot be empty");
  if (tag.size() > kMaxTagBytes) {
    // The tag itself is not quoted: cut anywhere it may not be text.
    return Status::InvalidArgument("tags: a tag is longer than 50 bytes");
  }
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    bool punct = c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
    if (!alnum && !(i > 0 && punct)) {
      return Status::InvalidArgument(
          "tags: a tag is letters and digits, then also '-', '_', '.', ':' "
          "or '/'; '" +
          (IsCleanText(tag, false) ? tag : std::string("(unprintable)")) +
          "' is not");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > 128) {
    return Status::BadRequest(
        "Idempotency-Key: must be 1 to 128 characters long");
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return Status::BadRequest(
          "Idempotency-Key: use only letters, digits, '-' and '_'");
    }
  }
  return Status::Ok();
}

LinkService::LinkService(Store* store, VisitLedger* ledger,
                         RandomSource* random, Clock clock,
                         ServiceOptions options, size_t cache_entries)
    : store_(store),
      ledger_(ledger),
      random_(random),
      clock_(std::move(clock)),
      length_policy_(options.slug_length),
      cache_(cache_entries) {
  options_ = std::make_shared<const ServiceOptions>(std::move(options));
}

void LinkService::SetOptions(ServiceOptions options) {
  auto next = std::make_shared<const ServiceOptions>(std::move(options));
  std::lock_guard<std::mutex> lock(mu_);
  if (next->slug_length != options_->slug_length) {
    length_policy_ = SlugLengthPolicy(next->slug_length);
  }
  options_ = std::move(next);
}

std::shared_ptr<const ServiceOptions> LinkService::Options() const {
  std::lock_guard<std::mutex> lock(mu_);
  return options_;
}

ServiceOptions LinkService::options() const { return *Options(); }

std::string LinkService::ShortUrl(const std::string& slug) const {
  return Options()->public_url + "/" + slug;
}

Verdict LinkService::StateOf(const Link& link) const {
  return Decide(link, clock_(), link.visits);
}

Status LinkService::ValidateFields(
    const std::optional<std::string>& title,
    const std::optional<std::string>& note, std::vector<std::string>* tags,
    const std::optional<int>& status,
    const std::optional<int64_t>& max_visits) const {
  if (title) {
    if (title->size() > kMaxTitleBytes) {
      return Status::InvalidArgument("title: longer than 300 bytes");
    }
    if (!IsCleanText(*title, false)) {
      return Status::InvalidArgument(
          "title: must be UTF-8 text without control characters");
    }
  }
  if (note) {
    if (note->size() > kMaxNoteBytes) {
      return Status::InvalidArgument("note: longer than 2000 bytes");
    }
    if (!IsCleanText(*note, true)) {
      return Status::InvalidArgument(
          "note: must be UTF-8 text without control characters other than "
          "newlines and tabs");
    }
  }
  if (tags) {
    for (const auto& tag : *tags) {
      Status s = ValidateTag(tag);
      if (!s.ok()) return s;
    }
    std::sort(tags->begin(), tags->end());
    tags->erase(std::unique(tags->begin(), tags->end()), tags->end());
    if (tags->size() > kMaxTags) {
      return Status::InvalidArgument("tags: at most 20 tags a link");
    }
  }
  if (status && !IsAllowedStatus(*status)) {
    return Status::InvalidArgument("status: " + std::to_string(*status) +
                                   " is not a redirect status; use 301, 302, "
                                   "307 or 308");
  }
  if (max_visits && (*max_visits < 1 || *max_visits > kMaxVisitLimit)) {
    return Status::InvalidArgument(
        "max_visits: must be a whole number from 1 to 1000000000000");
  }
  return Status::Ok();
}

Result<Link> LinkService::Create(const LinkInput& input,
                                 const std::string& actor) {
  Result<CreatedLink> created = CreateLink(input, actor, "");
  if (!created.ok()) return created.status();
  return std::move(created->link);
}

Result<CreatedLink> LinkService::CreateOnce(const LinkInput& input,
                                            const std::string& actor,
                                            std::string_view idempotency_key) {
  if (Status s = ValidateIdempotencyKey(idempotency_key); !s.ok()) return s;
  return CreateLink(input, actor, idempotency_key);
}

Result<CreatedLink> LinkService::CreateLink(const LinkInput& input,
                                            const std::string& actor,
                                            std::string_view idempotency_key) {
  auto opts = Options();
  Result<std::string> target = NormalizeTarget(input.target, opts->rules);
  if (!target.ok()) return target.status();

  std::vector<std::string> tags = input.tags;
  Status s = ValidateFields(input.title, input.note, &tags, input.status,
                            input.max_visits);
  if (!s.ok()) return s;

  UnixTime now = clock_();
  if (input.expires_at && *input.expires_at <= now) {
    return Status::InvalidArgument(
        "expires_at: " + FormatTime(*input.expires_at) +
        " is not in the future");
  }

  Link link;
  link.target = std::move(*target);
  link.title = input.title;
  link.note = input.note;
  link.tags = std::move(tags);
  link.status = input.status.value_or(opts->default_status);
  link.created_at = now;
  link.updated_at = now;
  link.created_by = actor;
  link.expires_at = input.expires_at;
  link.max_visits = input.max_visits;

  if (input.slug) {
    s = ValidateCustomSlug(*input.slug);
    if (!s.ok()) return s;
  }
  // Hashed last: scrypt is the costly step, not spent on a refused input.
  if (input.password) {
    Result<std::string> hash = HashPassword(*input.password, *random_);
    if (!hash.ok()) return hash.status();
    link.password_hash = std::move(*hash);
  }
  auto store = [&]() -> Result<CreatedLink> {
    if (idempotency_key.empty()) {
      Result<Link> created = store_->CreateLink(link);
      if (!created.ok()) return created.status();
      return CreatedLink{std::move(*created), false};
    }
    return store_->CreateLinkOnce(link, idempotency_key);
  };

  if (input.slug) {
    link.slug = *input.slug;
    return store();
  }

  int collisions = 0;
  for (int attempt = 0; attempt < kMaxGenerateAttempts; ++attempt) {
    size_t length;
    {
      std::lock_guard<std::mutex> lock(mu_);
      length = length_policy_.length();
    }
    link.slug = GenerateSlug(*random_, length);
    Result<CreatedLink> created = store();
    // With a key, AlreadyExists may be about the key, not the slug: only a
    // slug that is really taken is a collision worth another try.
    bool collided =
        created.status().code() == Code::kAlreadyExists &&
        (idempotency_key.empty() || store_->GetLink(link.slug).ok());
    if (!collided) {
      std::lock_guard<std::mutex> lock(mu_);
      length_policy_.Record(collisions);
      return created;
    }
    ++collisions;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    length_policy_.Record(collisions);
  }
  return Status::Unavailable(
      "slug: no free slug found after 12 tries; try again, or raise "
      "links.slug_length");
}

void LinkService::AddPending(Link* link) const {
  link->visits +=
      ledger_->Pending(SlugKey(link->slug, Options()->case_sensitive));
}

Result<Link> LinkService::Get(std::string_view slug) {
  Result<Link> link = store_->GetLink(slug);
  if (link.ok()) AddPending(&*link);
  return link;
}

Result<Link> LinkService::Update(std::string_view slug, const LinkPatch& patch,
                                 const std::string& actor) {
  return Update(slug, LinkEdit{patch, std::nullopt}, actor);
}

Result<Link> LinkService::Update(std::string_view slug, const LinkEdit& edit,
                                 const std::string& actor) {
  if (edit.empty()) {
    return Status::InvalidArgument(
        "nothing to change: give at least one field to edit");
  }
  if (edit.patch.password_hash) {
    return Status::InvalidArgument(
        "password: give the password itself; shorty stores only its hash");
  }
  LinkPatch patch = edit.patch;
  if (patch.target) {
    Result<std::string> target =
        NormalizeTarget(*patch.target, Options()->rules);
    if (!target.ok()) return target.status();
    patch.target = std::move(*target);
  }
  std::optional<int64_t> max_visits;
  if (patch.max_visits && *patch.max_visits) max_visits = **patch.max_visits;
  Status s = ValidateFields(patch.title, patch.note,
                            patch.tags ? &*patch.tags : nullptr, patch.status,
                            max_visits);
  if (!s.ok()) return s;
  if (edit.password) {
    if (edit.password->empty()) {
      patch.password_hash = "";
    } else {
      Result<std::string> hash = HashPassword(*edit.password, *random_);
      if (!hash.ok()) return hash.status();
      patch.password_hash = std::move(*hash);
    }
  }
  Result<Link> link = store_->UpdateLink(slug, patch, clock_(), actor);
  // After the commit, so a visit that reads the store from now on sees the
  // change, and one that read it before cannot cache what it read.
  Forget(slug);
  if (link.ok()) AddPending(&*link);
  return link;
}

Status LinkService::Delete(std::string_view slug, const std::string& actor) {
  Status s = store_->DeleteLink(slug, clock_(), actor);
  Forget(slug);
  return s;
}

void LinkService::Forget(std::string_view slug) {
  cache_.Invalidate(SlugKey(slug, Options()->case_sensitive));
}

Result<std::shared_ptr<const Link>> LinkService::FindForVisit(
    std::string_view slug) {
  const std::string key = SlugKey(slug, Options()->case_sensitive);
  RedirectCache::Lookup cached = cache_.Find(key);
  if (cached.link) return cached.link;
  Result<Link> found = store_->GetLink(slug);
  if (!found.ok()) return found.status();
  auto link = std::make_shared<Link>(std::move(*found));
  // A visit needs the target and the rules, not the words around them.
  link->title.clear();
  link->note.clear();
  link->tags.clear();
  link->created_by.clear();
  std::shared_ptr<const Link> kept = std::move(link);
  // A link with a visit limit is counted in the store on every visit, so
  // a cached copy's count would be stale at once; it is read afresh each
  // time, which costs little beside the write its visit makes anyway.
  if (!kept->max_visits) cache_.Insert(key, kept, cached.ticket);
  return kept;
}

Result<std::vector<HistoryEntry>> LinkService::History(std::string_view slug,
                                                       int limit) {
  if (limit < 1 || limit > 1000) {
    return Status::InvalidArgument("limit: must be from 1 to 1000");
  }
  return store_->LinkHistory(slug, limit);
}

Result<LinkStats> LinkService::Stats(std::string_view slug, StatsQuery query) {
  query.now = clock_();
  Status checked = CheckStatsQuery(query);
  if (!checked.ok()) return checked;
  // From the start of the first bucket shown: a bucket rolled up into a
  // day starts at midnight, before an hourly range's first hour.
  Result<std::vector<VisitBucket>> buckets =
      store_->LinkVisits(slug, DayOf(query.since));
  if (!buckets.ok()) return buckets.status();
  return SumStats(*buckets, query);
}

Result<LinkPage> LinkService::List(ListQuery query) {
  if (query.limit < 1 || query.limit > 1000) {
    return Status::InvalidArgument("limit: must be from 1 to 1000");
  }
  query.now = clock_();
  Result<LinkPage> page = store_->ListLinks(query);
  if (page.ok()) {
    for (Link& link : page->links) AddPending(&link);
  }
  return page;
}

Result<RedirectOutcome> LinkService::Resolve(std::string_view slug,
                                             std::string_view extra_path,
                                             std::string_view query, bool count,
                                             const VisitTraits& traits) {
  Result<std::shared_ptr<const Link>> found = FindForVisit(slug);
  if (!found.ok()) return found.status();
  const Link& link = **found;
  RedirectOutcome out;
  // Links with a visit limit are counted in the store at once, so the
  // stored count is exact for them and pending counts matter to no verdict.
  out.verdict = Decide(link, clock_(), link.visits);
  if (out.verdict != Verdict::kRedirect) return out;
  if (!link.password_hash.empty()) {
    out.locked = true;
    return out;
  }
  return Redirect(link, slug, extra_path, query, count, traits);
}

Result<RedirectOutcome> LinkService::Unlock(std::string_view slug,
                                            std::string_view extra_path,
                                            std::string_view query,
                                            std::string_view password,
                                            const VisitTraits& traits) {
  Result<std::shared_ptr<const Link>> found = FindForVisit(slug);
  if (!found.ok()) return found.status();
  const Link& link = **found;
  RedirectOutcome out;
  out.verdict = Decide(link, clock_(), link.visits);
  if (out.verdict != Verdict::kRedirect) return out;
  if (!link.password_hash.empty() &&
      !VerifyPassword(password, link.password_hash)) {
    return Status::Unauthorized("password: that is not the link's password");
  }
  return Redirect(link, slug, extra_path, query, /*count=*/true, traits);
}

Result<RedirectOutcome> LinkService::Redirect(const Link& link,
                                              std::string_view slug,
                                              std::string_view extra_path,
                                              std::string_view query,
                                              bool count,
                                              const VisitTraits& traits) {
  auto opts = Options();
  RedirectOutcome out;
  // The target was checked when written; it is checked again here so a row
  // changed behind shorty's back, or a tightened rule, is never served.
  Result<std::string> location =
      BuildLocation(link.target, extra_path, query, opts->rules);
  if (!location.ok()) {
    if (!NormalizeTarget(link.target, opts->rules).ok()) {
      // The stored target itself no longer passes the rules (changed behind
      // shorty's back, or the rules tightened): the link is out of service,
      // whatever the request added.
      out.verdict = Verdict::kDisabled;
      return out;
    }
    return location.status();
  }
  out.status = link.status;
  out.location = std::move(*location);

  if (count) {
    const UnixTime hour = HourOf(clock_());
    const std::string key = SlugKey(link.slug, opts->case_sensitive);
    if (link.max_visits) {
      Result<bool> counted = store_->ConsumeLimitedVisit(slug);
      if (!counted.ok()) return counted.status();
      if (!*counted) {
        out.verdict = Verdict::kUsedUp;
        out.location.clear();
      } else {
        ledger_->Count(key, hour, traits, /*counted=*/true);
      }
    } else {
      ledger_->Count(key, hour, traits, /*counted=*/false);
    }
  }
  return out;
}

}  // namespace shorty
