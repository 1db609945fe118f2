// ASSERT_OK / EXPECT_OK for dlrd::Status and dlrd::Result<T>, after leveldb's
// ASSERT_LEVELDB_OK (docs/testing.md §6): on failure the message of the
// status is printed, not just "false".
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "dlrd/core/util/status.h"

namespace dlrd::testutil {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

inline ::testing::AssertionResult IsOk(const char* expr, const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << expr << " is not ok: " << s.message();
}

}  // namespace dlrd::testutil

#define ASSERT_OK(expr)                                             \
  ASSERT_PRED_FORMAT1(::dlrd::testutil::IsOk,                       \
                      ::dlrd::testutil::StatusOf(expr))
#define EXPECT_OK(expr)                                             \
  EXPECT_PRED_FORMAT1(::dlrd::testutil::IsOk,                       \
                      ::dlrd::testutil::StatusOf(expr))
