#include "dlrd/core/model/delivery.h"

#include "dlrd/core/util/encoding.h"

namespace dlrd {

std::string_view ToString(Channel c) {
  switch (c) {
    case Channel::kSms:
      return "sms";
    case Channel::kWhatsapp:
      return "whatsapp";
    case Channel::kVoice:
      return "voice";
    case Channel::kOther:
      return "other";
  }
  return "other";
}

std::string_view ToString(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kUnknown:
      return "unknown";
    case DeliveryStatus::kQueued:
      return "queued";
    case DeliveryStatus::kSent:
      return "sent";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kRead:
      return "read";
    case DeliveryStatus::kVerified:
      return "verified";
    case DeliveryStatus::kFailed:
      return "failed";
    case DeliveryStatus::kUndelivered:
      return "undelivered";
    case DeliveryStatus::kExpired:
      return "expired";
    case DeliveryStatus::kRejected:
      return "rejected";
  }
  return "unknown";
}

std::optional<Channel> ParseChannel(std::string_view s) {
  for (Channel c : kAllChannels) {
    if (ToString(c) == s) return c;
  }
  return std::nullopt;
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s) {
  for (DeliveryStatus st : kAllStatuses) {
    if (ToString(st) == s) return st;
  }
  return std::nullopt;
}

int StatusRank(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kUnknown:
      return 0;
    case DeliveryStatus::kQueued:
      return 1;
    case DeliveryStatus::kSent:
      return 2;
    case DeliveryStatus::kFailed:
    case DeliveryStatus::kUndelivered:
    case DeliveryStatus::kExpired:
    case DeliveryStatus::kRejected:
      return 3;
    case DeliveryStatus::kDelivered:
      return 4;
    case DeliveryStatus::kRead:
      return 5;
    case DeliveryStatus::kVerified:
      return 6;
  }
  return 0;
}

bool IsTerminalFailure(DeliveryStatus s) { return StatusRank(s) == 3; }

void MakeTextValidUtf8(DeliveryEvent& e) {
  for (std::string* field :
       {&e.source, &e.provider, &e.verification_id, &e.message_id,
        &e.raw_status, &e.error_code, &e.recipient, &e.country}) {
    if (!IsValidUtf8(*field)) *field = ToValidUtf8(*field);
    for (size_t at = field->find('\0'); at != std::string::npos;
         at = field->find('\0', at)) {
      field->replace(at, 1, "\xEF\xBF\xBD");  // U+FFFD
    }
  }
}

bool HasNulInDedupeKey(const DeliveryEvent& e) {
  return e.dedupe_key.find('\0') != std::string::npos;
}

}  // namespace dlrd
