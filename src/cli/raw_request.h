// Parses a raw HTTP/1.1 request as saved in a file for `dlrd verify`:
// request line, header lines, a blank line, then the body. Lines may end in
// CRLF or LF (files edited by hand). When Content-Length is present the body
// is cut to it; otherwise the rest of the file is the body, byte for byte.
#pragma once

#include <string_view>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

Result<InboundWebhook> ParseRawRequest(std::string_view text);

}  // namespace dlrd
