#include "shared/timeparse.h"

#include <cstdio>
#include <limits>

namespace shorty {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

// Longer than any sensible expiry, and small enough that the sums below and
// now + duration stay far from int64 overflow.
constexpr int64_t kMaxDuration = 100 * 366 * kSecondsPerDay;

constexpr char kDurationForms[] = "use a number and a unit: 90m, 36h, 7d, 2w";
constexpr char kTimeForms[] =
    "use a duration (7d, 36h), a date (2026-12-31) or RFC 3339 "
    "(2026-12-31T00:00:00Z, 2026-12-31T01:00:00+01:00)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int64_t UnitSeconds(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return kSecondsPerDay;
    case 'w':
      return 7 * kSecondsPerDay;
  }
  return 0;
}

std::string Quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// ParseTimePoint replaces "not understood" with its own list of forms but
// passes the other duration errors (zero, too long) through, as they say
// more than a list of forms would.
enum class DurationError { kNone, kNotUnderstood, kOther };

Result<int64_t> ParseDurationImpl(std::string_view text, DurationError* kind) {
  *kind = DurationError::kOther;
  if (text.empty()) {
    return Status::InvalidArgument(std::string("duration: empty; ") +
                                   kDurationForms);
  }
  if (text[0] == '-') {
    return Status::InvalidArgument("duration: " + Quoted(text) +
                                   " is negative; " + kDurationForms);
  }
  const Status too_long = Status::InvalidArgument(
      "duration: " + Quoted(text) + " is too long; the most is 100 years");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    int64_t number = 0;
    while (i < text.size() && IsDigit(text[i])) {
      number = number * 10 + (text[i] - '0');
      if (number > kMaxDuration) return too_long;
      ++i;
    }
    const int64_t unit = i < text.size() ? UnitSeconds(text[i]) : 0;
    if (i == start || unit == 0) {
      *kind = DurationError::kNotUnderstood;
      return Status::InvalidArgument("duration: " + Quoted(text) +
                                     " is not understood; " + kDurationForms);
    }
    ++i;
    if (number > kMaxDuration / unit) return too_long;
    total += number * unit;
    if (total > kMaxDuration) return too_long;
  }
  if (total == 0) {
    return Status::InvalidArgument("duration: " + Quoted(text) +
                                   " must be more than zero");
  }
  *kind = DurationError::kNone;
  return total;
}

// Days since 1970-01-01 of a proleptic Gregorian date; Howard Hinnant's
// days_from_civil, so no timegm (not in ISO C++, and reads the TZ
// environment on some libcs).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;  // 0..399
  const int64_t doy =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // 0..365
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // 0..146096
  return era * 146097 + doe - 719468;
}

// The inverse of DaysFromCivil.
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

bool IsLeapYear(int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads exactly `width` digits at text[*pos]; false if any is not a digit.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  *pos += width;
  *out = value;
  return true;
}

bool ReadChar(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "YYYY-MM-DD", optionally followed by "THH:MM:SS[.frac](Z|+HH:MM|-HH:MM)".
Result<UnixTime> ParseDateTime(std::string_view text) {
  static constexpr char kMonthNames[][10] = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  auto error = [&](const std::string& what) {
    return Status::InvalidArgument("time: " + Quoted(text) + " " + what);
  };
  const Status not_understood =
      error(std::string("is not understood; ") + kTimeForms);
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !ReadChar(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return not_understood;
  }
  if (month < 1 || month > 12)
    return error("has no month " + std::to_string(month) +
                 "; months are 01..12");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return error("is not a date: " + std::string(kMonthNames[month - 1]) + " " +
                 std::to_string(year) + " has " +
                 std::to_string(DaysInMonth(year, month)) + " days");
  }
  const int64_t midnight = DaysFromCivil(year, month, day) * kSecondsPerDay;
  if (pos == text.size()) return midnight;

  // RFC 3339 allows a space or lower-case t for readability (section 5.6).
  const char separator = text[pos++];
  if (separator != 'T' && separator != 't' && separator != ' ') {
    return not_understood;
  }
  int hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 2, &hour) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !ReadChar(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return not_understood;
  }
  if (hour > 23)
    return error("has hour " + std::to_string(hour) + "; hours are 00..23");
  if (minute > 59)
    return error("has minute " + std::to_string(minute) +
                 "; minutes are 00..59");
  if (second > 60)
    return error("has second " + std::to_string(second) +
                 "; seconds are 00..59");
  // Unix time has no leap seconds: a leap second counts as the last second
  // of its minute, as POSIX clocks show it.
  if (second == 60) second = 59;
  if (ReadChar(text, &pos, '.')) {
    const size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == start) return not_understood;
  }
  int64_t offset = 0;
  if (pos == text.size()) {
    return error("has no time zone; add Z for UTC or an offset such as +01:00");
  }
  const char zone = text[pos++];
  if (zone == '+' || zone == '-') {
    int offset_hour = 0, offset_minute = 0;
    if (!ReadDigits(text, &pos, 2, &offset_hour) ||
        !ReadChar(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &offset_minute)) {
      return not_understood;
    }
    if (offset_hour > 23 || offset_minute > 59) {
      return error("has an offset out of range; offsets are -23:59..+23:59");
    }
    offset = (offset_hour * 3600 + offset_minute * 60) * (zone == '-' ? -1 : 1);
  } else if (zone != 'Z' && zone != 'z') {
    return not_understood;
  }
  if (pos != text.size()) return not_understood;
  return midnight + hour * 3600 + minute * 60 + second - offset;
}

// A date starts with four digits and a dash; nothing else does, since a
// duration's number always ends in a unit letter.
bool LooksLikeDate(std::string_view text) {
  if (text.size() < 5 || text[4] != '-') return false;
  for (size_t i = 0; i < 4; ++i) {
    if (!IsDigit(text[i])) return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  DurationError kind;
  return ParseDurationImpl(text, &kind);
}

Result<UnixTime> ParseTimePoint(std::string_view text, UnixTime now) {
  if (LooksLikeDate(text)) return ParseDateTime(text);
  DurationError kind;
  Result<int64_t> duration = ParseDurationImpl(text, &kind);
  if (kind == DurationError::kNotUnderstood || text.empty()) {
    return Status::InvalidArgument("time: " + Quoted(text) +
                                   " is not understood; " + kTimeForms);
  }
  if (!duration.ok()) return duration.status();
  if (now > std::numeric_limits<UnixTime>::max() - *duration) {
    return Status::InvalidArgument("time: " + Quoted(text) +
                                   " from now is too far in the future");
  }
  return now + *duration;
}

std::string FormatTime(UnixTime t) {
  // Floor division without forming t - remainder, which could overflow.
  int64_t days = t / kSecondsPerDay;
  int64_t seconds = t % kSecondsPerDay;
  if (seconds < 0) {
    seconds += kSecondsPerDay;
    --days;
  }
  int64_t year = 0;
  int month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                static_cast<long long>(year), month, day,
                static_cast<int>(seconds / 3600),
                static_cast<int>(seconds / 60 % 60),
                static_cast<int>(seconds % 60));
  return buffer;
}

}  // namespace shorty
