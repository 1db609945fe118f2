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

// For commands that read the database but verify nothing (`dlrd stats`,
// `dlrd quarantine list`), so they run where the daemon's secrets are not
// all available: a reference that resolves gives its value (a PostgreSQL
// database needs its real database_password); one that does not becomes
// a placeholder every signature scheme accepts, and the server's refusal
// (if it was the password) says what went wrong.
Result<std::string> ResolveOrPlaceholder(std::string_view ref);

// Reads a whole file; errors name the path.
Result<std::string> ReadFile(const std::string& path);

}  // namespace dlrd
