// The rules of the product over a Store: what may be created and edited, how
// slugs are chosen, and what a visit to a slug gets. The daemon's HTTP layer
// and control socket call these and nothing below them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/link.h"
#include "shared/random.h"
#include "shared/redirect.h"
#include "shared/redirect_cache.h"
#include "shared/slug.h"
#include "shared/status.h"
#include "shared/store.h"
#include "shared/target.h"
#include "shared/visit.h"

namespace shorty {

// Settings of the service that a config reload may change.
struct ServiceOptions {
  TargetRules rules;
  int default_status = 302;
  size_t slug_length = kDefaultSlugLength;
  bool case_sensitive = false;
  std::string public_url = "http://127.0.0.1:8080";  // no trailing slash
};

// What a create asks for; unset fields take their defaults.
struct LinkInput {
  std::string target;
  std::optional<std::string> slug;  // custom slug; generated when absent
  std::string title;
  std::string note;
  std::vector<std::string> tags;
  std::optional<int> status;
  std::optional<UnixTime> expires_at;
  std::optional<int64_t> max_visits;
  std::optional<std::string> password;  // in plain text; hashed on create
};

// A change as a caller asks for it: the stored fields to replace, and a new
// password in plain text, which the service hashes ("" removes the
// password). patch.password_hash must be left unset: only the service
// writes hashes.
struct LinkEdit {
  LinkPatch patch;
  std::optional<std::string> password;

  bool empty() const { return patch.empty() && !password; }
};

// OK for an Idempotency-Key of 1 to 128 characters of [A-Za-z0-9_-];
// BadRequest "Idempotency-Key: ..." otherwise. Pure.
Status ValidateIdempotencyKey(std::string_view key);

// Visits that were counted but not yet written to the store. The daemon's
// visit counter implements it; tests may use a plain map.
class VisitLedger {
 public:
  virtual ~VisitLedger() = default;
  // Records one visit to the link with this slug key, made in the hour
  // starting at `hour` by a visitor with `traits`. `counted`: the visit was
  // already counted in the store (a link with a visit limit), so only its
  // traits are kept. Thread-safe, no I/O.
  virtual void Count(const std::string& slug_key, UnixTime hour,
                     const VisitTraits& traits, bool counted) = 0;
  // Visits counted and not yet flushed. Thread-safe, no I/O.
  virtual int64_t Pending(const std::string& slug_key) const = 0;
};

// What a request for /{slug}[/extra][?query] gets.
struct RedirectOutcome {
  Verdict verdict = Verdict::kRedirect;
  int status = 302;      // for kRedirect
  std::string location;  // for kRedirect: validated; "" when locked
  // kRedirect, but the link has a password: the visitor must give it to
  // Unlock first. No location, no visit counted.
  bool locked = false;
};

// Limits on the fields a person types.
constexpr size_t kMaxTitleBytes = 300;
constexpr size_t kMaxNoteBytes = 2000;
constexpr size_t kMaxTags = 20;
constexpr size_t kMaxTagBytes = 50;
constexpr int64_t kMaxVisitLimit = 1'000'000'000'000;

// Thread-safe.
class LinkService {
 public:
  using Clock = std::function<UnixTime()>;

  // `cache_entries` bounds the redirect cache (0: no cache). Every write
  // through the service invalidates the link's entry; a write that reaches
  // the store some other way (another node) must call
  // redirect_cache()->Invalidate or Clear.
  LinkService(Store* store, VisitLedger* ledger, RandomSource* random,
              Clock clock, ServiceOptions options, size_t cache_entries = 0);

  // Replaces the options (a config reload). Thread-safe.
  void SetOptions(ServiceOptions options);
  ServiceOptions options() const;

  // Validates and stores a new link created by `actor`. InvalidArgument
  // naming the field and rule; AlreadyExists for a taken custom slug.
  Result<Link> Create(const LinkInput& input, const std::string& actor);

  // Create, at most once per `idempotency_key` (see Store::CreateLinkOnce):
  // a retry with the same key by the same actor within a day gets the link
  // the first made, with replayed = true. BadRequest for a malformed key
  // (ValidateIdempotencyKey); AlreadyExists when the key's link was deleted
  // since or the key was another actor's.
  Result<CreatedLink> CreateOnce(const LinkInput& input,
                                 const std::string& actor,
                                 std::string_view idempotency_key);

  // The link with visits not yet flushed added in. NotFound when absent.
  Result<Link> Get(std::string_view slug);

  // Validates and applies a change by `actor`, recorded in the link's
  // history. An expiry in the past is allowed here: that is how a link is
  // expired early.
  Result<Link> Update(std::string_view slug, const LinkPatch& patch,
                      const std::string& actor);
  // The same, with a new password to hash (or "" to remove it).
  // InvalidArgument "password: ..." for a password too short or too long,
  // or for a patch that sets password_hash itself.
  Result<Link> Update(std::string_view slug, const LinkEdit& edit,
                      const std::string& actor);

  // Deletes a link; its history stays.
  Status Delete(std::string_view slug, const std::string& actor);

  // The slug's history, oldest first, at most `limit` newest entries.
  Result<std::vector<HistoryEntry>> History(std::string_view slug, int limit);

  Result<LinkPage> List(ListQuery query);

  // Resolves a visit. NotFound for an unknown slug; InvalidArgument when the
  // extra path is refused. Counts the visit, made by a visitor with
  // `traits`, when `count` and the verdict is kRedirect: links with a visit
  // limit are counted in the store at once so the limit holds exactly;
  // others through the ledger, which also keeps every counted visit's
  // traits. A link with a password is not resolved: the outcome is locked
  // (when the verdict is kRedirect), with no location and no visit counted.
  Result<RedirectOutcome> Resolve(std::string_view slug,
                                  std::string_view extra_path,
                                  std::string_view query, bool count,
                                  const VisitTraits& traits = {});

  // Resolves a visit that gives a password, as Resolve with count = true
  // would for a link without one: Unauthorized "password: ..." when the
  // link has a password and this is not it (nothing counted); a link
  // without a password resolves whatever is given. The verdict is decided
  // before the password is checked, so a gone link costs no hashing.
  Result<RedirectOutcome> Unlock(std::string_view slug,
                                 std::string_view extra_path,
                                 std::string_view query,
                                 std::string_view password,
                                 const VisitTraits& traits = {});

  // The link's visits from `query.since` to now (query.now is set here),
  // bots apart. NotFound for an unknown slug, InvalidArgument naming the
  // field for a range CheckStatsQuery refuses. Visits of the last flush
  // interval may not be in it yet. Thread-safe.
  Result<LinkStats> Stats(std::string_view slug, StatsQuery query);

  // What the store says of itself: link count, backend, schema version.
  Result<StoreInfo> Info() { return store_->Info(); }

  // The short URL of a slug under the configured public URL.
  std::string ShortUrl(const std::string& slug) const;

  // The verdict for a link right now (for display: "active", "expired"...).
  Verdict StateOf(const Link& link) const;

  UnixTime Now() const { return clock_(); }

  RedirectCache* redirect_cache() { return &cache_; }

 private:
  Status ValidateFields(const std::optional<std::string>& title,
                        const std::optional<std::string>& note,
                        std::vector<std::string>* tags,
                        const std::optional<int>& status,
                        const std::optional<int64_t>& max_visits) const;
  void AddPending(Link* link) const;
  Result<CreatedLink> CreateLink(const LinkInput& input,
                                 const std::string& actor,
                                 std::string_view idempotency_key);
  // The link a visit to `slug` reads: from the cache, or from the store
  // and then cached (without the fields no redirect needs).
  Result<std::shared_ptr<const Link>> FindForVisit(std::string_view slug);
  // Forgets `slug` in the redirect cache; after every write to the link.
  void Forget(std::string_view slug);
  // The redirect for a link whose verdict is kRedirect, counting the visit
  // (made by a visitor with `traits`) when `count`.
  Result<RedirectOutcome> Redirect(const Link& link, std::string_view slug,
                                   std::string_view extra_path,
                                   std::string_view query, bool count,
                                   const VisitTraits& traits);

  Store* store_;
  VisitLedger* ledger_;
  RandomSource* random_;
  Clock clock_;

  std::shared_ptr<const ServiceOptions> Options() const;

  mutable std::mutex mu_;  // guards options_ and length_policy_
  // Swapped whole on reload, so the redirect path copies a pointer, not the
  // settings.
  std::shared_ptr<const ServiceOptions> options_;
  SlugLengthPolicy length_policy_;
  RedirectCache cache_;
};

}  // namespace shorty
