// Shell completion: the scripts `shorty completion bash|zsh|fish` prints,
// loaded into the real shells (bash, zsh, fish from Debian) and asked what
// they complete.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/harness.h"

namespace shorty::test {
namespace {

constexpr char kBash[] = "/bin/bash";
constexpr char kZsh[] = "/usr/bin/zsh";
constexpr char kFish[] = "/usr/bin/fish";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::set<std::string> Set(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  return {lines.begin(), lines.end()};
}

// The words before the first tab of each line: fish prints "add\tdescr".
std::set<std::string> FirstWords(const std::string& text) {
  std::set<std::string> words;
  for (const std::string& line : Lines(text)) {
    words.insert(line.substr(0, line.find('\t')));
  }
  return words;
}

void RequireShell(const char* path) {
  REQUIRE_MESSAGE(::access(path, X_OK) == 0,
                  path << " is missing; run scripts/install-deps");
}

// Writes `shorty completion SHELL` to a file in `dir` and returns its path.
std::string Script(const TempDir& dir, const std::string& shell) {
  Run run = RunProgram({ShortyPath(), "completion", shell});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  REQUIRE(run.err.empty());
  REQUIRE(!run.out.empty());
  std::string path = dir / ("shorty." + shell);
  WriteFile(path, run.out);
  return path;
}

// What bash completes for the command line `words` (the last one being the
// word under the cursor), as the completion function leaves COMPREPLY.
std::set<std::string> BashComplete(const std::string& script,
                                   std::vector<std::string> words,
                                   const std::string& cwd = "/") {
  std::vector<std::string> argv = {
      kBash,
      "-c",
      "cd \"$1\" || exit 9; source \"$2\" || exit 8; shift 2\n"
      "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
      "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}\n"
      "_shorty; printf '%s\\n' \"${COMPREPLY[@]}\"",
      "bash",
      cwd,
      script};
  argv.insert(argv.end(), words.begin(), words.end());
  Run run = RunProgram(argv);
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  return Set(run.out);
}

// What fish completes for the command line `line` (cursor at its end).
std::set<std::string> FishComplete(const TempDir& dir,
                                   const std::string& script,
                                   const std::string& line) {
  Run run = RunProgram(
      {kFish, "--no-config", "-c",
       "source $argv[1]; or exit 8; complete -C $argv[2]", script, line},
      {{"HOME", dir.path()},
       {"XDG_CONFIG_HOME", dir / "config"},
       {"XDG_DATA_HOME", dir / "data"}});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  return FirstWords(run.out);
}

// What the zsh script offers for `words` (the last under the cursor), with
// zsh's completion builtins replaced by functions that print what they
// were given: _describe the names of its array, compadd its words, _files
// the word FILES.
std::set<std::string> ZshComplete(const std::string& script,
                                  std::vector<std::string> words) {
  std::vector<std::string> argv = {
      kZsh,
      "-f",
      "-c",
      "compdef() { :; }\n"
      "compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\"; }\n"
      "_files() { print FILES; }\n"
      "_describe() { local -a e; e=(\"${(@P)${@[-1]}}\");"
      " print -l -- ${e%%:*}; }\n"
      "source $1 || exit 8; shift\n"
      "words=(\"$@\"); CURRENT=$#; PREFIX=${words[-1]}\n"
      "_shorty",
      "zsh",
      script};
  argv.insert(argv.end(), words.begin(), words.end());
  Run run = RunProgram(argv);
  REQUIRE_MESSAGE(run.err.empty(), run.err);
  std::set<std::string> offered;
  for (const std::string& word : Lines(run.out)) {
    if (word.rfind(words.back(), 0) == 0) offered.insert(word);
  }
  return offered;
}

// The subcommands `shorty --help` lists.
std::set<std::string> HelpSubcommands() {
  Run help = RunProgram({ShortyPath(), "--help"});
  REQUIRE(help.exit_code == 0);
  std::set<std::string> names;
  bool in_list = false;
  for (const std::string& line : Lines(help.out)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (in_list && line.size() > 2 && line[0] == ' ') {
      std::string name = line.substr(2, line.find(' ', 2) - 2);
      names.insert(name);
    } else if (in_list) {
      in_list = false;
    }
  }
  REQUIRE(names.count("add") == 1);
  return names;
}

TEST_CASE("completion: an unknown or missing shell is a usage error") {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"completion", "tcsh"},
        std::vector<std::string>{"completion"},
        std::vector<std::string>{"completion", "bash", "zsh"}}) {
    args.insert(args.begin(), ShortyPath());
    Run run = RunProgram(args);
    CAPTURE(args.back());
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.rfind("shorty: ", 0) == 0);
  }
  Run run = RunProgram({ShortyPath(), "completion", "tcsh"});
  CHECK(run.err.find("bash") != std::string::npos);
}

TEST_CASE("completion: needs no daemon, config or socket") {
  TempDir dir;
  Run run = RunProgram(
      {ShortyPath(), "--socket", dir / "nothing.sock", "completion", "bash"},
      {{"SHORTY_SERVER", "http://127.0.0.1:1"}});
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("complete -F _shorty shorty") != std::string::npos);
}

TEST_CASE("completion: bash completes subcommands, options and values") {
  RequireShell(kBash);
  TempDir dir;
  const std::string script = Script(dir, "bash");
  Run syntax = RunProgram({kBash, "-n", script});
  CHECK_MESSAGE(syntax.exit_code == 0, syntax.err);

  CHECK(BashComplete(script, {"shorty", "a"}) == std::set<std::string>{"add"});
  CHECK(BashComplete(script, {"shorty", "add", "--sl"}) ==
        std::set<std::string>{"--slug"});
  CHECK(BashComplete(script, {"shorty", "token", ""}) ==
        std::set<std::string>{"create", "ls", "revoke"});
  CHECK(BashComplete(script, {"shorty", "token", "create", "--scope", ""}) ==
        std::set<std::string>{"read", "write", "admin"});
  CHECK(BashComplete(script, {"shorty", "completion", ""}) ==
        std::set<std::string>{"bash", "zsh", "fish"});
  // An option's value is skipped, even when it looks like a subcommand.
  CHECK(BashComplete(script, {"shorty", "--token", "token", "to"}) ==
        std::set<std::string>{"token"});
  CHECK(BashComplete(script, {"shorty", "--socket", "/x", "token", "c"}) ==
        std::set<std::string>{"create"});
  // Options of the top level are offered after a subcommand too.
  CHECK(BashComplete(script, {"shorty", "ls", "--js"}) ==
        std::set<std::string>{"--json"});
  // A flag takes no value: the word after it is completed as usual.
  CHECK(BashComplete(script, {"shorty", "--json", "s"}) ==
        std::set<std::string>{"show", "stats", "status"});
  // Slugs are not completed, and nothing is offered after a leaf command.
  CHECK(BashComplete(script, {"shorty", "show", ""}).empty());
  // File names where a file is wanted.
  WriteFile(dir / "secret.txt", "hunter2\n");
  CHECK(BashComplete(script, {"shorty", "add", "--password-file", "sec"},
                     dir.path()) == std::set<std::string>{"secret.txt"});
  CHECK(BashComplete(script, {"shorty", "--config", "sec"}, dir.path()) ==
        std::set<std::string>{"secret.txt"});
}

TEST_CASE("completion: every subcommand in --help is completed") {
  TempDir dir;
  const std::string script = Script(dir, "bash");
  std::set<std::string> help = HelpSubcommands();
  CHECK(BashComplete(script, {"shorty", ""}) == help);
  CHECK(FishComplete(dir, Script(dir, "fish"), "shorty ") == help);
}

TEST_CASE("completion: zsh") {
  RequireShell(kZsh);
  TempDir dir;
  const std::string script = Script(dir, "zsh");
  Run syntax = RunProgram({kZsh, "-n", script});
  CHECK_MESSAGE(syntax.exit_code == 0, syntax.err);
  CHECK(ReadFile(script).rfind("#compdef shorty\n", 0) == 0);

  CHECK(ZshComplete(script, {"shorty", "a"}) == std::set<std::string>{"add"});
  CHECK(ZshComplete(script, {"shorty", "token", ""}) ==
        std::set<std::string>{"create", "ls", "revoke"});
  CHECK(ZshComplete(script, {"shorty", "add", "--sl"}) ==
        std::set<std::string>{"--slug"});
  CHECK(ZshComplete(script, {"shorty", "token", "create", "--scope", ""}) ==
        std::set<std::string>{"read", "write", "admin"});
  CHECK(ZshComplete(script, {"shorty", "qr", "x", "--png", ""}) ==
        std::set<std::string>{"FILES"});
  CHECK(ZshComplete(script, {"shorty", "--server", "http://h", "ls", "--a"}) ==
        std::set<std::string>{"--all"});
}

TEST_CASE("completion: fish") {
  RequireShell(kFish);
  TempDir dir;
  const std::string script = Script(dir, "fish");
  Run syntax =
      RunProgram({kFish, "--no-execute", script}, {{"HOME", dir.path()}});
  CHECK_MESSAGE(syntax.exit_code == 0, syntax.err);

  CHECK(FishComplete(dir, script, "shorty a") == std::set<std::string>{"add"});
  CHECK(FishComplete(dir, script, "shorty token ") ==
        std::set<std::string>{"create", "ls", "revoke"});
  CHECK(FishComplete(dir, script, "shorty add --sl") ==
        std::set<std::string>{"--slug"});
  CHECK(FishComplete(dir, script, "shorty token create --scope ") ==
        std::set<std::string>{"read", "write", "admin"});
  CHECK(FishComplete(dir, script, "shorty --token token to") ==
        std::set<std::string>{"token"});
  CHECK(FishComplete(dir, script, "shorty show ").empty());
  // Descriptions come along.
  Run described =
      RunProgram({kFish, "--no-config", "-c",
                  "source $argv[1]; complete -C 'shorty ad'", script},
                 {{"HOME", dir.path()}});
  CHECK(described.out == "add\tshorten a URL; prints the short URL\n");
}

}  // namespace
}  // namespace shorty::test
