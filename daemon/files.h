// Filesystem chores of shortyd.
#pragma once

#include <string>

#include "shared/status.h"

namespace shorty {

// Creates the directories leading to `path` (not `path` itself), each 0750
// when created: shortyd's data and socket are no one else's to read. Existing
// directories are left as they are. IOError names the one that failed.
Status MakeParentDirectories(const std::string& path);

}  // namespace shorty
