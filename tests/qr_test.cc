#include "shared/qr.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace shorty {
namespace {

const char kShortUrl[] = "https://go.example.com/Docs";

// A 300-byte URL with mixed case, digits and query punctuation.
std::string LongUrl() {
  std::string url = "https://go.example.com/Long/Path?";
  for (int i = 0; url.size() < 300; ++i) {
    url += "Key" + std::to_string(i) + "=VaLuE-" + std::to_string(i * 7) + "&";
  }
  url.resize(300);
  return url;
}

QrCode MustEncode(const std::string& text) {
  Result<QrCode> qr = EncodeQr(text);
  REQUIRE_MESSAGE(qr.ok(), qr.status().message());
  return *qr;
}

uint32_t ReadBigEndian32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<unsigned char>(s[at])} << 24) |
         (uint32_t{static_cast<unsigned char>(s[at + 1])} << 16) |
         (uint32_t{static_cast<unsigned char>(s[at + 2])} << 8) |
         uint32_t{static_cast<unsigned char>(s[at + 3])};
}

struct Chunk {
  std::string type;
  std::string data;
};

// Splits a PNG into its chunks, checking each chunk's CRC on the way.
std::vector<Chunk> ParsePng(const std::string& png) {
  std::vector<Chunk> chunks;
  REQUIRE(png.size() >= 8);
  CHECK(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  size_t at = 8;
  while (at < png.size()) {
    REQUIRE(at + 12 <= png.size());
    const uint32_t length = ReadBigEndian32(png, at);
    REQUIRE(at + 12 + length <= png.size());
    Chunk chunk{png.substr(at + 4, 4), png.substr(at + 8, length)};
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(png.data() + at + 4),
                length + 4);
    CHECK_MESSAGE(ReadBigEndian32(png, at + 8 + length) == crc,
                  "bad CRC on chunk " << chunk.type);
    chunks.push_back(std::move(chunk));
    at += 12 + length;
  }
  return chunks;
}

// The pixel at (x, y) of an unfiltered 1-bit image: true for white.
bool WhitePixel(const std::string& raw, uint32_t width, uint32_t x,
                uint32_t y) {
  const size_t row_bytes = (width + 7) / 8 + 1;
  const auto byte = static_cast<unsigned char>(raw[y * row_bytes + 1 + x / 8]);
  return (byte & (0x80u >> (x % 8))) != 0;
}

// Runs a shell command and returns its standard output and exit status.
std::string Run(const std::string& command, int* status) {
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  *status = pclose(pipe);
  return out;
}

void RequireZbarimg() {
  int status = 0;
  const std::string path = Run("command -v zbarimg 2>/dev/null", &status);
  if (status != 0 || path.empty()) {
    FAIL(
        "zbarimg not found: install zbar-tools (apt-get install zbar-tools, "
        "or scripts/install-deps) to run the QR decode round trip");
  }
}

// Writes `contents` to a fresh temp file ending in `suffix`, decodes it with
// zbarimg, removes the file, and returns what zbarimg printed.
std::string DecodeWithZbar(const std::string& contents,
                           const std::string& suffix, int* status) {
  std::string name = "/tmp/shorty_qr_XXXXXX" + suffix;
  const int fd = mkstemps(name.data(), static_cast<int>(suffix.size()));
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, contents.data(), contents.size()) ==
          static_cast<ssize_t>(contents.size()));
  close(fd);
  std::string out = Run("zbarimg --raw -q '" + name + "' 2>/dev/null", status);
  unlink(name.c_str());
  return out;
}

TEST_CASE("EncodeQr: a short URL gives a sane, deterministic matrix") {
  const QrCode qr = MustEncode(kShortUrl);
  CHECK(qr.size >= 21);
  CHECK(qr.size <= 57);
  CHECK((qr.size - 17) % 4 == 0);  // sizes are 4 * version + 17
  CHECK(qr.modules.size() == static_cast<size_t>(qr.size * qr.size));

  const QrCode again = MustEncode(kShortUrl);
  CHECK(again.size == qr.size);
  CHECK(again.modules == qr.modules);

  // Finder pattern corners are dark; outside the matrix is light.
  CHECK(qr.dark(0, 0));
  CHECK(qr.dark(qr.size - 1, 0));
  CHECK(qr.dark(0, qr.size - 1));
  CHECK_FALSE(qr.dark(-1, 0));
  CHECK_FALSE(qr.dark(0, qr.size));

  // Case matters in slugs, so it must change the symbol.
  CHECK(MustEncode("https://go.example.com/docs").modules != qr.modules);
}

TEST_CASE("EncodeQr: a longer URL picks a larger version") {
  const QrCode small = MustEncode(kShortUrl);
  const QrCode large = MustEncode(LongUrl());
  CHECK(large.size > small.size);
  CHECK(large.size <= 177);
}

TEST_CASE("EncodeQr: rejects text that cannot be encoded") {
  struct Case {
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {std::string(5000, 'a'), "qr: text too long for a QR code"},
      {std::string(2400, 'a'), "qr: text too long for a QR code"},  // ERANGE
      {"", "qr: text is empty"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text.size());
    Result<QrCode> qr = EncodeQr(c.text);
    REQUIRE_FALSE(qr.ok());
    CHECK(qr.status().code() == Code::kInvalidArgument);
    CHECK(qr.status().message() == c.message);
  }
  // 2331 bytes is the most level M holds.
  CHECK(EncodeQr(std::string(2331, 'a')).ok());
}

TEST_CASE("QrSvg: structure, and the path draws exactly the dark modules") {
  const std::string text = "https://go.example.com/<script>&\"Docs";
  const QrCode qr = MustEncode(text);
  const std::string svg = QrSvg(qr, 8, 4);
  const int total = qr.size + 8;

  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  const std::string dims = std::to_string(total);
  CHECK(svg.find("viewBox=\"0 0 " + dims + " " + dims + "\"") !=
        std::string::npos);
  const std::string px = std::to_string(total * 8);
  CHECK(svg.find("width=\"" + px + "\"") != std::string::npos);
  CHECK(svg.find("height=\"" + px + "\"") != std::string::npos);
  CHECK(svg.find("shape-rendering=\"crispEdges\"") != std::string::npos);
  CHECK(svg.find("fill=\"#fff\"") != std::string::npos);
  for (const char* fragment :
       {"example", "script", "Docs", "https", "&", "<script"}) {
    CAPTURE(fragment);
    CHECK(svg.find(fragment) == std::string::npos);
  }

  // Exactly one path; replay its runs and compare with the matrix.
  const size_t d = svg.find(" d=\"");
  REQUIRE(d != std::string::npos);
  CHECK(svg.find("<path", svg.find("<path") + 1) == std::string::npos);
  const size_t end = svg.find('"', d + 4);
  const std::string path = svg.substr(d + 4, end - d - 4);
  std::vector<bool> drawn(static_cast<size_t>(qr.size * qr.size), false);
  const char* p = path.c_str();
  int runs = 0;
  while (*p != '\0') {
    int x, y, n, back, used = 0;
    REQUIRE(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &back, &used) == 4);
    REQUIRE(used > 0);
    CHECK(back == n);
    x -= 4;
    y -= 4;
    REQUIRE(x >= 0);
    REQUIRE(y >= 0);
    REQUIRE(x + n <= qr.size);
    REQUIRE(y < qr.size);
    // Runs are maximal: light on both sides.
    CHECK_FALSE(qr.dark(x - 1, y));
    CHECK_FALSE(qr.dark(x + n, y));
    for (int i = 0; i < n; ++i) {
      drawn[static_cast<size_t>(y * qr.size + x + i)] = true;
    }
    ++runs;
    p += used;
  }
  CHECK(runs > 0);
  CHECK(drawn == qr.modules);
}

TEST_CASE("QrSvg and QrPng clamp sizes") {
  const QrCode qr = MustEncode(kShortUrl);
  const int total = qr.size + 2 * kMaxQrQuiet;
  const std::string svg = QrSvg(qr, 0, 1000);
  CHECK(svg.find("width=\"" + std::to_string(total) + "\"") !=
        std::string::npos);
  const std::vector<Chunk> chunks = ParsePng(QrPng(qr, 100000, -3));
  REQUIRE(!chunks.empty());
  CHECK(ReadBigEndian32(chunks[0].data, 0) ==
        static_cast<uint32_t>(qr.size * kMaxQrModulePx));
  CHECK(QrPng(QrCode{}, 8, 0).empty());
}

TEST_CASE("QrPng: chunks, CRCs and pixels") {
  const QrCode qr = MustEncode(kShortUrl);
  const int module_px = 3;
  const int quiet = 4;
  const std::string png = QrPng(qr, module_px, quiet);
  const std::vector<Chunk> chunks = ParsePng(png);

  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].type == "IHDR");
  CHECK(chunks[1].type == "IDAT");
  CHECK(chunks[2].type == "IEND");
  CHECK(chunks[2].data.empty());

  const std::string& ihdr = chunks[0].data;
  REQUIRE(ihdr.size() == 13);
  const uint32_t width = ReadBigEndian32(ihdr, 0);
  const uint32_t height = ReadBigEndian32(ihdr, 4);
  CHECK(width == static_cast<uint32_t>((qr.size + 2 * quiet) * module_px));
  CHECK(height == width);
  CHECK(ihdr[8] == 1);   // bit depth
  CHECK(ihdr[9] == 0);   // grayscale
  CHECK(ihdr[10] == 0);  // deflate
  CHECK(ihdr[11] == 0);  // filter method
  CHECK(ihdr[12] == 0);  // not interlaced

  const size_t row_bytes = (width + 7) / 8 + 1;
  const size_t expected = row_bytes * height;
  std::string raw(expected + 16, '\0');
  uLongf raw_size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                     reinterpret_cast<const Bytef*>(chunks[1].data.data()),
                     static_cast<uLong>(chunks[1].data.size())) == Z_OK);
  CHECK(raw_size == expected);
  raw.resize(raw_size);

  int mismatches = 0;
  for (uint32_t y = 0; y < height; ++y) {
    CHECK(raw[y * row_bytes] == 0);  // filter type None
    for (uint32_t x = 0; x < width; ++x) {
      const bool dark = qr.dark(static_cast<int>(x) / module_px - quiet,
                                static_cast<int>(y) / module_px - quiet);
      if (WhitePixel(raw, width, x, y) == dark) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("QrPng: zbarimg decodes exactly the encoded URL") {
  RequireZbarimg();
  for (const std::string& url : {std::string(kShortUrl), LongUrl()}) {
    CAPTURE(url);
    int status = -1;
    const std::string out =
        DecodeWithZbar(QrPng(MustEncode(url)), ".png", &status);
    CHECK(status == 0);
    CHECK(out == url + "\n");
  }
}

// Reading SVG needs ImageMagick's SVG coder (libmagickcore-6.q16-6-extra),
// which zbar-tools only suggests: skip when zbarimg cannot read the file
// (exit 1), but fail when it reads it and finds no code (exit 4).
TEST_CASE("QrSvg: zbarimg decodes it where it can read SVG") {
  RequireZbarimg();
  for (const std::string& url : {std::string(kShortUrl), LongUrl()}) {
    CAPTURE(url);
    int status = -1;
    const std::string out =
        DecodeWithZbar(QrSvg(MustEncode(url)), ".svg", &status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
      MESSAGE(
          "zbarimg cannot read SVG here (install "
          "libmagickcore-6.q16-6-extra); SVG decode skipped");
      return;
    }
    CHECK(status == 0);
    CHECK(out == url + "\n");
  }
}

TEST_CASE("QrTerminal: shape, and light modules drawn as blocks") {
  const QrCode qr = MustEncode(kShortUrl);
  for (int quiet : {0, 1, 2, 4}) {
    CAPTURE(quiet);
    const std::string text = QrTerminal(qr, quiet);
    const int total = qr.size + 2 * quiet;

    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      lines.push_back(text.substr(start, nl - start));
    }
    CHECK(start == text.size());  // the last line ends with '\n' too
    REQUIRE(lines.size() == static_cast<size_t>((total + 1) / 2));

    // Decode the half blocks back to rows of light/dark and compare.
    const std::string upper = "\u2580", lower = "\u2584", full = "\u2588";
    int mismatches = 0;
    for (size_t row = 0; row < lines.size(); ++row) {
      const std::string& line = lines[row];
      int column = 0;
      for (size_t i = 0; i < line.size(); ++column) {
        bool top_light, bottom_light;
        if (line[i] == ' ') {
          top_light = bottom_light = false;
          i += 1;
        } else {
          const std::string glyph = line.substr(i, 3);
          REQUIRE_MESSAGE((glyph == upper || glyph == lower || glyph == full),
                          "unexpected byte in line " << row);
          top_light = glyph != lower;
          bottom_light = glyph != upper;
          i += 3;
        }
        const int y = static_cast<int>(row) * 2;
        if (top_light == qr.dark(column - quiet, y - quiet)) ++mismatches;
        const bool bottom_expected =
            y + 1 < total && !qr.dark(column - quiet, y + 1 - quiet);
        if (bottom_light != bottom_expected) ++mismatches;
      }
      CHECK(column == total);
    }
    CHECK(mismatches == 0);
  }
}

}  // namespace
}  // namespace shorty
