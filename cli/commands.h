// The shorty command line: its commands, options and output. Each command
// sends one or a few API requests to shortyd and prints the answer.
#pragma once

#include "shared/status.h"

namespace shorty {

// Exit codes, as documented in shorty(1).
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;        // not found, conflict, invalid, ...
constexpr int kExitUsage = 2;         // bad command line or CLI config
constexpr int kExitUnreachable = 3;   // the daemon could not be reached
constexpr int kExitUnauthorized = 4;  // missing, wrong or too weak token

// The exit code for an error code; the one table of it.
int ExitCodeFor(Code code);

// Parses argv, runs the command, prints its output (stdout) and errors
// (stderr, as "shorty: ..."), and returns the exit code.
int RunShorty(int argc, char** argv);

}  // namespace shorty
