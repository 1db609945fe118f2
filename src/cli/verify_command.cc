// `dlrd verify` and `dlrd check-config`.
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/raw_request.h"
#include "cli/secret_resolver.h"
#include "cli/store_factory.h"
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
  const Config& c = config.value();
  std::cout << "ok: " << c.sources.size() << " source(s), listen "
            << c.listen.host << ":" << c.listen.port << ", database "
            << c.store.path << "\n";
  if (c.store.backend == StoreBackend::kPostgres) {
    // Connects (with the resolved password) and reads; writes nothing.
    Result<PgServerInfo> info = ProbePostgres(PgTargetOf(c, "dlrd-check"));
    if (!info.ok()) {
      std::cerr << "dlrd: database: " << info.status().message() << "\n";
      return 1;
    }
    const PgServerInfo& i = info.value();
    std::cout << "postgresql: server " << i.server_version << ", schema "
              << i.schema_version << " of " << i.latest_schema_version;
    if (i.schema_version == 0) {
      std::cout << " (empty: the first `dlrd serve` creates it)";
    } else if (i.schema_version < i.latest_schema_version) {
      std::cout << " (older: `dlrd serve` migrates it)";
    } else if (i.schema_version > i.latest_schema_version) {
      std::cout << " (NEWER than this dlrd: serve refuses it)\n";
      return 1;
    }
    std::cout << "\n";
  }
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
