// `dlrd verify` and `dlrd check-config`.
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/raw_request.h"
#include "cli/secret_resolver.h"
#include "dlrd/app/time/system_clock.h"
#include "dlrd/app/ingest/ingest_service.h"

namespace dlrd {

Result<Config> LoadConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto config = ParseConfig(text.value(), ResolveSecret);
  if (!config.ok()) {
    return Result<Config>::Error(path + ": " + config.status().message());
  }
  return config;
}

int RunCheckConfig(const std::string& config_path) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "dlrd: config error: " << config.status().message() << "\n";
    return 2;
  }
  std::cout << "ok: " << config.value().sources.size() << " source(s), listen "
            << config.value().listen.host << ":" << config.value().listen.port
            << ", database " << config.value().store.path << "\n";
  return 0;
}

int RunVerify(const std::string& config_path, const std::string& source,
              const std::string& request_path, std::optional<int64_t> at) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "dlrd: config error: " << config.status().message() << "\n";
    return 2;
  }
  auto it = config.value().sources.find(source);
  if (it == config.value().sources.end()) {
    std::cerr << "dlrd: --source: no source named \"" << source << "\"\n";
    return 2;
  }
  std::string text;
  if (request_path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    auto file = ReadFile(request_path);
    if (!file.ok()) {
      std::cerr << "dlrd: --request: " << file.status().message() << "\n";
      return 2;
    }
    text = std::move(file).value();
  }
  auto hook = ParseRawRequest(text);
  if (!hook.ok()) {
    std::cerr << "dlrd: --request: " << hook.status().message() << "\n";
    return 2;
  }
  auto verifier = MakeSignatureVerifier(it->second.signature);
  if (!verifier.ok()) {
    std::cerr << "dlrd: config error: " << verifier.status().message() << "\n";
    return 2;
  }
  const int64_t now = at ? *at : SystemClock().NowMs() / 1000;
  SignatureCheck check = verifier.value()->Verify(hook.value(), now);
  nlohmann::json out = {{"valid", check.valid},
                        {"reason", check.valid ? "" : ToString(check.reason)},
                        {"secret_index", check.secret_index}};
  std::cout << out.dump() << "\n";
  return check.valid ? 0 : 1;
}

}  // namespace dlrd
