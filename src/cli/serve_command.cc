// `dlrd serve`: builds the daemon (cli/daemon.h) and runs it until a signal.
#include "cli/commands.h"
#include "cli/daemon.h"

namespace dlrd {

int RunServe(const std::string& config_path) {
  Daemon::Built built = Daemon::Build(config_path);
  if (!built.daemon) return built.exit_code;
  return built.daemon->Run();
}

}  // namespace dlrd
