// Result<T>: a value or an Error that carries errno and a context chain, in the
// spirit of Android's android::base::Result. Library code never throws across
// fork/clone or syscall boundaries; front ends print Error::message on one line.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace berth {

struct Error {
  int code = 0;         // errno of the failing syscall, 0 for a logic/input error
  std::string message;  // "mount proc on /proc: Permission denied"

  // Prefixes context: Error{"EPERM..."}.Context("create c1") -> "create c1: EPERM...".
  Error&& Context(std::string_view what) && {
    message.insert(0, std::string(what) + ": ");
    return std::move(*this);
  }
  Error& Context(std::string_view what) & {
    message.insert(0, std::string(what) + ": ");
    return *this;
  }
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> ErrnoError(std::string_view what, int err = errno) {
  return std::unexpected(Error{err, std::string(what) + ": " + std::strerror(err)});
}

inline std::unexpected<Error> Fail(std::string_view what, int code = 0) {
  return std::unexpected(Error{code, std::string(what)});
}

inline std::unexpected<Error> Fail(Error e) { return std::unexpected(std::move(e)); }

// Adds context to a failed result, passes a good one through.
template <class T>
Result<T> WithContext(Result<T>&& r, std::string_view what) {
  if (!r) r.error().Context(what);
  return std::move(r);
}

}  // namespace berth

// BERTH_TRY(expr): evaluates a Result; on error returns it from the enclosing
// function, otherwise yields the value. Uses a GNU statement expression.
#define BERTH_TRY(expr)                                                  \
  ({                                                                     \
    auto&& berth_try_result_ = (expr);                                   \
    if (!berth_try_result_) return std::unexpected(std::move(berth_try_result_).error()); \
    std::move(berth_try_result_).value();                                \
  })

// BERTH_TRY_CTX(expr, what): as BERTH_TRY, prefixing the error with `what`.
#define BERTH_TRY_CTX(expr, what)                                        \
  ({                                                                     \
    auto&& berth_try_result_ = (expr);                                   \
    if (!berth_try_result_)                                              \
      return std::unexpected(std::move(berth_try_result_).error().Context(what)); \
    std::move(berth_try_result_).value();                                \
  })
