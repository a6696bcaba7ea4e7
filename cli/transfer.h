// The shorty commands that move every link at once: `backup` (a consistent
// copy of the database, checked before it is kept), `export` (shorty's
// JSON lines) and `import` (shorty's own export, golink, Shlink, YOURLS and
// Kutt files, sent in batches). Each prints its output and errors and
// returns the exit code (cli/commands.h).
#pragma once

#include <string>

#include "cli/client.h"

namespace shorty {

struct BackupOptions {
  std::string file;
};

// Streams a backup into FILE.partial beside FILE, syncs it, checks it
// (PRAGMA integrity_check, application_id, link count) and only then names
// it FILE. Refuses (exit 1) when FILE exists. Prints its size, link count
// and the check's result.
int RunBackup(Client& client, bool json, const BackupOptions& options);

struct ExportOptions {
  bool history = false;
  std::string output;  // "" = standard output
};

// Streams every link in shorty's export format to standard output or to
// FILE (written as FILE.partial and renamed when whole). Exit 1 when the
// export was cut short.
int RunExport(Client& client, bool json, const ExportOptions& options);

struct ImportOptions {
  std::string file;  // "-" = standard input
  std::string from;  // "" = recognise the format
  bool dry_run = false;
};

// Reads FILE a piece at a time, sends its links in batches of at most 5000
// (and 900 KiB) to POST /-/api/v1/import, and reports what became of each:
// counts, then the first skipped and renamed links with their lines (all of
// them with --json). A progress line on stderr when it is a terminal. Exit
// 0 when the whole file was read (skipped links are reported, not
// failures); 1 when the file cannot be read or recognised, or a batch
// failed (that batch was rolled back; the lines not imported are named).
int RunImport(Client& client, bool json, const ImportOptions& options);

}  // namespace shorty
