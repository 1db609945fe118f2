// Reload: what SIGHUP applies to a running `dlrd serve` (docs/operations.md
// §6, docs/configuration.md §12): a re-read config's secrets, i.e. source
// settings (signature secrets, formats), provider credentials and the admin
// token.
//
// All or nothing: the config must load, differ from `applied_text` only in
// what reloads, keep admin_token set (or unset) and fallback off (or on),
// and every part must build before any is swapped in; otherwise nothing
// changes and the error says why. On success `applied_text` becomes the new
// text. Call it from one thread at a time.
#pragma once

#include <string>

#include "cli/fallback_engine.h"
#include "dlrd/app/ingest/ingest_service.h"
#include "dlrd/core/util/shared_string.h"

namespace dlrd {

// `fallback` is null when fallback is off.
Status Reload(const std::string& config_path, std::string& applied_text,
              IngestService& ingest, FallbackEngine* fallback,
              SharedString& admin_token, bool admin_was_off);

}  // namespace dlrd
