// Resolves secret references for ParseConfig: `env:NAME` reads the
// environment, `file:PATH` reads a file (one trailing newline stripped, as
// written by `echo` or systemd credentials). Error messages name the
// variable or path, never the value.
#pragma once

#include <string>
#include <string_view>

#include "dlrd/core/util/status.h"

namespace dlrd {

Result<std::string> ResolveSecret(std::string_view ref);

// Reads a whole file; errors name the path.
Result<std::string> ReadFile(const std::string& path);

}  // namespace dlrd
