// ResponseBytes(): the bytes of one HTTP/1.1 response, written with a single
// socket write.
//
// Why: Beast's serializer builds a response from a fields container (an
// allocation per field) and walks a chain of buffer views per write; for
// the few small answers dlrd gives, one string is cheaper and as exact.
//
// Contract: a status line with the standard reason phrase, `Server: dlrd`,
// `Content-Type`, the extra headers in their order, `Content-Length`, and
// `Connection: close` when `close`. A header whose name or value holds CR or
// LF is left out (it would split the response). With `head`, the header a
// GET would get and no body (RFC 9110 §9.3.2).
#pragma once

#include <string>

#include "dlrd/http/http_types.h"

namespace dlrd {

std::string ResponseBytes(const HttpResponse& r, bool close, bool head);

}  // namespace dlrd
