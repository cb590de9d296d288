// GoogleTest assertions for Result<T>: a failure prints the error's message and errno,
// so a failed test says why, and errors are checked by errno, never by message text.
#pragma once

#include <gtest/gtest.h>

#include <cstring>

#include "base/result.h"

#define BERTH_RESULT_OK_(assertion, expr)                                          \
  do {                                                                            \
    const auto& berth_result_ = (expr);                                           \
    assertion(berth_result_.has_value())                                          \
        << #expr << " failed: " << berth_result_.error().message << " (errno "   \
        << berth_result_.error().code << ")";                                     \
  } while (0)

// ASSERT_RESULT_OK(r): r holds a value. EXPECT_RESULT_OK: the same, non-fatal.
#define ASSERT_RESULT_OK(expr) BERTH_RESULT_OK_(ASSERT_TRUE, expr)
#define EXPECT_RESULT_OK(expr) BERTH_RESULT_OK_(EXPECT_TRUE, expr)

// EXPECT_RESULT_ERRNO(r, ENOENT): r failed, with that errno.
#define EXPECT_RESULT_ERRNO(expr, err)                                             \
  do {                                                                            \
    const auto& berth_result_ = (expr);                                           \
    if (berth_result_.has_value()) {                                              \
      ADD_FAILURE() << #expr << " succeeded; expected errno " << (err);           \
    } else {                                                                      \
      EXPECT_EQ(berth_result_.error().code, (err))                                \
          << #expr << ": " << berth_result_.error().message;                      \
    }                                                                             \
  } while (0)
