#include "dlrd/core/stats/verification_outcome.h"

namespace dlrd {
namespace {

constexpr int kRankFailed = 3;
constexpr int kRankDelivered = 4;
constexpr int kRankVerified = 6;

}  // namespace

VerificationRow MergeVerification(const VerificationRow& before,
                                  const DeliveryEvent& e) {
  const int rank = StatusRank(e.status);
  if (!before.exists) {
    return VerificationRow{true,
                           e.provider,
                           std::string(ToString(e.channel)),
                           e.country,
                           e.recipient,
                           rank,
                           e.received_at_ms};
  }
  VerificationRow after = before;
  if (rank > before.rank) {
    after.rank = rank;
    after.channel = std::string(ToString(e.channel));
  }
  if (after.country.empty()) after.country = e.country;
  if (after.recipient.empty()) after.recipient = e.recipient;
  return after;
}

bool VerificationChanges(const VerificationRow& before,
                         const VerificationRow& after) {
  return !before.exists || after.rank != before.rank ||
         after.country != before.country || after.recipient != before.recipient;
}

void MoveOutcome(RollupDelta& delta, std::string_view source,
                 const VerificationRow& before, const VerificationRow& after) {
  struct Part {
    HourlyColumn column;
    bool (*in)(int rank);
  };
  static constexpr Part kParts[] = {
      {HourlyColumn::kSent, [](int) { return true; }},
      {HourlyColumn::kDelivered, [](int r) { return r >= kRankDelivered; }},
      {HourlyColumn::kFailed, [](int r) { return r == kRankFailed; }},
      {HourlyColumn::kVerified, [](int r) { return r == kRankVerified; }},
  };
  const bool same_group = before.exists && before.channel == after.channel &&
                          before.country == after.country;
  for (const Part& p : kParts) {
    const bool was = before.exists && p.in(before.rank);
    const bool is = p.in(after.rank);
    if (same_group && was == is) continue;
    if (was) {
      delta.AddHourly(before.first_at_ms, source, before.provider,
                      before.channel, before.country, p.column, -1);
    }
    if (is) {
      delta.AddHourly(after.first_at_ms, source, after.provider, after.channel,
                      after.country, p.column, 1);
    }
  }
}

void AddEventContribution(RollupDelta& delta, const DeliveryEvent& e) {
  const std::string_view channel = ToString(e.channel);
  delta.AddHourly(e.received_at_ms, e.source, e.provider, channel, e.country,
                  HourlyColumn::kCallbacks, 1);
  if (e.latency_ms && e.status == DeliveryStatus::kDelivered) {
    delta.AddLatency(e.received_at_ms, e.source, e.provider, channel, e.country,
                     "provider", -1, *e.latency_ms);
  }
  if (!e.error_code.empty()) {
    delta.AddError(e.received_at_ms, e.source, e.provider, channel, e.country,
                   e.error_code);
  }
}

}  // namespace dlrd
