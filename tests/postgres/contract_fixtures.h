// Events, submissions and the rollup truths shared by the contract suite
// (event_store_contract_test.cc) and the PostgreSQL-only replica tests
// (pg_event_store_test.cc).
#pragma once

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/ports/event_store.h"
#include "dlrd/core/stats/stats.h"

namespace dlrd::testutil {

inline constexpr int64_t kT0 = 1'700'000'000'000;

inline DeliveryEvent Event(std::string source, std::string key,
                           std::string verification_id = "v-1",
                           DeliveryStatus status = DeliveryStatus::kDelivered) {
  DeliveryEvent e;
  e.source = std::move(source);
  e.provider = "verifynow";
  e.dedupe_key = std::move(key);
  e.verification_id = std::move(verification_id);
  e.channel = Channel::kSms;
  e.status = status;
  e.raw_status = std::string(ToString(status));
  e.received_at_ms = kT0;
  return e;
}

inline Submission Sub(std::vector<DeliveryEvent> events,
                      std::string body = "{}") {
  Submission s;
  s.raw.source = events.empty() ? "src" : events.front().source;
  s.raw.target = "/webhooks/" + s.raw.source;
  s.raw.head = "POST " + s.raw.target +
               " HTTP/1.1\r\nContent-Type: application/json\r\n\r\n";
  s.raw.body = std::move(body);
  s.raw.received_at_ms = kT0;
  s.events = std::move(events);
  return s;
}

// A reproducible stream: statuses in any order, channel changes with rank,
// countries filled in late, events over several days, some duplicates.
inline std::vector<DeliveryEvent> Stream(int n, int days, unsigned seed) {
  std::mt19937_64 rng(seed);
  const DeliveryStatus statuses[] = {
      DeliveryStatus::kSent,   DeliveryStatus::kDelivered,
      DeliveryStatus::kFailed, DeliveryStatus::kVerified,
      DeliveryStatus::kRead,   DeliveryStatus::kExpired};
  const Channel channels[] = {Channel::kSms, Channel::kWhatsapp,
                              Channel::kVoice};
  const std::string countries[] = {"", "GB", "US", "IN"};
  std::vector<DeliveryEvent> out;
  for (int i = 0; i < n; ++i) {
    const std::string id = "v" + std::to_string(rng() % (n / 3 + 1));
    const int k = static_cast<int>(rng() % 5);
    DeliveryEvent e =
        Event("src", id + "/" + std::to_string(k), id, statuses[rng() % 6]);
    e.channel = channels[rng() % 3];
    e.country = countries[rng() % 4];
    e.received_at_ms = kT0 + static_cast<int64_t>(rng() % (days * kDayMs));
    if (rng() % 4 == 0) e.provider = "twilio";
    if (e.status == DeliveryStatus::kDelivered) e.latency_ms = 400 + 997 * k;
    if (e.status == DeliveryStatus::kFailed)
      e.error_code = k % 2 ? "E30" : "E7";
    out.push_back(std::move(e));
  }
  return out;
}

// One event per submission, `per_batch` submissions per batch.
inline std::vector<std::vector<Submission>> Batches(
    const std::vector<DeliveryEvent>& events, size_t per_batch) {
  std::vector<std::vector<Submission>> out;
  for (size_t i = 0; i < events.size(); i += per_batch) {
    std::vector<Submission> subs;
    for (size_t j = i; j < events.size() && j < i + per_batch; ++j) {
      subs.push_back(Sub({events[j]}));
      subs.back().raw.received_at_ms = events[j].received_at_ms;
    }
    out.push_back(std::move(subs));
  }
  return out;
}

// Each rollup next to the GROUP BY it must equal (equal pairs of queries).
inline std::vector<std::pair<std::string, std::string>> RollupTruths() {
  const std::string g = "source, provider, channel, country";
  return {
      {"SELECT hour_ms, " + g +
           ", sent, delivered, failed, verified FROM stats_hourly WHERE"
           " sent != 0 OR delivered != 0 OR failed != 0 OR verified != 0"
           " ORDER BY 1, 2, 3, 4, 5",
       "SELECT first_event_at_ms - first_event_at_ms % 3600000, " + g +
           ", count(*), SUM(CASE WHEN status_rank >= 4 THEN 1 ELSE 0 END),"
           " SUM(CASE WHEN status_rank = 3 THEN 1 ELSE 0 END),"
           " SUM(CASE WHEN status_rank = 6 THEN 1 ELSE 0 END)"
           " FROM verifications GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"},
      {"SELECT hour_ms, " + g +
           ", callbacks FROM stats_hourly WHERE callbacks != 0"
           " ORDER BY 1, 2, 3, 4, 5",
       "SELECT received_at_ms - received_at_ms % 3600000, " + g +
           ", count(*) FROM delivery_events GROUP BY 1, 2, 3, 4, 5"
           " ORDER BY 1, 2, 3, 4, 5"},
      {"SELECT hour_ms, " + g +
           ", SUM(n) FROM stats_latency WHERE kind = 'provider'"
           " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
       "SELECT received_at_ms - received_at_ms % 3600000, " + g +
           ", count(*) FROM delivery_events WHERE status = 'delivered' AND"
           " latency_ms IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
           " ORDER BY 1, 2, 3, 4, 5"},
      {"SELECT hour_ms, " + g +
           ", error_code, n FROM stats_errors ORDER BY 1, 2, 3, 4, 5, 6",
       "SELECT received_at_ms - received_at_ms % 3600000, " + g +
           ", error_code, count(*) FROM delivery_events WHERE error_code != ''"
           " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"},
      // Daily twins: the hourly rows summed by UTC day (times are after
      // 1970, so the plain modulo floors).
      {"SELECT day_ms, " + g +
           ", callbacks, sent, delivered, failed, verified, signature_failures"
           " FROM stats_daily WHERE callbacks != 0 OR sent != 0 OR"
           " delivered != 0 OR failed != 0 OR verified != 0 OR"
           " signature_failures != 0 ORDER BY 1, 2, 3, 4, 5",
       "SELECT hour_ms - hour_ms % 86400000, " + g +
           ", SUM(callbacks), SUM(sent), SUM(delivered), SUM(failed),"
           " SUM(verified), SUM(signature_failures) FROM stats_hourly"
           " GROUP BY 1, 2, 3, 4, 5 HAVING SUM(callbacks) != 0 OR"
           " SUM(sent) != 0 OR SUM(delivered) != 0 OR SUM(failed) != 0 OR"
           " SUM(verified) != 0 OR SUM(signature_failures) != 0"
           " ORDER BY 1, 2, 3, 4, 5"},
      {"SELECT day_ms, " + g +
           ", kind, step, bucket, n FROM stats_latency_daily"
           " WHERE n != 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
       "SELECT hour_ms - hour_ms % 86400000, " + g +
           ", kind, step, bucket, SUM(n) FROM stats_latency"
           " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(n) != 0"
           " ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"},
      {"SELECT day_ms, " + g +
           ", error_code, n FROM stats_errors_daily WHERE n != 0"
           " ORDER BY 1, 2, 3, 4, 5, 6",
       "SELECT hour_ms - hour_ms % 86400000, " + g +
           ", error_code, SUM(n) FROM stats_errors GROUP BY 1, 2, 3, 4, 5, 6"
           " HAVING SUM(n) != 0 ORDER BY 1, 2, 3, 4, 5, 6"},
  };
}

}  // namespace dlrd::testutil
