// What a change to a link did, in the words history keeps: the action's
// name and the fields that changed. Pure functions.
#pragma once

#include <optional>
#include <string>

#include "shared/link.h"

namespace shorty {

// "expire" for a patch that only sets expires_at to now or earlier,
// "disable"/"enable" for one that only sets disabled, else "edit".
std::string ActionOf(const LinkPatch& patch, UnixTime now);

// A JSON object {"field": [before, after], ...} of the fields that differ
// between two versions of a link (target, title, note, tags, status,
// expires_at as RFC 3339, max_visits, disabled, password). A missing version
// (create or delete) gives every field with null on that side. "{}" when
// nothing changed. Visits and times of update are not changes. The password
// is never recorded, nor its hash: only "none" or "set", and ["set",
// "changed"] when one password replaced another.
std::string LinkChanges(const std::optional<Link>& before,
                        const std::optional<Link>& after);

}  // namespace shorty
