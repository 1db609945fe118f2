// Provider registry: which signature schemes, payload formats and send
// APIs dlrd knows, and the factory that builds each.
//
// Design: every provider lives in one folder under src/core/providers/<name>/
// (verifier, normalizers, send adapter, their tests and fixtures) and
// contributes one `Provider` value. registry.cc lists those values; that
// list is the only place that wires a provider in. All three roles use the
// same construction style: a free factory `Result<std::unique_ptr<Role>>
// Make...(const RoleConfig&)` that validates its config and names the bad
// key in its error. The generic factories (MakeSignatureVerifier,
// MakePayloadNormalizer, MakeSendAdapter) look names up here.
//
// Order matters and is stable: error messages list the known names in
// registry order, and the fuzzers index formats by it.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "dlrd/core/normalize/payload_normalizer.h"
#include "dlrd/core/outbound/send_adapter.h"
#include "dlrd/core/signature/signature_verifier.h"
#include "dlrd/core/util/status.h"

namespace dlrd {

// A name as written in the config (a scheme, a format or a provider name)
// and the factory that builds it.
template <class Product, class Config>
struct Factory {
  std::string_view name;
  Result<std::unique_ptr<Product>> (*make)(const Config&);
};

using VerifierFactory = Factory<SignatureVerifier, SignatureConfig>;
using NormalizerFactory = Factory<PayloadNormalizer, FormatOptions>;
using SenderFactory = Factory<SendAdapter, ProviderConfig>;

struct Provider {
  std::string_view name;
  std::span<const VerifierFactory> verifiers;      // `signature.scheme`
  std::span<const NormalizerFactory> normalizers;  // `sources.*.format`
  std::span<const SenderFactory> senders;          // `providers.*` (0 or 1)
};

// Every provider, in registry order; the first entry holds the generic
// schemes (hmac, standard-webhooks).
std::span<const Provider* const> Providers();

}  // namespace dlrd
