// Runs every provider vector in tests/data/signature_vectors.json (a copy of
// the GitHub and Standard Webhooks/Svix entries of the shared vector file)
// through the verifier that MakeSignatureVerifier builds for that scheme.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dlrd/core/signature/signature_verifier.h"

namespace dlrd {
namespace {

using nlohmann::json;

constexpr size_t kGithubVectors = 5;
constexpr size_t kStandardWebhooksVectors = 14;  // 13 webhook-*, 1 svix-*

json LoadVectors() {
  std::ifstream in(std::string(DLRD_TEST_DATA_DIR) + "/signature_vectors.json");
  EXPECT_TRUE(in.is_open());
  if (!in.is_open()) return json::array();
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

bool IsGithub(const json& v) {
  return v.at("scheme") == "github-x-hub-signature-256";
}

std::string BodyOf(const json& inputs) {
  if (inputs.contains("body")) return inputs.at("body").get<std::string>();
  const json& rep = inputs.at("body_repeat");
  return std::string(rep.at("count").get<size_t>(),
                     rep.at("char").get<std::string>().at(0));
}

SignatureConfig ConfigFor(const json& v) {
  SignatureConfig config;
  config.secrets = {v.at("secret").get<std::string>()};
  if (IsGithub(v)) {
    config.scheme = "hmac";
    config.header = "X-Hub-Signature-256";
    config.algorithm = "sha256";
    config.encoding = "hex";
    config.prefix = "sha256=";
  } else {
    config.scheme = "standard-webhooks";
    config.tolerance_s = v.at("inputs").value("tolerance_s", int64_t{300});
  }
  return config;
}

InboundWebhook HookFor(const json& v) {
  const json& inputs = v.at("inputs");
  InboundWebhook hook;
  hook.method = "POST";
  hook.body = BodyOf(inputs);
  const std::string sig = v.at("expected_signature").get<std::string>();
  if (IsGithub(v)) {
    hook.headers.emplace_back("X-Hub-Signature-256", sig);
  } else if (inputs.contains("headers")) {
    for (const auto& [name, value] : inputs.at("headers").items()) {
      hook.headers.emplace_back(name, value.get<std::string>());
    }
  } else {
    hook.headers.emplace_back("webhook-id", inputs.at("webhook-id"));
    hook.headers.emplace_back("webhook-timestamp",
                              inputs.at("webhook-timestamp"));
    hook.headers.emplace_back("webhook-signature", sig);
  }
  return hook;
}

// The reason each negative vector must produce, read from its note.
RejectReason ExpectedReason(const json& v) {
  const std::string note = v.at("note").get<std::string>();
  if (note.find("Stale") != std::string::npos ||
      note.find("future") != std::string::npos) {
    return RejectReason::kTimestampSkew;
  }
  if (note.find("without the 'sha256=' prefix") != std::string::npos) {
    return RejectReason::kBadEncoding;
  }
  return RejectReason::kMismatch;  // wrong secret, tampered body, ...
}

std::string EventIdOf(const InboundWebhook& hook) {
  for (const char* name : {"svix-id", "webhook-id"}) {
    if (auto id = hook.Header(name)) return std::string(*id);
  }
  return "";
}

TEST(SignatureVectorsTest, LoadsEveryCopiedVector) {
  json vectors = LoadVectors();
  ASSERT_TRUE(vectors.is_array());
  size_t github = 0;
  for (const json& v : vectors) github += IsGithub(v) ? 1 : 0;
  EXPECT_EQ(github, kGithubVectors);
  EXPECT_EQ(vectors.size() - github, kStandardWebhooksVectors);
}

TEST(SignatureVectorsTest, EveryVectorVerifiesAsExpected) {
  json vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), kGithubVectors + kStandardWebhooksVectors);
  std::map<bool, int> checked;
  for (const json& v : vectors) {
    SCOPED_TRACE(v.at("source").get<std::string>() + " | " +
                 v.at("note").get<std::string>());
    auto verifier = MakeSignatureVerifier(ConfigFor(v));
    ASSERT_TRUE(verifier.ok()) << verifier.status().message();
    InboundWebhook hook = HookFor(v);
    int64_t now = v.at("inputs").value("now_unix", int64_t{0});

    SignatureCheck check = verifier.value()->Verify(hook, now);

    const bool valid = v.at("valid").get<bool>();
    EXPECT_EQ(check.valid, valid) << ToString(check.reason);
    if (valid) {
      EXPECT_EQ(ToString(check.reason), "none");
      EXPECT_EQ(check.secret_index, 0);
    } else {
      EXPECT_EQ(ToString(check.reason), ToString(ExpectedReason(v)));
      EXPECT_EQ(check.secret_index, -1);
    }
    EXPECT_EQ(check.event_id, IsGithub(v) ? "" : EventIdOf(hook));
    ++checked[valid];
  }
  // Both outcomes are exercised, so the loop cannot pass vacuously.
  EXPECT_EQ(checked[true] + checked[false],
            static_cast<int>(kGithubVectors + kStandardWebhooksVectors));
  EXPECT_GT(checked[true], 0);
  EXPECT_GT(checked[false], 0);
}

}  // namespace
}  // namespace dlrd
