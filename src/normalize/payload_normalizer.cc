#include "dlrd/normalize/payload_normalizer.h"

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/inbound_webhook.h"
#include "dlrd/normalize/twilio_normalizer.h"
#include "dlrd/normalize/verifynow_normalizer.h"

namespace dlrd {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::unique_ptr<PayloadNormalizer>> MakePayloadNormalizer(
    std::string_view format) {
  if (format == "verifynow") {
    return std::unique_ptr<PayloadNormalizer>(
        std::make_unique<VerifyNowNormalizer>());
  }
  if (format == "twilio-messaging") {
    return std::unique_ptr<PayloadNormalizer>(
        std::make_unique<TwilioMessagingNormalizer>());
  }
  return Result<std::unique_ptr<PayloadNormalizer>>::Error(
      "format: \"" + std::string(format) +
      "\" is not one of verifynow, twilio-messaging");
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

}  // namespace dlrd
