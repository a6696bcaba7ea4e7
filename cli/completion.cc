#include "cli/completion.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace shorty {
namespace {

// What an option's value, or a positional argument, completes to.
struct Values {
  std::vector<std::string> choices;
  bool files = false;
};

struct OptionSpec {
  std::vector<std::string> names;  // "--slug", "-h"
  std::string description;
  bool takes_value = false;
  Values values;
};

struct SubcommandSpec {
  std::string name;
  std::string description;
};

// One command of the tree, such as "shorty token create".
struct CommandSpec {
  std::string path;
  std::vector<SubcommandSpec> subcommands;
  // Its own options, then those of the parents it falls through to.
  std::vector<OptionSpec> options;
  Values arguments;  // what its positional arguments complete to
};

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' || c == '-';
}

// A word that can stand unquoted in any of the three shells, in a case
// pattern and in a list split on spaces: nothing from the App reaches a
// script unless it is one (or is a quoted description).
bool IsWord(std::string_view text) {
  return !text.empty() && text[0] != '-' &&
         std::all_of(text.begin(), text.end(), IsWordChar);
}

// "read" in "TEXT:{read,write,admin}", the type name CLI11 builds from an
// IsMember validator.
std::vector<std::string> ChoicesIn(const std::string& type_name) {
  std::vector<std::string> choices;
  const size_t open = type_name.find('{');
  const size_t close = type_name.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return choices;
  const std::string inside = type_name.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= inside.size()) {
    size_t comma = inside.find(',', start);
    if (comma == std::string::npos) comma = inside.size();
    std::string choice = inside.substr(start, comma - start);
    if (IsWord(choice)) choices.push_back(choice);
    start = comma + 1;
  }
  return choices;
}

// Whether a value is a file name: the type name says FILE, DIR or PATH
// (CLI::ExistingFile and kin, or ->type_name("FILE")), or the name ends in
// "file" (--password-file, a positional called "file").
bool IsFileValue(const std::string& type_name, const std::string& name) {
  size_t start = 0;
  while (start <= type_name.size()) {
    size_t colon = type_name.find(':', start);
    if (colon == std::string::npos) colon = type_name.size();
    const std::string part = type_name.substr(start, colon - start);
    if (part.rfind("FILE", 0) == 0 || part.rfind("DIR", 0) == 0 ||
        part.rfind("PATH", 0) == 0) {
      return true;
    }
    start = colon + 1;
  }
  std::string lower = name;
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower.size() >= 4 && lower.compare(lower.size() - 4, 4, "file") == 0;
}

// One line, no control characters: descriptions end up inside quotes.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  }
  return out;
}

Values ValuesOf(const CLI::Option& option) {
  Values values;
  const std::string type_name = option.get_type_name();
  values.choices = ChoicesIn(type_name);
  if (values.choices.empty()) {
    values.files = IsFileValue(type_name, option.get_name());
  }
  return values;
}

void Walk(const CLI::App& app, const std::string& path,
          const std::vector<OptionSpec>& inherited,
          std::vector<CommandSpec>* out) {
  CommandSpec command;
  command.path = path;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    if (!option->nonpositional()) {
      Values values = ValuesOf(*option);
      for (std::string& choice : values.choices) {
        command.arguments.choices.push_back(std::move(choice));
      }
      command.arguments.files = command.arguments.files || values.files;
      continue;
    }
    OptionSpec spec;
    for (const std::string& name : option->get_lnames()) {
      if (IsWord(name)) spec.names.push_back("--" + name);
    }
    for (const std::string& name : option->get_snames()) {
      if (IsWord(name)) spec.names.push_back("-" + name);
    }
    if (spec.names.empty()) continue;
    spec.description = OneLine(option->get_description());
    // Flags expect no value (CLI11 sets expected(0)); options one or more.
    spec.takes_value = option->get_items_expected_max() > 0;
    if (spec.takes_value) spec.values = ValuesOf(*option);
    command.options.push_back(std::move(spec));
  }
  if (app.get_fallthrough()) {
    auto known = [&command](const std::string& name) {
      for (const OptionSpec& own : command.options) {
        if (std::find(own.names.begin(), own.names.end(), name) !=
            own.names.end()) {
          return true;
        }
      }
      return false;
    };
    for (const OptionSpec& parent : inherited) {
      OptionSpec spec = parent;
      spec.names.erase(
          std::remove_if(spec.names.begin(), spec.names.end(), known),
          spec.names.end());
      if (!spec.names.empty()) command.options.push_back(std::move(spec));
    }
  }
  std::vector<const CLI::App*> children =
      app.get_subcommands([](const CLI::App* sub) {
        return !sub->get_group().empty() && IsWord(sub->get_name());
      });
  for (const CLI::App* child : children) {
    command.subcommands.push_back(
        {child->get_name(), OneLine(child->get_description())});
  }
  const std::vector<OptionSpec> available = command.options;
  out->push_back(std::move(command));
  for (const CLI::App* child : children) {
    Walk(*child, path + " " + child->get_name(), available, out);
  }
}

std::string Join(const std::vector<std::string>& words,
                 const std::string& separator = " ") {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

// 'text' for sh, bash and zsh: a quote inside becomes '\''.
std::string ShQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// 'text' for fish, where \ and ' are escaped inside single quotes.
std::string FishQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The name of a shell function for `program` ("_shorty_values").
std::string Function(const std::string& program, const std::string& suffix) {
  std::string name = "_" + program + suffix;
  std::replace(name.begin(), name.end(), '-', '_');
  std::replace(name.begin(), name.end(), '.', '_');
  std::replace(name.begin(), name.end(), '+', '_');
  return name;
}

// The (command, option) pairs whose values complete to something, as
// "shorty add|--config" ("shorty completion|" for a command's positional
// arguments), grouped by what they complete to, in order of first use.
std::vector<std::pair<std::vector<std::string>, Values>> ValueCases(
    const std::vector<CommandSpec>& commands) {
  std::vector<std::pair<std::vector<std::string>, Values>> cases;
  auto add = [&cases](const std::string& pattern, const Values& values) {
    for (auto& [patterns, same] : cases) {
      if (same.choices == values.choices && same.files == values.files) {
        patterns.push_back(pattern);
        return;
      }
    }
    cases.push_back({{pattern}, values});
  };
  for (const CommandSpec& command : commands) {
    for (const OptionSpec& option : command.options) {
      if (!option.takes_value) continue;
      if (option.values.choices.empty() && !option.values.files) continue;
      for (const std::string& name : option.names) {
        add(command.path + "|" + name, option.values);
      }
    }
    if (!command.arguments.choices.empty() || command.arguments.files) {
      add(command.path + "|", command.arguments);
    }
  }
  return cases;
}

// "'a' | 'b'": case patterns for sh, bash and zsh.
std::string CasePatterns(const std::vector<std::string>& patterns,
                         const std::string& indent) {
  std::string out;
  for (const std::string& pattern : patterns) {
    if (!out.empty()) out += " | \\\n" + indent;
    out += ShQuote(pattern);
  }
  return out;
}

std::vector<std::string> OptionNames(const CommandSpec& command,
                                     bool valued_only) {
  std::vector<std::string> names;
  for (const OptionSpec& option : command.options) {
    if (valued_only && !option.takes_value) continue;
    names.insert(names.end(), option.names.begin(), option.names.end());
  }
  return names;
}

std::vector<std::string> SubcommandNames(const CommandSpec& command) {
  std::vector<std::string> names;
  for (const SubcommandSpec& sub : command.subcommands) {
    names.push_back(sub.name);
  }
  return names;
}

std::string BashScript(const std::string& program,
                       const std::vector<CommandSpec>& commands) {
  const std::string main = Function(program, "");
  const std::string command_fn = Function(program, "_command");
  const std::string values_fn = Function(program, "_values");
  std::string s;
  s += "# bash completion for " + program + "; generated by '" + program +
       " completion bash'.\n"
       "# Install as /usr/share/bash-completion/completions/" +
       program + ", or source it.\n\n";
  s += "# Sets subs (subcommands), opts (options) and valued (the options "
       "that take\n# a value, space-padded) for the command path in $1.\n";
  s += command_fn + "() {\n  case \"$1\" in\n";
  for (const CommandSpec& command : commands) {
    s += "    " + ShQuote(command.path) + ")\n";
    s += "      subs=" + ShQuote(Join(SubcommandNames(command))) + "\n";
    s += "      opts=" + ShQuote(Join(OptionNames(command, false))) + "\n";
    s += "      valued=" +
         ShQuote(" " + Join(OptionNames(command, true)) + " ") + "\n      ;;\n";
  }
  s += "    *)\n      subs= opts= valued=\n      ;;\n  esac\n}\n\n";
  s += "# Adds the completions of $cur as the value of option $2 of the "
       "command path\n# in $1, or as its positional argument when $2 is "
       "empty.\n";
  s += values_fn + "() {\n  case \"$1|$2\" in\n";
  for (const auto& [patterns, values] : ValueCases(commands)) {
    s += "    " + CasePatterns(patterns, "    ") + ")\n";
    if (!values.choices.empty()) {
      s += "      COMPREPLY+=($(compgen -W " + ShQuote(Join(values.choices)) +
           " -- \"$cur\"))\n";
    } else {
      s += "      compopt -o filenames 2>/dev/null\n"
           "      local IFS=$'\\n'\n"
           "      COMPREPLY+=($(compgen -f -- \"$cur\"))\n";
    }
    s += "      ;;\n";
  }
  s += "  esac\n}\n\n";
  s += main + "() {\n";
  s += "  local cur=${COMP_WORDS[COMP_CWORD]} cmd=" + program +
       " skip= word i\n"
       "  local subs opts valued\n"
       "  " +
       command_fn +
       " \"$cmd\"\n"
       "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
       "    word=${COMP_WORDS[i]}\n"
       "    if [[ -n $skip ]]; then\n"
       "      # --option=value comes as three words: --option, =, value.\n"
       "      [[ $word == = ]] || skip=\n"
       "      continue\n"
       "    fi\n"
       "    case $word in\n"
       "      -*=*) ;;\n"
       "      -*) [[ $valued == *\" $word \"* ]] && skip=$word ;;\n"
       "      *)\n"
       "        if [[ \" $subs \" == *\" $word \"* ]]; then\n"
       "          cmd+=\" $word\"\n"
       "          " +
       command_fn +
       " \"$cmd\"\n"
       "        fi\n"
       "        ;;\n"
       "    esac\n"
       "  done\n"
       "  COMPREPLY=()\n"
       "  [[ $cur == = ]] && cur=\n"
       "  if [[ -n $skip ]]; then\n"
       "    " +
       values_fn +
       " \"$cmd\" \"$skip\"\n"
       "  elif [[ $cur == -* ]]; then\n"
       "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
       "  else\n"
       "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
       "    " +
       values_fn +
       " \"$cmd\" \"\"\n"
       "  fi\n"
       "}\n\n"
       "complete -F " +
       main + " " + program + "\n";
  return s;
}

// "name:description" for zsh's _describe, whose separator is ':'.
std::string Described(const std::string& name, const std::string& description) {
  if (description.empty()) return ShQuote(name);
  return ShQuote(name + ":" + description);
}

std::string ZshScript(const std::string& program,
                      const std::vector<CommandSpec>& commands) {
  const std::string main = Function(program, "");
  const std::string command_fn = Function(program, "_command");
  const std::string values_fn = Function(program, "_values");
  std::string s;
  s += "#compdef " + program + "\n";
  s += "# zsh completion for " + program + "; generated by '" + program +
       " completion zsh'.\n"
       "# Install as " +
       main + " in a directory of $fpath, or source it after compinit.\n\n";
  s += "# Sets names and subs (subcommands, the latter with descriptions), "
       "opts\n# (options with descriptions) and valued (the options that "
       "take a value)\n# for the command path in $1.\n";
  s += command_fn + "() {\n  names=() subs=() opts=() valued=()\n";
  s += "  case $1 in\n";
  for (const CommandSpec& command : commands) {
    s += "    (" + ShQuote(command.path) + ")\n";
    s += "      names=(" + Join(SubcommandNames(command)) + ")\n";
    s += "      subs=(";
    for (size_t i = 0; i < command.subcommands.size(); ++i) {
      if (i > 0) s += "\n        ";
      s += Described(command.subcommands[i].name,
                     command.subcommands[i].description);
    }
    s += ")\n      opts=(";
    bool first = true;
    for (const OptionSpec& option : command.options) {
      for (const std::string& name : option.names) {
        if (!first) s += "\n        ";
        first = false;
        s += Described(name, option.description);
      }
    }
    s += ")\n      valued=(" + Join(OptionNames(command, true)) + ")\n";
    s += "      ;;\n";
  }
  s += "  esac\n}\n\n";
  s += "# Completes the value of option $2 of the command path in $1, or its\n"
       "# positional argument when $2 is empty.\n";
  s += values_fn + "() {\n  case \"$1|$2\" in\n";
  for (const auto& [patterns, values] : ValueCases(commands)) {
    s += "    (" + CasePatterns(patterns, "     ") + ")\n";
    if (!values.choices.empty()) {
      s += "      compadd -- " + Join(values.choices) + "\n";
    } else {
      s += "      _files\n";
    }
    s += "      ;;\n";
  }
  s += "  esac\n}\n\n";
  s += main + "() {\n";
  s += "  local cmd=" + program +
       " skip= word i\n"
       "  local -a names subs opts valued\n"
       "  " +
       command_fn +
       " \"$cmd\"\n"
       "  for ((i = 2; i < CURRENT; i++)); do\n"
       "    word=${words[i]}\n"
       "    if [[ -n $skip ]]; then\n"
       "      skip=\n"
       "      continue\n"
       "    fi\n"
       "    case $word in\n"
       "      (-*=*) ;;\n"
       "      (-*) (( ${valued[(Ie)$word]} )) && skip=$word ;;\n"
       "      (*)\n"
       "        if (( ${names[(Ie)$word]} )); then\n"
       "          cmd+=\" $word\"\n"
       "          " +
       command_fn +
       " \"$cmd\"\n"
       "        fi\n"
       "        ;;\n"
       "    esac\n"
       "  done\n"
       "  if [[ -n $skip ]]; then\n"
       "    " +
       values_fn +
       " \"$cmd\" \"$skip\"\n"
       "  elif [[ $PREFIX == -* ]]; then\n"
       "    _describe -t options option opts\n"
       "  else\n"
       "    (( $#subs )) && _describe -t commands command subs\n"
       "    " +
       values_fn +
       " \"$cmd\" ''\n"
       "  fi\n"
       "}\n\n"
       "if [[ $funcstack[1] == " +
       main + " ]]; then\n  " + main + " \"$@\"\nelse\n  compdef " + main +
       " " + program + "\nfi\n";
  return s;
}

std::string FishScript(const std::string& program,
                       const std::vector<CommandSpec>& commands) {
  const std::string command_fn = "_" + Function(program, "_command");
  const std::string is_fn = "_" + Function(program, "_is");
  std::string s;
  s += "# fish completion for " + program + "; generated by '" + program +
       " completion fish'.\n"
       "# Install as " +
       program +
       ".fish in a directory of $fish_complete_path, or source it.\n\n";
  s += "# Prints the subcommand path of the command line before the cursor, "
       "such as\n# \"" +
       commands.back().path + "\".\n";
  s += "function " + command_fn + "\n";
  s += "    set -l commands";
  for (const CommandSpec& command : commands) {
    for (const SubcommandSpec& sub : command.subcommands) {
      s += " " + FishQuote(command.path + " " + sub.name);
    }
  }
  s += "\n    set -l valued";
  for (const CommandSpec& command : commands) {
    for (const std::string& name : OptionNames(command, true)) {
      s += " " + FishQuote(command.path + " " + name);
    }
  }
  s += "\n";
  s += "    set -l tokens (commandline -opc)\n"
       "    set -e tokens[1]\n"
       "    set -l cmd " +
       program +
       "\n"
       "    set -l skip 0\n"
       "    for word in $tokens\n"
       "        if test $skip = 1\n"
       "            set skip 0\n"
       "            continue\n"
       "        end\n"
       "        switch $word\n"
       "            case '-*=*'\n"
       "            case '-*'\n"
       "                contains -- \"$cmd $word\" $valued; and set skip 1\n"
       "            case '*'\n"
       "                contains -- \"$cmd $word\" $commands; and set cmd "
       "\"$cmd $word\"\n"
       "        end\n"
       "    end\n"
       "    echo $cmd\n"
       "end\n\n";
  s += "# Whether the command line so far is the command path in $argv[1].\n";
  s += "function " + is_fn + "\n    test (" + command_fn +
       ") = \"$argv[1]\"\nend\n\n";
  s += "complete -c " + program + " -f\n";
  for (const CommandSpec& command : commands) {
    const std::string condition =
        " -n " + FishQuote(is_fn + " \"" + command.path + "\"");
    for (const SubcommandSpec& sub : command.subcommands) {
      s += "complete -c " + program + condition + " -a " + sub.name;
      if (!sub.description.empty()) s += " -d " + FishQuote(sub.description);
      s += "\n";
    }
    for (const OptionSpec& option : command.options) {
      s += "complete -c " + program + condition;
      for (const std::string& name : option.names) {
        s += name.rfind("--", 0) == 0 ? " -l " + name.substr(2)
                                      : " -s " + name.substr(1);
      }
      if (option.takes_value) {
        if (!option.values.choices.empty()) {
          s += " -x -a " + FishQuote(Join(option.values.choices));
        } else if (option.values.files) {
          s += " -r -F";
        } else {
          s += " -x";
        }
      }
      if (!option.description.empty()) {
        s += " -d " + FishQuote(option.description);
      }
      s += "\n";
    }
    if (!command.arguments.choices.empty()) {
      s += "complete -c " + program + condition + " -a " +
           FishQuote(Join(command.arguments.choices)) + "\n";
    } else if (command.arguments.files) {
      s += "complete -c " + program + condition + " -F\n";
    }
  }
  return s;
}

}  // namespace

std::vector<std::string> CompletionShells() { return {"bash", "zsh", "fish"}; }

Result<std::string> CompletionScript(const CLI::App& app,
                                     std::string_view program,
                                     std::string_view shell) {
  const std::string name(program);
  if (!IsWord(name)) {
    return Status::InvalidArgument(
        "completion: program name '" + name +
        "' is not a plain word (letters, digits, '_', '.', '+', '-')");
  }
  std::vector<CommandSpec> commands;
  Walk(app, name, {}, &commands);
  if (shell == "bash") return BashScript(name, commands);
  if (shell == "zsh") return ZshScript(name, commands);
  if (shell == "fish") return FishScript(name, commands);
  return Status::InvalidArgument("completion: unknown shell '" +
                                 std::string(shell) + "'; use " +
                                 Join(CompletionShells(), ", "));
}

}  // namespace shorty
