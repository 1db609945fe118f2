// The send adapters the retry_after and send_reply targets classify
// replies with: one per provider, with fuzz-only credentials.
#pragma once

#include <memory>
#include <vector>

#include "dlrd/core/outbound/send_adapter.h"
#include "fuzz_util.h"

namespace dlrd::fuzz {

inline const std::vector<std::unique_ptr<SendAdapter>>& SendAdapters() {
  static const auto* all = [] {
    std::vector<ProviderConfig> configs(4);
    configs[0].name = "verifynow";
    configs[0].credentials = {{"auth_token", "fuzz-token"},
                              {"customer_id", "fuzz-customer"}};
    configs[1].name = "twilio";
    configs[1].credentials = {{"account_sid", "ACfuzz"},
                              {"auth_token", "fuzz-token"},
                              {"service_sid", "VAfuzz"}};
    configs[2].name = "vonage";
    configs[2].credentials = {{"api_key", "fuzzkey"},
                              {"api_secret", "fuzz-secret"},
                              {"brand", "dlrd"},
                              {"whatsapp_from", "14155550100"}};
    configs[3].name = "sinch";
    configs[3].credentials = {{"application_key", "fuzz-app"},
                              {"application_secret", "ZnV6ego="}};
    auto* v = new std::vector<std::unique_ptr<SendAdapter>>;
    for (ProviderConfig& c : configs) {
      c.base_url = "https://provider.example.com";
      auto made = MakeSendAdapter(c);
      if (!made.ok()) Fail("MakeSendAdapter failed", made.status().message());
      v->push_back(std::move(made).value());
    }
    return v;
  }();
  return *all;
}

}  // namespace dlrd::fuzz
