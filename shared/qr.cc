#include "shared/qr.h"

#include <qrencode.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>

namespace shorty {
namespace {

struct QrcodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

int ClampModulePx(int module_px) {
  return std::clamp(module_px, 1, kMaxQrModulePx);
}

int ClampQuiet(int quiet) { return std::clamp(quiet, 0, kMaxQrQuiet); }

void AppendBigEndian32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

// A PNG chunk: length, type, data, and the CRC of type and data.
void AppendChunk(std::string& out, const char type[4],
                 const std::string& data) {
  AppendBigEndian32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.append(type, 4);
  out += data;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + type_at),
              static_cast<uInt>(4 + data.size()));
  AppendBigEndian32(out, static_cast<uint32_t>(crc));
}

}  // namespace

Result<QrCode> EncodeQr(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("qr: text is empty");
  // No QR symbol holds more than 2953 bytes; refuse before narrowing to int.
  if (text.size() > 4096) {
    return Status::InvalidArgument("qr: text too long for a QR code");
  }
  errno = 0;
  // 8-bit mode keeps the text byte for byte: no case folding, no Kanji
  // guessing, which a URL's path and query need.
  std::unique_ptr<QRcode, QrcodeDeleter> code(QRcode_encodeData(
      static_cast<int>(text.size()),
      reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M));
  if (!code) {
    if (errno == ERANGE) {
      return Status::InvalidArgument("qr: text too long for a QR code");
    }
    return Status::Internal(std::string("qr: encoding failed (errno ") +
                            std::to_string(errno) + ")");
  }
  QrCode qr;
  qr.size = code->width;
  const size_t n = static_cast<size_t>(qr.size) * static_cast<size_t>(qr.size);
  qr.modules.resize(n);
  // Bit 0 of each byte is the module's colour; the other bits say which
  // function pattern it belongs to.
  for (size_t i = 0; i < n; ++i) qr.modules[i] = (code->data[i] & 1) != 0;
  return qr;
}

std::string QrSvg(const QrCode& qr, int module_px, int quiet) {
  module_px = ClampModulePx(module_px);
  quiet = ClampQuiet(quiet);
  const int total = qr.size + 2 * quiet;
  const std::string px = std::to_string(total * module_px);
  const std::string modules = std::to_string(total);

  std::string path;
  for (int y = 0; y < qr.size; ++y) {
    for (int x = 0; x < qr.size;) {
      if (!qr.dark(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (qr.dark(x + run, y)) ++run;
      const std::string n = std::to_string(run);
      path += "M" + std::to_string(x + quiet) + " " +
              std::to_string(y + quiet) + "h" + n + "v1h-" + n + "z";
      x += run;
    }
  }

  std::string svg;
  svg.reserve(path.size() + 320);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"";
  svg += px + "\" height=\"" + px + "\" viewBox=\"0 0 " + modules + " " +
         modules + "\" shape-rendering=\"crispEdges\">";
  svg += "<rect width=\"" + modules + "\" height=\"" + modules +
         "\" fill=\"#fff\"/>";
  // stroke="none" is the SVG default, but ImageMagick's renderer (which
  // zbarimg uses) strokes paths without it, swelling every module.
  svg += "<path fill=\"#000\" stroke=\"none\" d=\"" + path + "\"/>";
  svg += "</svg>\n";
  return svg;
}

std::string QrPng(const QrCode& qr, int module_px, int quiet) {
  module_px = ClampModulePx(module_px);
  quiet = ClampQuiet(quiet);
  const int total = qr.size + 2 * quiet;
  if (total <= 0) return "";
  const uint32_t pixels = static_cast<uint32_t>(total * module_px);
  const size_t row_bytes = (pixels + 7) / 8;

  // Filter byte 0 (None) then 1-bit pixels, most significant bit first,
  // 1 for white. Each module row gives one scanline, repeated module_px
  // times.
  std::string raw;
  raw.reserve((row_bytes + 1) * pixels);
  std::string scanline(row_bytes + 1, '\0');
  for (int my = 0; my < total; ++my) {
    std::fill(scanline.begin() + 1, scanline.end(), static_cast<char>(0xff));
    for (int mx = 0; mx < total; ++mx) {
      if (!qr.dark(mx - quiet, my - quiet)) continue;
      for (int i = 0; i < module_px; ++i) {
        const size_t p = static_cast<size_t>(mx * module_px + i);
        scanline[1 + p / 8] =
            static_cast<char>(static_cast<unsigned char>(scanline[1 + p / 8]) &
                              ~(0x80u >> (p % 8)));
      }
    }
    for (int i = 0; i < module_px; ++i) raw += scanline;
  }

  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION) != Z_OK) {
    return "";
  }
  compressed.resize(compressed_size);

  std::string ihdr;
  AppendBigEndian32(ihdr, pixels);  // width
  AppendBigEndian32(ihdr, pixels);  // height
  ihdr.push_back(1);                // bit depth
  ihdr.push_back(0);                // colour type: grayscale
  ihdr.push_back(0);                // compression: deflate
  ihdr.push_back(0);                // filter method 0
  ihdr.push_back(0);                // no interlace

  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendChunk(png, "IHDR", ihdr);
  AppendChunk(png, "IDAT", compressed);
  AppendChunk(png, "IEND", "");
  return png;
}

std::string QrTerminal(const QrCode& qr, int quiet) {
  quiet = ClampQuiet(quiet);
  const int total = qr.size + 2 * quiet;
  auto light = [&](int x, int y) {
    return y < total && !qr.dark(x - quiet, y - quiet);
  };
  std::string out;
  for (int y = 0; y < total; y += 2) {
    for (int x = 0; x < total; ++x) {
      const bool top = light(x, y);
      const bool bottom = light(x, y + 1);
      if (top && bottom) {
        out += "\u2588";
      } else if (top) {
        out += "\u2580";
      } else if (bottom) {
        out += "\u2584";
      } else {
        out += ' ';
      }
    }
    out += '\n';
  }
  return out;
}

}  // namespace shorty
