// The config loader (include/dlrd/core/config/config.h ParseConfig).
//
// Input: the config text (JSON with comments). Secret references resolve to
// fixed text that is also valid base64, so sinch and standard-webhooks
// secrets decode; a reference containing "missing" fails to resolve.
// Invariants: no crash or exception; an error has a message; a text that
// parses has no non-reloadable change against itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dlrd/core/config/config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const dlrd::SecretResolver resolve =
      [](std::string_view ref) -> dlrd::Result<std::string> {
    if (ref.find("missing") != std::string_view::npos) {
      return dlrd::Result<std::string>::Error("secret not found");
    }
    return std::string("ZnV6ei1vbmx5LWtleS0wMTIzNDU2Nzg5YWJjZGVm");
  };
  auto config = dlrd::ParseConfig(text, resolve);
  if (!config.ok()) {
    DLRD_FUZZ_CHECK(!config.status().message().empty(), text);
    return 0;
  }
  auto change = dlrd::FirstNonReloadableChange(text, text);
  DLRD_FUZZ_CHECK(change.ok(), change.status().message());
  DLRD_FUZZ_CHECK(change.value().empty(), change.value());
  return 0;
}
