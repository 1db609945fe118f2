// Status ordering: a verification's status only moves forward.
#include "dlrd/core/model/delivery.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

using S = DeliveryStatus;

TEST(StatusRank, ForwardOrder) {
  EXPECT_LT(StatusRank(S::kUnknown), StatusRank(S::kQueued));
  EXPECT_LT(StatusRank(S::kQueued), StatusRank(S::kSent));
  EXPECT_LT(StatusRank(S::kSent), StatusRank(S::kFailed));
  EXPECT_LT(StatusRank(S::kFailed), StatusRank(S::kDelivered));
  EXPECT_LT(StatusRank(S::kDelivered), StatusRank(S::kRead));
  EXPECT_LT(StatusRank(S::kRead), StatusRank(S::kVerified));
  EXPECT_FALSE(IsTerminalFailure(S::kVerified));
  // All terminal failures share one rank: the first reported wins.
  for (S s : {S::kUndelivered, S::kExpired, S::kRejected}) {
    EXPECT_EQ(StatusRank(s), StatusRank(S::kFailed));
  }
}

TEST(StatusRank, TerminalFailures) {
  for (S s : kAllStatuses) {
    const bool failure = s == S::kFailed || s == S::kUndelivered ||
                         s == S::kExpired || s == S::kRejected;
    EXPECT_EQ(IsTerminalFailure(s), failure) << ToString(s);
  }
}

TEST(Names, RoundTrip) {
  for (S s : kAllStatuses) {
    EXPECT_EQ(ParseDeliveryStatus(ToString(s)), s);
  }
  for (Channel c : kAllChannels) {
    EXPECT_EQ(ParseChannel(ToString(c)), c);
  }
  EXPECT_FALSE(ParseChannel("SMS").has_value());  // names are lowercase
  EXPECT_FALSE(ParseDeliveryStatus("").has_value());
}

}  // namespace
}  // namespace dlrd
