#include "dlrd/normalize/payload_normalizer.h"

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/inbound_webhook.h"
#include "dlrd/core/phone.h"
#include "dlrd/fallback/policy.h"
#include "dlrd/normalize/sinch_sms_normalizer.h"
#include "dlrd/normalize/sinch_verification_normalizer.h"
#include "dlrd/normalize/twilio_normalizer.h"
#include "dlrd/normalize/twilio_verify_normalizer.h"
#include "dlrd/normalize/verifynow_normalizer.h"
#include "dlrd/normalize/vonage_messages_normalizer.h"
#include "dlrd/normalize/vonage_sms_dlr_normalizer.h"
#include "dlrd/normalize/vonage_verify_normalizer.h"

namespace dlrd {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

const std::vector<std::string_view> kFormats = {
    "verifynow",          "twilio-messaging", "twilio-verify-events",
    "vonage-messages",    "vonage-sms-dlr",   "vonage-verify",
    "sinch-verification", "sinch-sms",
};

Result<std::unique_ptr<PayloadNormalizer>> MakePayloadNormalizer(
    std::string_view format, const FormatOptions& options) {
  std::unique_ptr<PayloadNormalizer> n;
  if (format == "verifynow") {
    n = std::make_unique<VerifyNowNormalizer>();
  } else if (format == "twilio-messaging") {
    n = std::make_unique<TwilioMessagingNormalizer>();
  } else if (format == "twilio-verify-events") {
    n = std::make_unique<TwilioVerifyEventsNormalizer>();
  } else if (format == "vonage-messages") {
    n = std::make_unique<VonageMessagesNormalizer>();
  } else if (format == "vonage-sms-dlr") {
    n = std::make_unique<VonageSmsDlrNormalizer>();
  } else if (format == "vonage-verify") {
    n = std::make_unique<VonageVerifyNormalizer>();
  } else if (format == "sinch-verification") {
    n = std::make_unique<SinchVerificationNormalizer>(options);
  } else if (format == "sinch-sms") {
    n = std::make_unique<SinchSmsNormalizer>();
  }
  if (n) return n;
  std::string known;
  for (std::string_view f : kFormats) {
    if (!known.empty()) known += ", ";
    known += f;
  }
  return Result<std::unique_ptr<PayloadNormalizer>>::Error(
      "format: \"" + std::string(format) + "\" is not one of " + known);
}

bool MediaTypeIs(std::string_view content_type, std::string_view media) {
  // substr(0, npos) keeps the whole value when there are no parameters.
  std::string_view type = content_type.substr(0, content_type.find(';'));
  return EqualsIgnoreCase(TrimSpaces(type), media);
}

std::string JoinKeyParts(std::initializer_list<std::string_view> parts) {
  std::string key;
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) key += ':';
    first = false;
    for (char c : part) {
      if (c == '%') {
        key += "%25";
      } else if (c == ':') {
        key += "%3A";
      } else {
        key += c;
      }
    }
  }
  return key;
}

void AddKeywordOptChange(std::string_view provider, std::string_view from,
                         std::string_view text, bool assume_international,
                         Normalized* out) {
  const bool stop = IsStopKeyword(text);
  if (!stop && !IsStartKeyword(text)) return;
  auto number = NormalizeRecipient(from, assume_international);
  if (!number) return;
  const std::string stop_reason = std::string(provider) + " inbound STOP";
  if (stop) {
    out->opt_changes.push_back(OptChange{number->e164, true, stop_reason, ""});
  } else {
    out->opt_changes.push_back(
        OptChange{number->e164, false, std::string(provider) + " inbound START",
                  stop_reason});
  }
}

}  // namespace dlrd
