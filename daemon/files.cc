#include "daemon/files.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>

namespace shorty {

Status MakeParentDirectories(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create directory " + part + ": " +
                             std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace shorty
