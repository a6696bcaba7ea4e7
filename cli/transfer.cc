#include "cli/transfer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/table.h"
#include "shared/import_formats.h"
#include "shared/import_service.h"
#include "shared/link_json.h"
#include "shared/sqlite_store.h"

namespace shorty {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A backup is made before the first byte is sent; a big database takes a
// while.
constexpr int kBackupWaitSeconds = 600;
constexpr int kExportWaitSeconds = 60;
// Skipped and renamed links a human report lists; --json lists all.
constexpr size_t kListedLinks = 20;

int Fail(const Status& s) {
  std::fprintf(stderr, "shorty: %s\n", s.message().c_str());
  return ExitCodeFor(s.code());
}

std::string ErrnoText(int err) { return std::strerror(err); }

std::string Directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// So that a new name survives a crash of the machine, not only its file.
void SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Gives `from` the name `to`, unless something has that name.
Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
    return Status::Ok();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // A file system without RENAME_NOREPLACE: link(2) refuses an existing
    // name just as well.
    if (::link(from.c_str(), to.c_str()) == 0) {
      ::unlink(from.c_str());
      return Status::Ok();
    }
    err = errno;
  }
  if (err == EEXIST) {
    return Status::AlreadyExists(
        to + " appeared while the backup was made; the backup is kept as " +
        from + ": rename it yourself");
  }
  return Status::IOError("cannot name the backup " + to + ": " +
                         ErrnoText(err) + "; it is kept as " + from);
}

std::string HumanBytes(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%lld bytes",
                  static_cast<long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", bytes / 1024.0);
  } else if (bytes < int64_t{1024} * 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / (1024.0 * 1024));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f GiB",
                  bytes / (1024.0 * 1024 * 1024));
  }
  return buf;
}

// A file being written under a temporary name: removed unless kept.
class PartialFile {
 public:
  PartialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // fsync and close; IOError naming the file.
  Status Finish() {
    int rc = ::fsync(fd_);
    int err = errno;
    if (::close(fd_) != 0 && rc == 0) {
      rc = -1;
      err = errno;
    }
    fd_ = -1;
    if (rc != 0) {
      return Status::IOError("cannot write " + path_ + ": " + ErrnoText(err) +
                             "; nothing was kept");
    }
    return Status::Ok();
  }
  void Keep() { kept_ = true; }

 private:
  std::string path_;
  int fd_;
  bool kept_ = false;
};

}  // namespace

int RunBackup(Client& client, bool json_out, const BackupOptions& options) {
  const std::string& file = options.file;
  struct stat st {};
  if (::lstat(file.c_str(), &st) == 0) {
    return Fail(Status::AlreadyExists(
        file +
        " already exists; remove it or choose another name (a backup never "
        "overwrites a file)"));
  }
  const std::string partial_path = file + ".partial";
  // 0600: the copy holds password hashes and token digests.
  int fd = ::open(partial_path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) {
      return Fail(Status::AlreadyExists(
          partial_path + " exists: another backup to " + file +
          " is running, or one was cut off; remove it and try again"));
    }
    return Fail(Status::IOError("cannot write " + partial_path + ": " +
                                ErrnoText(err) +
                                "; check that its directory exists and is "
                                "writable"));
  }
  PartialFile partial(partial_path, fd);

  Status write_error;
  Result<Reply> reply = client.Download(
      "/-/api/v1/backup",
      [&](std::string_view data) {
        if (!WriteAll(partial.fd(), data)) {
          write_error = Status::IOError("cannot write " + partial.path() +
                                        ": " + ErrnoText(errno) +
                                        "; nothing was kept");
          return false;
        }
        return true;
      },
      kBackupWaitSeconds);
  if (!write_error.ok()) return Fail(write_error);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status < 200 || reply->status >= 300) {
    return Fail(StatusFromErrorBody(reply->status, reply->body));
  }
  if (Status s = partial.Finish(); !s.ok()) return Fail(s);

  Result<SqliteStore::BackupCheck> check =
      SqliteStore::CheckBackup(partial.path());
  if (!check.ok()) {
    return Fail(Status(check.status().code(),
                       "the backup failed its check and was not kept: " +
                           check.status().message() + "; try again"));
  }
  if (!reply->links_header.empty() &&
      reply->links_header != std::to_string(check->links)) {
    return Fail(Status::Corruption(
        "the backup holds " + std::to_string(check->links) +
        " links where shortyd sent " + reply->links_header +
        "; it was not kept; try again"));
  }
  if (Status s = RenameNoReplace(partial.path(), file); !s.ok()) {
    if (s.code() != Code::kIOError || ::access(partial.path().c_str(), F_OK) == 0) {
      partial.Keep();
    }
    return Fail(s);
  }
  partial.Keep();
  SyncDirectory(Directory(file));
  if (::stat(file.c_str(), &st) != 0) st.st_size = 0;
  if (json_out) {
    std::cout << json{{"file", file},
                      {"bytes", static_cast<int64_t>(st.st_size)},
                      {"links", check->links},
                      {"schema_version", check->schema_version},
                      {"integrity_check", "ok"}}
                     .dump()
              << "\n";
  } else {
    std::cout << "backup written to " << file << ": "
              << HumanBytes(st.st_size) << ", " << check->links
              << " links, integrity_check ok\n";
  }
  return kExitOk;
}

int RunExport(Client& client, bool json_out, const ExportOptions& options) {
  std::optional<PartialFile> partial;
  int fd = STDOUT_FILENO;
  if (!options.output.empty()) {
    const std::string path = options.output + ".partial";
    // 0600: an export holds password hashes.
    int out = ::open(path.c_str(),
                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
    if (out < 0) {
      return Fail(Status::IOError("--output: cannot write " + path + ": " +
                                  ErrnoText(errno)));
    }
    partial.emplace(path, out);
    fd = out;
  }
  // The last line tells a whole export from a cut one.
  std::string tail;
  Status write_error;
  Result<Reply> reply = client.Download(
      std::string("/-/api/v1/export") + (options.history ? "?history=1" : ""),
      [&](std::string_view data) {
        if (!WriteAll(fd, data)) {
          write_error = Status::IOError(
              "cannot write the export" +
              (partial ? " to " + partial->path() : std::string()) + ": " +
              ErrnoText(errno));
          return false;
        }
        tail.append(data);
        if (tail.size() > 8192) tail.erase(0, tail.size() - 4096);
        return true;
      },
      kExportWaitSeconds);
  if (!write_error.ok()) return Fail(write_error);
  if (!reply.ok()) return Fail(reply.status());
  if (reply->status < 200 || reply->status >= 300) {
    return Fail(StatusFromErrorBody(reply->status, reply->body));
  }
  std::optional<int64_t> links;
  if (!tail.empty() && tail.back() == '\n') {
    tail.pop_back();
    json end = json::parse(tail.substr(tail.find_last_of('\n') + 1), nullptr,
                           false);
    if (end.is_object() && end.contains("shorty_export_end") &&
        end["shorty_export_end"].is_object() &&
        end["shorty_export_end"].contains("links") &&
        end["shorty_export_end"]["links"].is_number_integer()) {
      links = end["shorty_export_end"]["links"].get<int64_t>();
    }
  }
  if (!links) {
    return Fail(Status::Unavailable(
        "the export was cut short: shortyd stopped sending before its end "
        "line; check shortyd's log and try again" +
        (partial ? "; " + options.output + " was not written"
                 : std::string())));
  }
  if (partial) {
    if (Status s = partial->Finish(); !s.ok()) return Fail(s);
    if (::rename(partial->path().c_str(), options.output.c_str()) != 0) {
      return Fail(Status::IOError("--output: cannot name the export " +
                                  options.output + ": " + ErrnoText(errno)));
    }
    partial->Keep();
    SyncDirectory(Directory(options.output));
    if (json_out) {
      std::cout << json{{"file", options.output}, {"links", *links}}.dump()
                << "\n";
    } else {
      std::fprintf(stderr, "shorty: exported %lld links to %s\n",
                   static_cast<long long>(*links), options.output.c_str());
    }
  }
  return kExitOk;
}

namespace {

// A link on its way to the daemon: where it came from, and its JSON.
struct Pending {
  int64_t line = 0;
  std::string slug;
  std::string item;
};

struct Batch {
  std::vector<Pending> links;
  size_t bytes = 0;
};

// What became of every link of the file.
struct Report {
  struct Entry {
    int64_t line = 0;
    std::string slug;
    std::string detail;  // the new slug, or the reason
  };
  int64_t imported = 0;  // renamed ones included
  int64_t renamed = 0;
  int64_t present = 0;
  int64_t skipped = 0;
  std::vector<Entry> renamed_links;
  std::vector<Entry> skipped_links;

  void Skip(int64_t line, std::string slug, std::string reason) {
    ++skipped;
    skipped_links.push_back({line, std::move(slug), std::move(reason)});
  }
};

// Batches go to the daemon from a thread of their own, so the file is read
// and parsed while the daemon stores the batch before. At most two batches
// wait.
class Sender {
 public:
  // `report` is written under `report_mu`.
  Sender(Client& client, bool dry_run, Report* report, std::mutex* report_mu)
      : client_(client),
        dry_run_(dry_run),
        report_(report),
        report_mu_(*report_mu) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Sender() { Close(); }

  // False once a batch has failed: stop reading.
  bool Push(Batch batch) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [this] { return queue_.size() < 2 || !failure_.ok(); });
    if (!failure_.ok()) return false;
    queue_.push_back(std::move(batch));
    ready_.notify_one();
    return true;
  }

  // Waits for every batch; the first failure, if any.
  Status Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      ready_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    return failure_;
  }

  int64_t sent() const { return sent_.load(); }
  // The lines of the first batch not imported, when one failed.
  int64_t failed_first_line() const { return failed_first_; }
  int64_t failed_last_line() const { return failed_last_; }
  bool any_stored() const { return batches_done_ > 0; }

 private:
  void Run() {
    for (;;) {
      Batch batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      Status s = Send(batch);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        failure_ = s;
        failed_first_ = batch.links.front().line;
        failed_last_ = batch.links.back().line;
        queue_.clear();
        space_.notify_all();
        return;
      }
      ++batches_done_;
      sent_ += static_cast<int64_t>(batch.links.size());
    }
  }

  // Sends one batch, again after a failure that may be passing (no answer,
  // or busy): a batch stored before its answer was lost finds its links
  // already present the second time, so nothing is stored twice.
  Status Send(const Batch& batch) {
    std::vector<std::string> items;
    items.reserve(batch.links.size());
    for (const Pending& p : batch.links) items.push_back(p.item);
    const std::string body = ImportBatchJson(items, dry_run_);
    static constexpr std::chrono::milliseconds kDelays[] = {
        std::chrono::milliseconds(500), std::chrono::milliseconds(1500),
        std::chrono::milliseconds(3000)};
    Result<std::vector<ImportResult>> results = Status::Internal("unsent");
    for (size_t attempt = 0;; ++attempt) {
      Result<Reply> reply = client_.Call("POST", "/-/api/v1/import", body);
      if (!reply.ok()) {
        results = reply.status();
      } else if (reply->status != 200) {
        results = StatusFromErrorBody(reply->status, reply->body);
      } else {
        results = ParseImportResults(reply->body, batch.links.size());
      }
      if (results.ok() || results.status().code() != Code::kUnavailable ||
          attempt == std::size(kDelays)) {
        break;
      }
      std::fprintf(stderr,
                   "\nshorty: %s; sending lines %lld to %lld again (%zu of "
                   "3)\n",
                   results.status().message().c_str(),
                   static_cast<long long>(batch.links.front().line),
                   static_cast<long long>(batch.links.back().line),
                   attempt + 1);
      std::this_thread::sleep_for(kDelays[attempt]);
    }
    if (!results.ok()) return results.status();
    std::lock_guard<std::mutex> lock(report_mu_);
    for (size_t i = 0; i < results->size(); ++i) {
      const ImportResult& r = (*results)[i];
      const Pending& p = batch.links[i];
      switch (r.kind) {
        case ImportResult::Kind::kImported:
          ++report_->imported;
          break;
        case ImportResult::Kind::kRenamed:
          ++report_->imported;
          ++report_->renamed;
          report_->renamed_links.push_back({p.line, p.slug, r.slug});
          break;
        case ImportResult::Kind::kAlreadyPresent:
          ++report_->present;
          break;
        case ImportResult::Kind::kSkipped:
          report_->Skip(p.line, p.slug, r.reason);
          break;
      }
    }
    return Status::Ok();
  }

  Client& client_;
  const bool dry_run_;
  Report* report_;
  std::mutex& report_mu_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<Batch> queue_;  // guarded by mu_
  bool closed_ = false;      // guarded by mu_
  Status failure_;           // guarded by mu_ until the thread ends
  int64_t failed_first_ = 0;
  int64_t failed_last_ = 0;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> batches_done_{0};
  std::thread thread_;
};

// "\r"-rewritten progress on stderr, at most five times a second; only on a
// terminal. No escape sequences: spaces clear what a longer line left.
class Progress {
 public:
  explicit Progress(int64_t total_bytes)
      : enabled_(::isatty(STDERR_FILENO) == 1), total_(total_bytes) {}

  void Update(int64_t bytes, int64_t lines, int64_t sent) {
    if (!enabled_) return;
    Clock::time_point now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    char line[160];
    if (total_ > 0) {
      std::snprintf(line, sizeof(line),
                    "importing: %3d%% of %s, %lld lines read, %lld links sent",
                    static_cast<int>(100 * bytes / total_),
                    HumanBytes(total_).c_str(), static_cast<long long>(lines),
                    static_cast<long long>(sent));
    } else {
      std::snprintf(line, sizeof(line),
                    "importing: %lld lines read, %lld links sent",
                    static_cast<long long>(lines),
                    static_cast<long long>(sent));
    }
    Show(line);
  }

  void Clear() {
    if (enabled_ && width_ > 0) Show("");
  }

 private:
  void Show(const std::string& text) {
    std::string out = "\r" + text;
    if (text.size() < width_) out.append(width_ - text.size(), ' ');
    if (text.empty()) out += '\r';
    width_ = text.size();
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
  }

  const bool enabled_;
  const int64_t total_;
  size_t width_ = 0;
  Clock::time_point last_;
};

json EntriesJson(const std::vector<Report::Entry>& entries, const char* key) {
  json list = json::array();
  for (const Report::Entry& e : entries) {
    list.push_back({{"line", e.line}, {"slug", e.slug}, {key, e.detail}});
  }
  return list;
}

void PrintReport(const Report& report, const std::string& file,
                 ImportFormat format, bool detected, bool dry_run,
                 int64_t links_read, bool json_out) {
  if (json_out) {
    json j = {{"file", file},
              {"format", ImportFormatName(format)},
              {"detected", detected},
              {"dry_run", dry_run},
              {"read", links_read},
              {"imported", report.imported},
              {"renamed", report.renamed},
              {"already_present", report.present},
              {"skipped", report.skipped},
              {"renamed_links", EntriesJson(report.renamed_links, "to")},
              {"skipped_links", EntriesJson(report.skipped_links, "reason")}};
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace)
              << "\n";
    return;
  }
  const char* would = dry_run ? " (dry run: nothing was stored)" : "";
  std::cout << file << ": " << ImportFormatTitle(format) << ", "
            << links_read << " links read" << would << "\n"
            << (dry_run ? "would import: " : "imported: ") << report.imported;
  if (report.renamed > 0) {
    std::cout << " (" << report.renamed << " under a new slug)";
  }
  std::cout << "\nalready present: " << report.present
            << "\nskipped: " << report.skipped << "\n";
  auto list = [](const char* title, const std::vector<Report::Entry>& entries,
                 bool renamed) {
    if (entries.empty()) return;
    std::cout << title;
    if (entries.size() > kListedLinks) {
      std::cout << " (the first " << kListedLinks << " of " << entries.size()
                << "; --json lists all)";
    }
    std::cout << ":\n";
    for (size_t i = 0; i < entries.size() && i < kListedLinks; ++i) {
      const Report::Entry& e = entries[i];
      std::cout << "  line " << e.line << ": ";
      if (renamed) {
        std::cout << Printable(e.slug) << " -> " << e.detail << "\n";
      } else {
        std::cout << Printable(e.detail) << "\n";
      }
    }
  };
  list("renamed", report.renamed_links, true);
  list("skipped", report.skipped_links, false);
}

}  // namespace

int RunImport(Client& client, bool json_out, const ImportOptions& options) {
  const std::string& file = options.file;
  const bool from_stdin = file == "-";
  int fd = from_stdin ? STDIN_FILENO
                      : ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Fail(Status::IOError("cannot read " + file + ": " +
                                ErrnoText(errno)));
  }
  struct Closer {
    int fd;
    bool close;
    ~Closer() {
      if (close) ::close(fd);
    }
  } closer{fd, !from_stdin};
  struct stat st {};
  int64_t total = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total = st.st_size;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    return Fail(Status::IOError("cannot read " + file + ": it is a directory"));
  }

  std::vector<char> buffer(1 << 20);
  int64_t bytes_read = 0;
  auto read_some = [&](char* into, size_t size) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd, into, size);
      if (n >= 0) {
        bytes_read += n;
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) {
        return Status::IOError("cannot read " + file + ": " +
                               ErrnoText(errno));
      }
    }
  };
  // The head, for recognising the format, is parsed like the rest.
  std::string head;
  bool eof = false;
  while (head.size() < kDetectBytes) {
    Result<size_t> n = read_some(buffer.data(), kDetectBytes - head.size());
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) {
      eof = true;
      break;
    }
    head.append(buffer.data(), *n);
  }
  const bool detected = options.from.empty();
  Result<ImportFormat> format = detected ? DetectImportFormat(head)
                                         : ParseImportFormat(options.from);
  if (!format.ok()) {
    return Fail(Status(format.status().code(),
                       (detected ? file + ": " : std::string()) +
                           format.status().message()));
  }
  if (detected && !json_out) {
    std::fprintf(stderr, "shorty: %s looks like a %s; reading it as one\n",
                 file.c_str(), ImportFormatTitle(*format));
  }

  Report report;
  int64_t links_read = 0;
  ImportParser parser(*format);
  std::mutex report_mu;
  Sender sender(client, options.dry_run, &report, &report_mu);
  Progress progress(total);
  Batch batch;
  bool stopped = false;

  auto flush = [&]() {
    if (batch.links.empty()) return;
    if (!sender.Push(std::move(batch))) stopped = true;
    batch = Batch();
  };
  auto take = [&]() {
    std::vector<ParseProblem> problems = parser.TakeProblems();
    if (!problems.empty()) {
      std::lock_guard<std::mutex> lock(report_mu);
      for (ParseProblem& p : problems) {
        ++links_read;
        report.Skip(p.line, "", std::move(p.message));
      }
    }
    for (SourceLink& link : parser.TakeLinks()) {
      ++links_read;
      std::string item = ImportItemJson(link);
      if (item.size() + 64 > kMaxImportBatchBytes) {
        std::lock_guard<std::mutex> lock(report_mu);
        report.Skip(link.line, link.slug,
                    "too large to send: a link of " + HumanBytes(item.size()) +
                        " (its history, most likely)");
        continue;
      }
      if (batch.links.size() == kMaxImportBatchLinks ||
          batch.bytes + item.size() + 1 > kMaxImportBatchBytes - 64) {
        flush();
      }
      batch.bytes += item.size() + 1;
      batch.links.push_back({link.line, std::move(link.slug), std::move(item)});
    }
    progress.Update(bytes_read, parser.lines(), sender.sent());
  };

  parser.Feed(head);
  take();
  while (!eof && !stopped && parser.status().ok()) {
    Result<size_t> n = read_some(buffer.data(), buffer.size());
    if (!n.ok()) {
      progress.Clear();
      sender.Close();
      return Fail(n.status());
    }
    if (*n == 0) break;
    parser.Feed(std::string_view(buffer.data(), *n));
    take();
  }
  if (!stopped && parser.status().ok()) {
    parser.Finish();
    take();
    flush();
  }
  Status sent = sender.Close();
  progress.Clear();
  if (!parser.status().ok()) {
    return Fail(Status(parser.status().code(),
                       file + ": " + parser.status().message()));
  }
  if (!sent.ok()) {
    if (!sender.any_stored() && (sent.code() == Code::kUnauthorized ||
                                 sent.code() == Code::kForbidden)) {
      return Fail(sent);
    }
    std::sort(report.skipped_links.begin(), report.skipped_links.end(),
              [](const Report::Entry& a, const Report::Entry& b) {
                return a.line < b.line;
              });
    PrintReport(report, file, *format, detected, options.dry_run, links_read,
                json_out);
    return Fail(Status(
        sent.code(),
        "the import stopped at lines " +
            std::to_string(sender.failed_first_line()) + " to " +
            std::to_string(sender.failed_last_line()) + ": " +
            sent.message() +
            ". A batch is stored whole or not at all, so no link is half "
            "imported; the lines after these were not sent. Run the same "
            "import again to finish: links already in count as already "
            "present."));
  }
  std::stable_sort(report.skipped_links.begin(), report.skipped_links.end(),
                   [](const Report::Entry& a, const Report::Entry& b) {
                     return a.line < b.line;
                   });
  std::stable_sort(report.renamed_links.begin(), report.renamed_links.end(),
                   [](const Report::Entry& a, const Report::Entry& b) {
                     return a.line < b.line;
                   });
  PrintReport(report, file, *format, detected, options.dry_run, links_read,
              json_out);
  return kExitOk;
}

}  // namespace shorty
