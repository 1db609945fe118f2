#include "cli/stats_render.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dlrd/core/util/field_reader.h"

namespace dlrd {
namespace {

std::string Percent(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100.0);
  return buf;
}

std::string Millis(const std::optional<int64_t>& v) {
  if (!v) return "-";
  return std::to_string(*v);
}

// The columns of the table and CSV renderings, after the key columns.
const char* const kColumns[] = {
    "callbacks", "sent",         "delivered", "failed",   "verified",
    "delivery",  "conversion",   "p50_ms",    "p90_ms",   "p99_ms",
    "fb_trig",   "fb_recovered", "fb_wasted", "sig_fail", "top_error"};

std::vector<std::string> Cells(const StatsRow& row, int top) {
  const Figures& f = row.figures;
  std::string top_error = "-";
  auto errors = TopErrors(f.errors, 1);
  if (!errors.empty() && top > 0) {
    top_error = errors[0].first + "(" + std::to_string(errors[0].second) + ")";
  }
  return {std::to_string(f.callbacks),
          std::to_string(f.sent),
          std::to_string(f.delivered),
          std::to_string(f.failed),
          std::to_string(f.verified),
          Percent(DeliveryRate(f)),
          Percent(Conversion(f)),
          Millis(QuantileMs(f.provider_latency, 0.50)),
          Millis(QuantileMs(f.provider_latency, 0.90)),
          Millis(QuantileMs(f.provider_latency, 0.99)),
          std::to_string(f.fallback_triggered),
          std::to_string(f.fallback_recovered),
          std::to_string(f.fallback_wasted),
          std::to_string(f.signature_failures),
          top_error};
}

std::vector<std::vector<std::string>> Lines(const StatsReport& r,
                                            bool with_total) {
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> head;
  for (StatsDim d : r.query.by) head.push_back(ToString(d));
  for (const char* c : kColumns) head.push_back(c);
  lines.push_back(head);
  for (const StatsRow& row : r.groups) {
    std::vector<std::string> line;
    for (const std::string& k : row.key) line.push_back(k.empty() ? "-" : k);
    for (auto& c : Cells(row, r.query.top_errors)) line.push_back(c);
    lines.push_back(line);
  }
  // Without `by` the one group is the total already.
  if (with_total && !r.query.by.empty()) {
    StatsRow total{{}, std::nullopt, r.total};
    std::vector<std::string> line;
    for (size_t i = 0; i < r.query.by.size(); ++i) {
      line.push_back(i == 0 ? "TOTAL" : "");
    }
    for (auto& c : Cells(total, r.query.top_errors)) line.push_back(c);
    lines.push_back(line);
  }
  return lines;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string ToTable(const StatsReport& r) {
  auto lines = Lines(r, /*with_total=*/true);
  std::vector<size_t> width;
  for (const auto& line : lines) {
    if (width.size() < line.size()) width.resize(line.size(), 0);
    for (size_t i = 0; i < line.size(); ++i) {
      width[i] = std::max(width[i], line[i].size());
    }
  }
  std::ostringstream out;
  out << "window " << FormatTimestampMs(r.query.from_ms) << " .. "
      << FormatTimestampMs(r.query.to_ms) << " (latency: provider-reported, "
      << "ms; delivery and conversion per send)\n";
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) {
      const bool left = i < r.query.by.size();
      std::string cell = line[i];
      std::string pad(width[i] - cell.size(), ' ');
      out << (left ? cell + pad : pad + cell);
      out << (i + 1 < line.size() ? "  " : "\n");
    }
  }
  return out.str();
}

std::string ToCsv(const StatsReport& r) {
  std::ostringstream out;
  auto lines = Lines(r, /*with_total=*/false);
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) {
      out << CsvField(line[i]) << (i + 1 < line.size() ? "," : "\n");
    }
  }
  return out.str();
}

}  // namespace dlrd
