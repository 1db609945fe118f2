#include "dlrd/core/fallback/policy.h"

#include <algorithm>
#include <cstddef>

#include "dlrd/core/model/inbound_webhook.h"
#include "dlrd/core/util/strings.h"

namespace dlrd {
namespace {

// One row of an error-code table. `code` is matched exactly unless
// `ignore_case` (Sinch reasons are English phrases, not codes).
struct CodeEntry {
  std::string_view provider;
  std::string_view code;
  bool ignore_case = false;
};

template <size_t N>
bool InTable(const CodeEntry (&table)[N], std::string_view provider,
             std::string_view code) {
  if (code.empty()) return false;
  for (const CodeEntry& e : table) {
    if (e.provider != provider) continue;
    if (e.ignore_case ? EqualsIgnoreCase(e.code, code) : e.code == code) {
      return true;
    }
  }
  return false;
}

// Sources:
//   twilio.com/docs/api/errors/21610: "the customer has replied with STOP".
//   api.support.vonage.com "DLR Error Code 9 - Illegal Number": "sent to a
//     blacklisted number where the user has explicitly requested to STOP";
//     developer.vonage.com opt-out-assist guide: err-code 9 on opt-out.
constexpr CodeEntry kOptOut[] = {
    {"twilio", "21610"},
    {"vonage", "9"},
};

// Sources:
//   twilio.com/docs/api/errors/60410: Fraud Guard blocked the prefix.
//   twilio.com/docs/api/errors/60412: blocked by Fraudulent Signup
//     Prevention before the message was sent.
//   twilio.com/docs/api/errors/60605: destination blocked by Verify
//     Geo-Permissions ("disabled due to suspected fraudulent activity"),
//     HTTP 403.
//   developers.sinch.com Verification status reasons (DENIED): "Fraud"
//     (fraudulent activity), "Blocked" (blocked number), "Destination
//     denied". Other DENIED reasons ("Not enough credit", "Denied by
//     callback", "Invalid callback") are about our account, not the number.
constexpr CodeEntry kFraud[] = {
    {"twilio", "60410"},        {"twilio", "60412"},
    {"twilio", "60605"},        {"sinch", "Fraud", true},
    {"sinch", "Blocked", true}, {"sinch", "Destination denied", true},
};

// Sources:
//   twilio.com/docs/api/errors/21211 (invalid 'To'), 21217 (voice: number
//     does not appear to be valid), 60006 (Verify: formatted correctly but
//     not a valid, active destination). Not 60200: "Invalid parameter" may
//     name Channel. Not 21614 ('To' is not a valid MOBILE number): often a
//     landline, which a voice fallback can still reach.
//   Vonage SMS DLR err-code 3 "Absent Subscriber - Permanent": "number is
//     no longer active". Not 12 (a routing problem).
// Channel-specific refusals (e.g. Twilio 63024, not a WhatsApp user) are
// deliberately absent: the number may still take SMS or a call.
constexpr CodeEntry kInvalidNumber[] = {
    {"twilio", "21211"},
    {"twilio", "21217"},
    {"twilio", "60006"},
    {"vonage", "3"},
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
         c == '\v';
}

char ToUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

const StepState* FindStep(const RootState& state, int step) {
  for (const StepState& s : state.steps) {
    if (s.step == step) return &s;
  }
  return nullptr;
}

bool AnySucceeded(const RootState& state) {
  return std::any_of(state.steps.begin(), state.steps.end(),
                     [](const StepState& s) { return IsSuccess(s.status); });
}

bool Used(const RootState& state, Channel c) {
  return std::any_of(state.steps.begin(), state.steps.end(),
                     [c](const StepState& s) { return s.channel == c; });
}

// See "The next channel" in policy.h. nullopt when the chain has nothing
// left after the current channel.
std::optional<Channel> NextChannel(const RootState& state, Channel current,
                                   const std::vector<Channel>& chain) {
  auto pos = std::find(chain.begin(), chain.end(), current);
  auto it = pos == chain.end() ? chain.begin() : pos + 1;
  for (; it != chain.end(); ++it) {
    if (!Used(state, *it)) return *it;
  }
  return std::nullopt;
}

Decision Skip(Decision d, SkipReason reason) {
  d.result = DecisionResult::kSkip;
  d.reason = reason;
  return d;
}

}  // namespace

int64_t FallbackConfig::DeadlineFor(Channel c) const {
  auto it = deadline_ms.find(c);
  return it == deadline_ms.end() ? default_deadline_ms : it->second;
}

std::string_view ToString(SkipReason r) {
  switch (r) {
    case SkipReason::kNone:
      return "none";
    case SkipReason::kAlreadySucceeded:
      return "already_succeeded";
    case SkipReason::kNextStepExists:
      return "next_step_exists";
    case SkipReason::kChainExhausted:
      return "chain_exhausted";
    case SkipReason::kUnknownRecipient:
      return "unknown_recipient";
    case SkipReason::kInvalidNumber:
      return "invalid_number";
    case SkipReason::kFraud:
      return "fraud";
    case SkipReason::kOptedOut:
      return "opted_out";
    case SkipReason::kRecipientCap:
      return "recipient_cap";
    case SkipReason::kBudget:
      return "budget";
  }
  return "none";
}

bool IsSuccess(DeliveryStatus s) {
  return s == DeliveryStatus::kDelivered || s == DeliveryStatus::kRead ||
         s == DeliveryStatus::kVerified;
}

Decision Decide(const RootState& state, const Trigger& trigger, int64_t now_ms,
                const FallbackConfig& config) {
  Decision d;
  const StepState* step = FindStep(state, trigger.step);
  if (step == nullptr) return d;  // a step we know nothing about
  d.from = step->channel;
  const bool is_last = trigger.step == state.steps.back().step;

  if (trigger.kind == TriggerKind::kEvent) {
    if (IsSuccess(trigger.status)) {
      d.wasted = !is_last;
      return d;
    }
    // queued/sent/unknown: the step is still in flight; its deadline
    // covers the case where nothing more ever arrives.
    if (!IsTerminalFailure(trigger.status)) return d;
  } else if (now_ms < step->deadline_at_ms) {
    return d;
  }

  if (AnySucceeded(state)) return Skip(d, SkipReason::kAlreadySucceeded);
  if (!is_last) return Skip(d, SkipReason::kNextStepExists);

  const int next_step = trigger.step + 1;
  std::optional<Channel> next = NextChannel(state, step->channel, config.chain);
  if (next_step >= config.max_steps || !next.has_value()) {
    return Skip(d, SkipReason::kChainExhausted);
  }
  d.to = *next;

  const bool by_event = trigger.kind == TriggerKind::kEvent;
  if (state.recipient.empty()) return Skip(d, SkipReason::kUnknownRecipient);
  if (state.recipient_invalid ||
      (by_event &&
       IsInvalidNumberError(trigger.provider, trigger.error_code))) {
    return Skip(d, SkipReason::kInvalidNumber);
  }
  if (state.fraud_flagged ||
      (by_event && IsFraudError(trigger.provider, trigger.error_code))) {
    return Skip(d, SkipReason::kFraud);
  }
  if (state.opted_out ||
      (by_event && IsOptOutError(trigger.provider, trigger.error_code))) {
    return Skip(d, SkipReason::kOptedOut);
  }
  if (state.recipient_fallbacks_last_hour >=
      config.max_per_recipient_per_hour) {
    return Skip(d, SkipReason::kRecipientCap);
  }
  if (state.fallbacks_last_minute >= config.max_per_minute) {
    return Skip(d, SkipReason::kBudget);
  }

  d.result = DecisionResult::kEscalate;
  d.next_step = next_step;
  return d;
}

bool IsOptOutError(std::string_view provider, std::string_view error_code) {
  return InTable(kOptOut, provider, error_code);
}

bool IsFraudError(std::string_view provider, std::string_view error_code) {
  return InTable(kFraud, provider, error_code);
}

bool IsInvalidNumberError(std::string_view provider,
                          std::string_view error_code) {
  return InTable(kInvalidNumber, provider, error_code);
}

namespace {

// The message as one keyword: trimmed, trailing '.'/'!' dropped, inner
// whitespace runs as one space, upper-case; "" when longer than any
// keyword.
std::string KeywordOf(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && (IsSpace(text[end - 1]) || text[end - 1] == '.' ||
                         text[end - 1] == '!')) {
    --end;
  }
  std::string word;
  for (size_t i = begin; i < end; ++i) {
    if (IsSpace(text[i])) {
      if (!word.empty() && word.back() != ' ') word.push_back(' ');
      continue;
    }
    word.push_back(ToUpper(text[i]));
    if (word.size() > 16) return std::string();
  }
  return word;
}

}  // namespace

bool IsStopKeyword(std::string_view text) {
  static constexpr std::string_view kKeywords[] = {
      "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",  "END",
      "QUIT", "REVOKE",  "OPTOUT",      "OPT OUT",
  };
  const std::string word = KeywordOf(text);
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) !=
         std::end(kKeywords);
}

bool IsStartKeyword(std::string_view text) {
  static constexpr std::string_view kKeywords[] = {"START", "UNSTOP", "YES"};
  const std::string word = KeywordOf(text);
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) !=
         std::end(kKeywords);
}

}  // namespace dlrd
