// Status and Result<T>: how every module reports an expected failure without
// exceptions. A Status is a code plus a message a person can act on.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace shorty {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the input breaks a rule; the message names field and
                     // rule
  kBadRequest,       // the request itself cannot be read: malformed JSON, types
  kNotFound,
  kAlreadyExists,
  kGone,  // the thing existed but is expired, used up or disabled
  kUnauthorized,
  kForbidden,
  kTooLarge,
  kUnavailable,  // try again later: busy, locked, shutting down, unreachable
  kIOError,
  kCorruption,
  kInternal,
};

// The stable lower-case name of a code, as used in JSON error bodies
// ("invalid_argument", "not_found", ...).
const char* CodeName(Code code);

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status BadRequest(std::string m) {
    return Status(Code::kBadRequest, std::move(m));
  }
  static Status NotFound(std::string m) {
    return Status(Code::kNotFound, std::move(m));
  }
  static Status AlreadyExists(std::string m) {
    return Status(Code::kAlreadyExists, std::move(m));
  }
  static Status Gone(std::string m) {
    return Status(Code::kGone, std::move(m));
  }
  static Status Unauthorized(std::string m) {
    return Status(Code::kUnauthorized, std::move(m));
  }
  static Status Forbidden(std::string m) {
    return Status(Code::kForbidden, std::move(m));
  }
  static Status TooLarge(std::string m) {
    return Status(Code::kTooLarge, std::move(m));
  }
  static Status Unavailable(std::string m) {
    return Status(Code::kUnavailable, std::move(m));
  }
  static Status IOError(std::string m) {
    return Status(Code::kIOError, std::move(m));
  }
  static Status Corruption(std::string m) {
    return Status(Code::kCorruption, std::move(m));
  }
  static Status Internal(std::string m) {
    return Status(Code::kInternal, std::move(m));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains its absence. Not thread-safe (a value).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace shorty
