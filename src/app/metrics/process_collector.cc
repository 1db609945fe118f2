#include "dlrd/app/metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace dlrd {
namespace {

struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, starttime_ticks = 0;
  double vsize = 0, rss_pages = 0, threads = 0;
};

bool ReadProcStat(ProcStat* out) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  // Fields after the parenthesised command name, which may contain spaces.
  auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string f[50];
  for (int i = 0; i < 50 && rest >> f[i]; ++i) {
  }
  // rest[0] is field 3 (state); field N is rest[N - 3].
  auto num = [&](int field) { return std::stod(f[field - 3]); };
  out->utime_ticks = num(14);
  out->stime_ticks = num(15);
  out->threads = num(20);
  out->starttime_ticks = num(22);
  out->vsize = num(23);
  out->rss_pages = num(24);
  return true;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own fd
}

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

}  // namespace

ProcessCollector::ProcessCollector() {
  ProcStat st;
  if (ReadProcStat(&st)) {
    start_time_seconds_ =
        BootTimeSeconds() + st.starttime_ticks / sysconf(_SC_CLK_TCK);
  }
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  ProcStat st;
  if (!ReadProcStat(&st)) return out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  out.push_back(Family("process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds.",
                       MetricType::Counter,
                       (st.utime_ticks + st.stime_ticks) / ticks));
  out.push_back(Family("process_open_fds", "Number of open file descriptors.",
                       MetricType::Gauge, OpenFds()));
  out.push_back(Family("process_max_fds",
                       "Maximum number of open file descriptors.",
                       MetricType::Gauge, static_cast<double>(lim.rlim_cur)));
  out.push_back(Family("process_virtual_memory_bytes",
                       "Virtual memory size in bytes.", MetricType::Gauge,
                       st.vsize));
  out.push_back(Family("process_resident_memory_bytes",
                       "Resident memory size in bytes.", MetricType::Gauge,
                       st.rss_pages * page));
  out.push_back(Family("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.",
                       MetricType::Gauge, start_time_seconds_));
  out.push_back(Family("process_threads", "Number of OS threads in the process.",
                       MetricType::Gauge, st.threads));
  return out;
}

}  // namespace dlrd
