// PayloadNormalizer: turns a verified callback into normalized events.
//
// Contract:
// - Pure: no I/O, no clock; `received_at_ms` comes from the caller.
// - Reads the raw body bytes exactly as received; unknown extra fields are
//   tolerated, missing or mistyped required fields are an error (-> 400).
// - Provider values that have no normalized equivalent map to
//   Channel::kOther / DeliveryStatus::kUnknown, with the raw value kept.
// - Every returned event has a non-empty dedupe_key. When the signature
//   scheme supplied an event id (Standard Webhooks), it is used; otherwise
//   the format builds one from the provider's own fields.
// - A batch body yields several events; the caller stores them in one
//   transaction. A body may also yield none (an empty batch).
// - A format whose provider expects an answer in the 200 response (Sinch's
//   VerificationRequestEvent) returns it as `reply`; otherwise dlrd answers
//   with its own status JSON.
// - Never logs, and error messages never contain phone numbers.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/model/delivery.h"
#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

struct NormalizeContext {
  std::string source;          // config name of the source
  int64_t received_at_ms = 0;  // dlrd's clock, unix milliseconds
  std::string event_id;        // from the signature scheme, may be empty
};

// The body of a 200 answer the provider reads.
struct WebhookReply {
  std::string content_type;
  std::string body;
};

struct Normalized {
  std::vector<DeliveryEvent> events;
  std::optional<WebhookReply> reply;
  std::vector<OptChange> opt_changes;  // from inbound STOP/START messages
};

// Adds an opt change when `text` (an inbound message from `from`) is a
// STOP or START keyword (fallback/policy.h) and `from` is a phone number.
void AddKeywordOptChange(std::string_view provider, std::string_view from,
                         std::string_view text, bool assume_international,
                         Normalized* out);

// Per-source settings some formats read; the defaults suit every format.
struct FormatOptions {
  // sinch-verification: the "action" answered to a VerificationRequestEvent,
  // "allow" or "deny".
  std::string request_action = "allow";
};

class PayloadNormalizer {
 public:
  virtual ~PayloadNormalizer() = default;
  virtual Result<Normalized> Normalize(const InboundWebhook& hook,
                                       const NormalizeContext& ctx) const = 0;
  // The provider this format belongs to ("verifynow", ...).
  virtual std::string_view provider() const = 0;
  // True iff a body with this Content-Type value can be this format.
  virtual bool AcceptsContentType(std::string_view content_type) const = 0;
};

// The formats known to this build (the provider registry), in the order
// error messages list them.
std::vector<std::string_view> KnownFormats();

// An error names the format and the accepted values.
Result<std::unique_ptr<PayloadNormalizer>> MakePayloadNormalizer(
    std::string_view format, const FormatOptions& options = {});

// A dedupe key from provider fields: the parts joined by ':', with '%' and
// ':' inside a part percent-encoded, so different parts never collide.
std::string JoinKeyParts(std::initializer_list<std::string_view> parts);

// True iff the media type of `content_type` (before any ';') equals `media`,
// ignoring ASCII case and surrounding spaces.
bool MediaTypeIs(std::string_view content_type, std::string_view media);

}  // namespace dlrd
