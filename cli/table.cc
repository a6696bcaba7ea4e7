#include "cli/table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace shorty {
namespace {

// Display width of UTF-8 text, counting each code point as one column
// (wide East Asian characters count one too; good enough for a table).
size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// The first `width` columns of s, with "…" when cut.
std::string Cut(const std::string& s, size_t width) {
  if (DisplayWidth(s) <= width) return s;
  if (width == 0) return "";
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (cols + 1 == width) break;
      ++cols;
    }
    out += s[i];
  }
  return out + "\xE2\x80\xA6";  // …
}

const char* Ansi(Colour c) {
  switch (c) {
    case Colour::kGreen:
      return "\x1b[32m";
    case Colour::kYellow:
      return "\x1b[33m";
    case Colour::kRed:
      return "\x1b[31m";
    case Colour::kDim:
      return "\x1b[2m";
    case Colour::kNone:
      return "";
  }
  return "";
}

}  // namespace

Terminal DetectTerminal() {
  Terminal t;
  t.tty = ::isatty(STDOUT_FILENO) == 1;
  const char* no_colour = std::getenv("NO_COLOR");
  t.colour = t.tty && !(no_colour && *no_colour);
  if (t.tty) {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      t.width = ws.ws_col;
    } else if (const char* cols = std::getenv("COLUMNS")) {
      t.width = static_cast<size_t>(std::strtoul(cols, nullptr, 10));
    }
    if (t.width == 0) t.width = 80;
  }
  return t;
}

std::string Printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string RenderBars(const std::vector<std::pair<std::string, int64_t>>& rows,
                       const Terminal& term) {
  size_t label_width = 0;
  size_t number_width = 1;
  int64_t most = 0;
  for (const auto& [label, n] : rows) {
    label_width = std::max(label_width, DisplayWidth(Printable(label)));
    number_width = std::max(number_width, std::to_string(n).size());
    most = std::max(most, n);
  }
  // label, two spaces, the bar, two spaces, the number
  size_t room = 40;
  if (term.width > 0) {
    const size_t used = label_width + 4 + number_width;
    room = term.width > used + 10 ? std::min<size_t>(term.width - used, 100) : 10;
  }
  // U+2581.. are lower blocks; U+2589..U+258F are left blocks, 7/8 to 1/8.
  static const char* const kEighths[] = {"",
                                         "\xE2\x96\x8F",
                                         "\xE2\x96\x8E",
                                         "\xE2\x96\x8D",
                                         "\xE2\x96\x8C",
                                         "\xE2\x96\x8B",
                                         "\xE2\x96\x8A",
                                         "\xE2\x96\x89"};
  std::string out;
  for (const auto& [label, n] : rows) {
    const std::string shown = Printable(label);
    out += shown;
    out.append(label_width - DisplayWidth(shown) + 2, ' ');
    size_t eighths = 0;
    if (most > 0 && n > 0) {
      eighths = static_cast<size_t>(
          static_cast<long double>(n) * static_cast<long double>(room * 8) /
          static_cast<long double>(most));
      eighths = std::max<size_t>(eighths, 1);
    }
    for (size_t i = 0; i < eighths / 8; ++i) out += "\xE2\x96\x88";  // █
    out += kEighths[eighths % 8];
    const size_t bar_cells = eighths / 8 + (eighths % 8 ? 1 : 0);
    out.append(room - bar_cells + 2, ' ');
    const std::string number = std::to_string(n);
    out.append(number_width - number.size(), ' ');
    out += number;
    out += '\n';
  }
  return out;
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<Cell>>& rows,
                        const Terminal& term, int flexible) {
  const size_t ncols = header.size();
  if (ncols == 0) return "";
  size_t flex = flexible < 0 ? ncols - 1 : static_cast<size_t>(flexible);
  std::vector<size_t> widths(ncols);
  for (size_t c = 0; c < ncols; ++c) widths[c] = DisplayWidth(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < ncols && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(Printable(row[c].text)));
    }
  }
  if (term.width > 0) {
    size_t total = 0;
    for (size_t c = 0; c < ncols; ++c) total += widths[c] + (c ? 2 : 0);
    if (total > term.width) {
      size_t others = total - widths[flex];
      widths[flex] = term.width > others + 8 ? term.width - others : 8;
    }
  }
  std::string out;
  auto emit = [&](size_t c, const std::string& text, Colour colour) {
    std::string cell = Cut(Printable(text), widths[c]);
    if (c) out += "  ";
    bool paint = term.colour && colour != Colour::kNone;
    if (paint) out += Ansi(colour);
    out += cell;
    if (paint) out += "\x1b[0m";
    if (c + 1 < ncols) out.append(widths[c] - DisplayWidth(cell), ' ');
  };
  for (size_t c = 0; c < ncols; ++c) {
    emit(c, header[c], term.colour ? Colour::kDim : Colour::kNone);
  }
  out += '\n';
  for (const auto& row : rows) {
    for (size_t c = 0; c < ncols; ++c) {
      emit(c, c < row.size() ? row[c].text : "",
           c < row.size() ? row[c].colour : Colour::kNone);
    }
    out += '\n';
  }
  return out;
}

}  // namespace shorty
