// The schema/*.sql files, embedded at build time, in version order.
#pragma once

#include <string_view>
#include <vector>

namespace dlrd {

struct SchemaFile {
  int version;            // the file's NNNN prefix
  std::string_view name;  // e.g. "0001_delivery_events.sql"
  std::string_view sql;
};

const std::vector<SchemaFile>& SchemaFiles();

}  // namespace dlrd
