// The text renderings of a stats report for `dlrd stats`: an aligned table
// for people and CSV for spreadsheets. The API's JSON body is ToJsonText in
// dlrd/core/stats/stats.h. Each lists the groups, then (the table only) the
// total.
#pragma once

#include <string>

#include "dlrd/core/stats/stats.h"

namespace dlrd {

std::string ToTable(const StatsReport& r);
std::string ToCsv(const StatsReport& r);

}  // namespace dlrd
