// The normalized delivery model shared by every provider format.
//
// Statuses have a forward order (see StatusRank). A verification's stored
// status only ever moves to a strictly higher rank, so out-of-order and
// duplicate callbacks can never move it backwards:
//
//   unknown(0) < queued(1) < sent(2) < failed|undelivered|expired|rejected(3)
//              < delivered(4) < read(5) < verified(6)
//
// A terminal failure outranks the in-flight states, and a success report
// outranks a failure: a late DLR saying "delivered" after "failed" is the
// truth that matters for OTP conversion. Two different failures share a rank,
// so the first one reported wins. `verified` means the user entered the code
// (Twilio Verify "approved", Vonage Verify "completed", Sinch "SUCCESSFUL"):
// the end of the story, and the numerator of conversion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd {

enum class Channel { kSms, kWhatsapp, kVoice, kOther };
enum class DeliveryStatus {
  kUnknown,
  kQueued,
  kSent,
  kDelivered,
  kRead,
  kVerified,
  kFailed,
  kUndelivered,
  kExpired,
  kRejected,
};

inline constexpr Channel kAllChannels[] = {Channel::kSms, Channel::kWhatsapp,
                                           Channel::kVoice, Channel::kOther};
inline constexpr DeliveryStatus kAllStatuses[] = {
    DeliveryStatus::kUnknown, DeliveryStatus::kQueued,
    DeliveryStatus::kSent,    DeliveryStatus::kDelivered,
    DeliveryStatus::kRead,    DeliveryStatus::kVerified,
    DeliveryStatus::kFailed,  DeliveryStatus::kUndelivered,
    DeliveryStatus::kExpired, DeliveryStatus::kRejected};

std::string_view ToString(Channel c);
std::string_view ToString(DeliveryStatus s);
std::optional<Channel> ParseChannel(std::string_view s);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s);

// The forward order described above.
int StatusRank(DeliveryStatus s);
// True for failed, undelivered, expired and rejected.
bool IsTerminalFailure(DeliveryStatus s);

// One normalized delivery-status event. Produced by a PayloadNormalizer from a
// verified callback; stored once per (source, dedupe_key).
struct DeliveryEvent {
  std::string source;           // config name of the source it arrived on
  std::string provider;         // verifynow, twilio, vonage, sinch, ...
  std::string dedupe_key;       // unique per source; duplicates are dropped
  std::string verification_id;  // provider's id for the OTP attempt
  std::string message_id;       // provider's message id, if any
  Channel channel = Channel::kOther;
  DeliveryStatus status = DeliveryStatus::kUnknown;
  std::string raw_status;             // the provider's own value, as received
  std::string error_code;             // provider error code, if any
  std::optional<int64_t> latency_ms;  // reported, or derived from the payload
  std::string recipient;              // E.164 when known, else empty
  std::string country;                // ISO 3166 alpha-2 when known
  int64_t received_at_ms = 0;         // unix milliseconds, dlrd's clock
};

// Makes every text field that dlrd shows again (JSON API, stats, CSV)
// well-formed UTF-8 without NUL bytes, replacing ill-formed bytes and NULs
// with U+FFFD. A signed callback can carry any bytes (a form value "%FF" or
// "%00"); stored as is, they would break every later JSON answer that
// includes them, and PostgreSQL's text columns cannot hold a NUL at all,
// so both stores keep the same text. dedupe_key is left byte-exact: it is
// only compared, never shown (a key with a NUL is refused earlier, see
// HasNulInDedupeKey). The raw request keeps the original bytes.
void MakeTextValidUtf8(DeliveryEvent& event);

// Whether an event's dedupe key contains a NUL byte. Such a payload is
// refused as malformed on every store: PostgreSQL cannot store the key,
// and cutting it at the NUL could make it equal to another event's key.
bool HasNulInDedupeKey(const DeliveryEvent& event);

// A recipient's own message asked to stop (STOP) or to start again
// (START): stored, so no fallback reaches an opted-out number.
struct OptChange {
  std::string recipient;  // E.164
  bool opt_out = true;    // false: opted back in
  std::string reason;     // e.g. "twilio inbound STOP"
  std::string lifts;      // for a START: the reason of the opt-out it ends
};

}  // namespace dlrd
