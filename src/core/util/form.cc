#include "dlrd/core/util/form.h"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <string>

namespace dlrd {

std::optional<FormParams> ParseForm(std::string_view text) {
  FormParams out;
  if (text.empty()) return out;
  // Boost.URL (1.81 to at least 1.89, boostorg/url#946) builds the result's
  // buffer with strlen(text.data()), reading past a view that is not
  // NUL-terminated: parse a NUL-terminated copy instead.
  const std::string copy(text);
  auto parsed = boost::urls::parse_query(copy);
  if (!parsed) return std::nullopt;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto param : *parsed) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    out.emplace_back(param.key.decode(opts),
                     param.has_value ? param.value.decode(opts) : "");
  }
  return out;
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view QueryOf(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

}  // namespace dlrd
