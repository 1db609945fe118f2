#include "dlrd/core/normalize/payload_normalizer.h"

#include <memory>
#include <string>
#include <string_view>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/model/phone.h"
#include "dlrd/core/fallback/policy.h"
#include "dlrd/core/util/strings.h"
#include "core/providers/registry.h"

namespace dlrd {

std::vector<std::string_view> KnownFormats() {
  std::vector<std::string_view> formats;
  for (const Provider* p : Providers()) {
    for (const NormalizerFactory& f : p->normalizers) formats.push_back(f.name);
  }
  return formats;
}

Result<std::unique_ptr<PayloadNormalizer>> MakePayloadNormalizer(
    std::string_view format, const FormatOptions& options) {
  std::string known;
  for (const Provider* p : Providers()) {
    for (const NormalizerFactory& f : p->normalizers) {
      if (f.name == format) return f.make(options);
      if (!known.empty()) known += ", ";
      known += f.name;
    }
  }
  return Result<std::unique_ptr<PayloadNormalizer>>::Error(
      "format: \"" + std::string(format) + "\" is not one of " + known);
}

bool MediaTypeIs(std::string_view content_type, std::string_view media) {
  // substr(0, npos) keeps the whole value when there are no parameters.
  std::string_view type = content_type.substr(0, content_type.find(';'));
  return EqualsIgnoreCase(TrimOws(type), media);
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
