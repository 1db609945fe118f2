// Fallback policy: when an OTP's delivery fails or stalls, which channel is
// tried next, or why nothing is sent. Pure: a function of (state, trigger,
// now, config); the caller reads the state from the store and writes the
// decision (an outbox job) in the same transaction.
//
// A "root" is one OTP the app sent; its steps are the attempts on the
// channels of the chain (step 0 = the app's own send, step k = the k-th
// fallback). A trigger concerns one step:
//   kEvent: a callback for that step with a normalized status;
//   kDeadline: the step's deadline passed (callbacks get lost, and some
//     providers never retry them, so silence must escalate too).
// Escalation happens only from the LAST step, only on a terminal failure or
// its deadline, and never when:
//   the root already succeeded (delivered, read or verified on any step),
//   the next step already exists, the chain or max_steps is exhausted,
//   the recipient is unknown or invalid, fraud was flagged, the recipient
//   opted out, the per-recipient cap or the global budget is spent.
// Each such case is a kSkip with its reason, so it can be counted.
// A success on a step that is not the last one (a fallback was already
// sent) is a wasted fallback: kNone with `wasted` set, for analytics.
//
// Decide() evaluates, in this order (the first match wins):
//   1. The trigger's step is not in `state.steps`: kNone.
//   2. kEvent with a success status (IsSuccess): kNone; `wasted` iff a
//      later step exists.
//   3. kEvent with a status that is not a terminal failure (unknown,
//      queued, sent): kNone. kDeadline before the step's deadline_at_ms:
//      kNone (an early timer is not a trigger).
//   4. Skips, checked in the order of kAllSkipReasons:
//      already_succeeded  any step's stored status IsSuccess (a stored
//                         success outranks the failure being reported);
//      next_step_exists   the trigger's step is not the last step;
//      chain_exhausted    trigger.step + 1 >= max_steps, or no next
//                         channel (below);
//      unknown_recipient  state.recipient is empty;
//      invalid_number     state.recipient_invalid, or the trigger's error
//                         code is in the IsInvalidNumberError table;
//      fraud              state.fraud_flagged, or IsFraudError(trigger);
//      opted_out          state.opted_out, or IsOptOutError(trigger);
//      recipient_cap      recipient_fallbacks_last_hour >=
//                         max_per_recipient_per_hour;
//      budget             fallbacks_last_minute >= max_per_minute.
//   5. Otherwise kEscalate to `to` as step trigger.step + 1.
// A trigger is decided on its own: a skipped failure whose deadline fires
// later is evaluated (and, if still skipped, counted) again, which is how a
// recipient_cap or budget skip gets a second chance at the deadline.
//
// The next channel: the first chain entry AFTER the position of the
// trigger step's channel in the chain that no step has used yet. The app's
// own send need not be chain[0]: with the default chain and step 0 on
// whatsapp, the next channel is voice (never back to sms). A step whose
// channel is not in the chain at all (e.g. kOther) continues with the first
// unused chain entry. When step 0 is on chain[0] this is chain[step + 1],
// so the number of steps never exceeds the chain length; max_steps can
// lower it further.
//
// The policy never reads a clock: deadlines are absolute unix ms computed
// by the caller (sent_at + DeadlineFor(channel)) and compared with now_ms.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dlrd/core/model/delivery.h"

namespace dlrd {

struct FallbackConfig {
  std::string provider;  // verifynow | twilio | vonage | sinch: who sends
  std::vector<Channel> chain = {Channel::kSms, Channel::kWhatsapp,
                                Channel::kVoice};
  // Per channel; a channel without an entry uses default_deadline_ms.
  std::map<Channel, int64_t> deadline_ms;
  int64_t default_deadline_ms = 30000;
  int max_steps = 3;  // attempts per root, the app's own send included
  int max_per_recipient_per_hour = 3;  // fallbacks sent to one number
  int max_per_minute = 600;            // global send budget, all roots
  int64_t DeadlineFor(Channel c) const;
};

struct StepState {
  int step = 0;
  Channel channel = Channel::kSms;
  DeliveryStatus status = DeliveryStatus::kUnknown;  // furthest so far
  int64_t deadline_at_ms = 0;
};

struct RootState {
  std::vector<StepState> steps;    // ordered by step; never empty
  std::string recipient;           // E.164, empty when unknown
  bool recipient_invalid = false;  // a provider said the number is invalid
  bool fraud_flagged = false;
  bool opted_out = false;
  int recipient_fallbacks_last_hour = 0;
  int fallbacks_last_minute = 0;  // all roots, for the global budget
};

enum class TriggerKind { kEvent, kDeadline };

struct Trigger {
  TriggerKind kind = TriggerKind::kEvent;
  int step = 0;
  DeliveryStatus status = DeliveryStatus::kUnknown;  // kEvent only
  // kEvent only, optional: the event's provider and error code
  // (DeliveryEvent::provider / error_code). A failure whose code is in one
  // of the tables below is skipped even before the caller has stored the
  // matching RootState flag; storing it is still the caller's job, so that
  // later triggers (and other roots) see it.
  std::string provider;
  std::string error_code;
};

enum class DecisionResult { kEscalate, kSkip, kNone };

enum class SkipReason {
  kNone,
  kAlreadySucceeded,
  kNextStepExists,
  kChainExhausted,
  kUnknownRecipient,
  kInvalidNumber,
  kFraud,
  kOptedOut,
  kRecipientCap,
  kBudget,
};

inline constexpr SkipReason kAllSkipReasons[] = {SkipReason::kAlreadySucceeded,
                                                 SkipReason::kNextStepExists,
                                                 SkipReason::kChainExhausted,
                                                 SkipReason::kUnknownRecipient,
                                                 SkipReason::kInvalidNumber,
                                                 SkipReason::kFraud,
                                                 SkipReason::kOptedOut,
                                                 SkipReason::kRecipientCap,
                                                 SkipReason::kBudget};

std::string_view ToString(SkipReason r);  // snake_case metric label

struct Decision {
  DecisionResult result = DecisionResult::kNone;
  SkipReason reason = SkipReason::kNone;  // set iff kSkip
  Channel from = Channel::kOther;         // channel of the triggering step
  // kEscalate: the next channel. kSkip for a reason checked after
  // chain_exhausted: the channel it would have been (for metrics).
  // Otherwise kOther.
  Channel to = Channel::kOther;
  int next_step = -1;   // kEscalate: trigger.step + 1
  bool wasted = false;  // a success on a step a fallback already followed
};

// Fallback settings by source name (every store adapter's input).
using FallbackRules = std::map<std::string, FallbackConfig, std::less<>>;

// A decision taken for a source's root, as the store reports it for metrics.
struct FallbackNote {
  std::string source;
  std::string trigger;  // event | deadline | send_failed
  Decision decision;
};

Decision Decide(const RootState& state, const Trigger& trigger, int64_t now_ms,
                const FallbackConfig& config);

// True for statuses that end a root successfully.
bool IsSuccess(DeliveryStatus s);

// Provider error codes with a meaning for the policy, as normalized events
// carry them (DeliveryEvent::error_code). Tables kept small and documented
// (the sources are cited in policy.cc); `provider` is the normalized name
// (twilio, vonage, sinch, verifynow). Codes are compared exactly, except
// Sinch reasons, which are compared ignoring ASCII case. An unknown
// provider or code is false for all three.
//   opt-out  twilio 21610 (replied STOP); vonage 9 (SMS DLR err-code
//            "Illegal Number": asked not to receive messages).
//   fraud    twilio 60410 (Fraud Guard prefix block), 60412 (Fraudulent
//            Signup Prevention), 60605 (Verify Geo-Permissions block,
//            HTTP 403); sinch "Fraud", "Blocked" (blocked number),
//            "Destination denied".
//   invalid  twilio 21211 (invalid To), 21217 (voice: not a valid number),
//            60006 (Verify: invalid
//            phone number); vonage 3 (DLR "Absent Subscriber -
//            Permanent": number no longer active).
// Opt-out: the recipient unsubscribed: stored, and no fallback is ever sent
// to the number again.
bool IsOptOutError(std::string_view provider, std::string_view error_code);
// Fraud flagged by the provider.
bool IsFraudError(std::string_view provider, std::string_view error_code);
// The number is invalid / not a mobile.
bool IsInvalidNumberError(std::string_view provider,
                          std::string_view error_code);

// True iff an inbound message text is an opt-out keyword: STOP, STOPALL,
// UNSUBSCRIBE, CANCEL, END, QUIT (Twilio's default opt-out set), REVOKE,
// OPTOUT, OPT OUT (the FCC's per-se revocation words, 47 CFR
// 64.1200(a)(10)). The whole message only ("STOP PLEASE" is not), any
// ASCII case, after trimming whitespace and trailing '.' / '!'. Runs of
// inner whitespace count as one space ("opt  out").
bool IsStopKeyword(std::string_view text);
// True iff the text opts back in: START, UNSTOP, YES (Twilio's opt-in
// set), under the same rules.
bool IsStartKeyword(std::string_view text);

}  // namespace dlrd
