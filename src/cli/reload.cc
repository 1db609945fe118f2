#include "cli/reload.h"

#include "cli/secret_resolver.h"

namespace dlrd {

Status Reload(const std::string& config_path, std::string& applied_text,
              IngestService& ingest, FallbackEngine* fallback,
              SharedString& admin_token, bool admin_was_off) {
  auto text = ReadFile(config_path);
  if (!text.ok()) return text.status();
  auto loaded = ParseConfig(text.value(), ResolveSecret);
  if (!loaded.ok()) {
    return Status::Error(config_path + ": " + loaded.status().message());
  }
  const Config& next = loaded.value();
  auto changed = FirstNonReloadableChange(applied_text, text.value());
  if (!changed.ok()) return changed.status();
  if (!changed.value().empty()) {
    return Status::Error(changed.value() +
                         ": changed; only secrets, signatures, formats, "
                         "providers and admin_token reload, restart to "
                         "apply the rest");
  }
  if (admin_was_off != next.admin_token.empty()) {
    return Status::Error("admin_token: set or unset; restart to apply");
  }
  auto sources = BuildSources(next);
  if (!sources.ok()) return sources.status();
  if (fallback == nullptr && !FallbackRulesOf(next).empty()) {
    return Status::Error("fallback: enabled; restart to apply");
  }
  auto next_sources =
      std::make_shared<const SourceMap>(std::move(sources).value());
  if (Status s = ingest.CheckReplaceable(*next_sources); !s.ok()) return s;
  if (fallback != nullptr) {
    if (Status s = fallback->Reload(next); !s.ok()) return s;
  }
  if (Status s = ingest.ReplaceSources(next_sources); !s.ok()) return s;
  admin_token.Set(next.admin_token);
  applied_text = std::move(text).value();
  return Status::Ok();
}

}  // namespace dlrd
