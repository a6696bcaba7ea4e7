// QR codes for short links: encoding a link's URL into a module matrix, and
// rendering that matrix as SVG, PNG or Unicode text for a terminal. Pure
// functions over values; no files, no sockets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace shorty {

// Renderers clamp module_px to [1, kMaxQrModulePx] and quiet to
// [0, kMaxQrQuiet], so a size taken from a request cannot make a renderer
// allocate without bound. The QR standard asks for a quiet zone of 4.
constexpr int kMaxQrModulePx = 64;
constexpr int kMaxQrQuiet = 16;

// A QR symbol as a square matrix of modules: `size` x `size`, row-major,
// true for dark. A value; not thread-safe to mutate, safe to share read-only.
struct QrCode {
  int size = 0;
  std::vector<bool> modules;

  // True when module (x, y) is dark. Coordinates outside the matrix are
  // light, so renderers can ask about the quiet zone without bounds checks.
  bool dark(int x, int y) const {
    if (x < 0 || y < 0 || x >= size || y >= size) return false;
    return modules[static_cast<size_t>(y) * static_cast<size_t>(size) +
                   static_cast<size_t>(x)];
  }
};

// Encodes `text` byte for byte (8-bit mode, case preserved) at error
// correction level M, in the smallest version that holds it. On failure:
// InvalidArgument "qr: text is empty" or "qr: text too long for a QR code"
// (more than 2331 bytes), Internal if libqrencode fails otherwise (out of
// memory). Thread-safe (Debian's libqrencode is built thread-safe).
Result<QrCode> EncodeQr(std::string_view text);

// A standalone SVG document (starting "<svg") drawing `qr` dark on a white
// background: one <path> whose subpaths are horizontal runs of dark modules,
// a viewBox in modules including a `quiet`-module margin, and width/height
// of (size + 2 * quiet) * module_px pixels. No text from the encoded input
// appears in it. Thread-safe.
std::string QrSvg(const QrCode& qr, int module_px = 8, int quiet = 4);

// A PNG image of `qr`: 1-bit grayscale, (size + 2 * quiet) * module_px
// pixels square, black modules on white, not interlaced. Returns an empty
// string if the image would have no pixels (size 0 and quiet 0) or zlib
// runs out of memory. Thread-safe.
std::string QrPng(const QrCode& qr, int module_px = 8, int quiet = 4);

// `qr` as UTF-8 text for a terminal, two module rows per line using the
// half blocks U+2580 (upper), U+2584 (lower), U+2588 (full) and space; every
// line is size + 2 * quiet columns wide and ends with '\n', and there are
// ceil((size + 2 * quiet) / 2) lines.
//
// Convention: LIGHT modules (including the quiet zone) are printed as blocks
// and dark modules as spaces. Terminals draw glyphs in a light foreground
// over a dark background, so this shows dark-on-light, which is what
// scanners expect; on a light-background terminal the code shows inverted
// and many scanners will not read it. Below an odd last row, the half line
// is left as background (dark). Thread-safe.
std::string QrTerminal(const QrCode& qr, int quiet = 2);

}  // namespace shorty
