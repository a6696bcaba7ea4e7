// Human output of the CLI: tables sized to the terminal, colour only on a
// terminal and never with NO_COLOR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace shorty {

struct Terminal {
  bool tty = false;     // stdout is a terminal
  bool colour = false;  // tty and NO_COLOR unset or empty
  size_t width = 0;     // columns; 0 = unlimited (not a terminal)
};

// What stdout is, from isatty, TIOCGWINSZ, $COLUMNS and $NO_COLOR.
Terminal DetectTerminal();

enum class Colour { kNone, kGreen, kYellow, kRed, kDim };

struct Cell {
  std::string text;
  Colour colour = Colour::kNone;
};

// Renders rows under a header. Columns take their widest cell; when the
// table is wider than the terminal, the column marked `flexible` (the last
// if -1) is cut with "…" to fit. Control characters in cells are shown as
// '?', so stored text cannot drive the terminal.
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<Cell>>& rows,
                        const Terminal& term, int flexible = -1);

// A horizontal bar chart, one line a row: "label  ████▌  12". The longest
// bar is as wide as the terminal leaves room for (40 columns when it is not
// a terminal); a row with any visits has a bar of at least one eighth cell;
// bars use eighth blocks. Labels are printed as Printable.
std::string RenderBars(const std::vector<std::pair<std::string, int64_t>>& rows,
                       const Terminal& term);

// Replaces control characters and escape sequences with '?'.
std::string Printable(const std::string& text);

}  // namespace shorty
