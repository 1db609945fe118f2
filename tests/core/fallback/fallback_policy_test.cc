// Fallback policy: table-driven cases for Decide(), the error-code tables
// and the STOP keywords.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "dlrd/core/fallback/policy.h"

namespace dlrd {
namespace {

using C = Channel;
using R = DecisionResult;
using S = DeliveryStatus;
using W = SkipReason;

constexpr int64_t kDeadline = 30000;  // every step's deadline_at_ms

StepState Step(int step, C channel, S status) {
  return StepState{.step = step,
                   .channel = channel,
                   .status = status,
                   .deadline_at_ms = kDeadline};
}

RootState Root(std::vector<StepState> steps,
               std::function<void(RootState&)> edit = nullptr) {
  RootState r;
  r.steps = std::move(steps);
  r.recipient = "+447700900123";
  if (edit) edit(r);
  return r;
}

Trigger Event(int step, S status, std::string provider = "",
              std::string error_code = "") {
  return Trigger{.kind = TriggerKind::kEvent,
                 .step = step,
                 .status = status,
                 .provider = std::move(provider),
                 .error_code = std::move(error_code)};
}

Trigger Deadline(int step, std::string provider = "",
                 std::string error_code = "") {
  Trigger t;
  t.kind = TriggerKind::kDeadline;
  t.step = step;
  t.provider = std::move(provider);
  t.error_code = std::move(error_code);
  return t;
}

FallbackConfig Config(std::function<void(FallbackConfig&)> edit = nullptr) {
  FallbackConfig c;
  c.provider = "twilio";
  if (edit) edit(c);
  return c;
}

struct Expect {
  R result = R::kNone;
  W reason = W::kNone;
  C from = C::kOther;
  C to = C::kOther;
  int next_step = -1;
  bool wasted = false;
};

Expect Escalate(C from, C to, int next_step) {
  Expect e;
  e.result = R::kEscalate;
  e.from = from;
  e.to = to;
  e.next_step = next_step;
  return e;
}
Expect Skip(W reason, C from, C to = C::kOther) {
  Expect e;
  e.result = R::kSkip;
  e.reason = reason;
  e.from = from;
  e.to = to;
  return e;
}
Expect None(C from, bool wasted = false) {
  Expect e;
  e.from = from;
  e.wasted = wasted;
  return e;
}

struct Case {
  std::string name;
  RootState state;
  Trigger trigger;
  int64_t now_ms;
  FallbackConfig config;
  Expect expect;
};

const std::vector<Case>& Cases() {
  // A one-step root (the app's SMS), the usual starting point.
  const auto sms = [](S status = S::kSent) {
    return std::vector<StepState>{Step(0, C::kSms, status)};
  };
  const int64_t early = kDeadline - 1;
  static const std::vector<Case> kCases = {
      // --- escalation ------------------------------------------------------
      {"sms_failed_escalates_to_whatsapp", Root(sms()), Event(0, S::kFailed),
       1000, Config(), Escalate(C::kSms, C::kWhatsapp, 1)},
      {"whatsapp_failed_escalates_to_voice",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kSent)}),
       Event(1, S::kUndelivered), 1000, Config(),
       Escalate(C::kWhatsapp, C::kVoice, 2)},
      {"deadline_at_exactly_deadline_escalates", Root(sms()), Deadline(0),
       kDeadline, Config(), Escalate(C::kSms, C::kWhatsapp, 1)},
      {"deadline_after_deadline_escalates", Root(sms(S::kQueued)), Deadline(0),
       kDeadline + 5000, Config(), Escalate(C::kSms, C::kWhatsapp, 1)},
      {"deadline_ignores_error_code_fields", Root(sms()),
       Deadline(0, "twilio", "21610"), kDeadline, Config(),
       Escalate(C::kSms, C::kWhatsapp, 1)},
      {"failure_before_deadline_escalates_immediately", Root(sms()),
       Event(0, S::kRejected), 1, Config(), Escalate(C::kSms, C::kWhatsapp, 1)},
      {"unrelated_error_code_still_escalates", Root(sms()),
       Event(0, S::kFailed, "twilio", "30003"), 1000, Config(),
       Escalate(C::kSms, C::kWhatsapp, 1)},

      // --- no trigger ------------------------------------------------------
      {"early_deadline_is_none", Root(sms()), Deadline(0), early, Config(),
       None(C::kSms)},
      {"early_deadline_is_none_even_when_opted_out",
       Root(sms(), [](RootState& r) { r.opted_out = true; }), Deadline(0),
       early, Config(), None(C::kSms)},
      {"unknown_step_is_none", Root(sms()), Event(5, S::kFailed), 1000,
       Config(), None(C::kOther)},
      {"success_on_last_step_is_none_not_wasted", Root(sms()),
       Event(0, S::kDelivered), 1000, Config(), None(C::kSms)},

      // --- wasted fallback -------------------------------------------------
      {"late_success_on_step0_is_wasted",
       Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kSent)}),
       Event(0, S::kDelivered), 40000, Config(), None(C::kSms, true)},
      {"verified_on_step0_after_two_fallbacks_is_wasted",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kFailed),
             Step(2, C::kVoice, S::kSent)}),
       Event(0, S::kVerified), 40000, Config(), None(C::kSms, true)},
      {"success_on_middle_step_is_wasted",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kSent),
             Step(2, C::kVoice, S::kSent)}),
       Event(1, S::kRead), 40000, Config(), None(C::kWhatsapp, true)},

      // --- already_succeeded -----------------------------------------------
      {"deadline_on_delivered_step", Root(sms(S::kDelivered)), Deadline(0),
       kDeadline, Config(), Skip(W::kAlreadySucceeded, C::kSms)},
      {"failure_after_stored_success_same_step", Root(sms(S::kVerified)),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kAlreadySucceeded, C::kSms)},
      {"failure_on_last_step_when_earlier_step_delivered",
       Root({Step(0, C::kSms, S::kDelivered), Step(1, C::kWhatsapp, S::kSent)}),
       Event(1, S::kFailed), 1000, Config(),
       Skip(W::kAlreadySucceeded, C::kWhatsapp)},
      {"already_succeeded_before_next_step_exists",
       Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kRead)}),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kAlreadySucceeded, C::kSms)},

      // --- next_step_exists ------------------------------------------------
      {"failure_on_step0_when_step1_exists",
       Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kSent)}),
       Event(0, S::kFailed), 1000, Config(), Skip(W::kNextStepExists, C::kSms)},
      {"deadline_on_step0_when_step1_exists",
       Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kSent)}),
       Deadline(0), kDeadline, Config(), Skip(W::kNextStepExists, C::kSms)},
      {"next_step_exists_before_chain_exhausted",
       Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kSent)}),
       Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) { c.max_steps = 1; }),
       Skip(W::kNextStepExists, C::kSms)},

      // --- chain_exhausted and chain positions -----------------------------
      {"voice_failed_end_of_chain",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kFailed),
             Step(2, C::kVoice, S::kSent)}),
       Event(2, S::kFailed), 1000, Config(),
       Skip(W::kChainExhausted, C::kVoice)},
      {"max_steps_2_stops_after_whatsapp",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kSent)}),
       Event(1, S::kFailed), 1000,
       Config([](FallbackConfig& c) { c.max_steps = 2; }),
       Skip(W::kChainExhausted, C::kWhatsapp)},
      {"max_steps_1_means_no_fallback", Root(sms()), Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) { c.max_steps = 1; }),
       Skip(W::kChainExhausted, C::kSms)},
      {"max_steps_0_means_no_fallback", Root(sms()), Deadline(0), kDeadline,
       Config([](FallbackConfig& c) { c.max_steps = 0; }),
       Skip(W::kChainExhausted, C::kSms)},
      {"max_steps_larger_than_chain_still_ends_with_chain",
       Root({Step(0, C::kSms, S::kFailed), Step(1, C::kWhatsapp, S::kFailed),
             Step(2, C::kVoice, S::kSent)}),
       Deadline(2), kDeadline,
       Config([](FallbackConfig& c) { c.max_steps = 10; }),
       Skip(W::kChainExhausted, C::kVoice)},
      {"step0_on_whatsapp_goes_to_voice",
       Root({Step(0, C::kWhatsapp, S::kSent)}), Event(0, S::kFailed), 1000,
       Config(), Escalate(C::kWhatsapp, C::kVoice, 1)},
      {"step0_on_whatsapp_never_goes_back_to_sms",
       Root({Step(0, C::kWhatsapp, S::kFailed), Step(1, C::kVoice, S::kSent)}),
       Event(1, S::kFailed), 1000, Config(),
       Skip(W::kChainExhausted, C::kVoice)},
      {"step0_on_voice_nothing_after", Root({Step(0, C::kVoice, S::kSent)}),
       Deadline(0), kDeadline, Config(), Skip(W::kChainExhausted, C::kVoice)},
      {"step0_off_chain_starts_at_chain_front",
       Root({Step(0, C::kOther, S::kSent)}), Event(0, S::kExpired), 1000,
       Config(), Escalate(C::kOther, C::kSms, 1)},
      {"step0_not_in_custom_chain_starts_at_front",
       Root({Step(0, C::kWhatsapp, S::kSent)}), Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) {
         c.chain = {C::kSms, C::kVoice};
       }),
       Escalate(C::kWhatsapp, C::kSms, 1)},
      {"custom_chain_sms_then_voice", Root(sms()), Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) {
         c.chain = {C::kSms, C::kVoice};
       }),
       Escalate(C::kSms, C::kVoice, 1)},
      {"used_channel_after_position_is_skipped",
       Root({Step(0, C::kWhatsapp, S::kFailed), Step(1, C::kSms, S::kSent)}),
       Event(1, S::kFailed), 1000, Config(), Escalate(C::kSms, C::kVoice, 2)},
      {"empty_chain_is_exhausted", Root(sms()), Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) { c.chain.clear(); }),
       Skip(W::kChainExhausted, C::kSms)},
      {"chain_exhausted_before_unknown_recipient",
       Root({Step(0, C::kVoice, S::kSent)},
            [](RootState& r) { r.recipient.clear(); }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kChainExhausted, C::kVoice)},

      // --- recipient guards ------------------------------------------------
      {"unknown_recipient",
       Root(sms(), [](RootState& r) { r.recipient.clear(); }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kUnknownRecipient, C::kSms, C::kWhatsapp)},
      {"invalid_number_flag",
       Root(sms(), [](RootState& r) { r.recipient_invalid = true; }),
       Deadline(0), kDeadline, Config(),
       Skip(W::kInvalidNumber, C::kSms, C::kWhatsapp)},
      {"invalid_number_from_event_code", Root(sms()),
       Event(0, S::kFailed, "twilio", "21211"), 1000, Config(),
       Skip(W::kInvalidNumber, C::kSms, C::kWhatsapp)},
      {"fraud_flag", Root(sms(), [](RootState& r) { r.fraud_flagged = true; }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kFraud, C::kSms, C::kWhatsapp)},
      {"fraud_from_sinch_reason", Root(sms()),
       Event(0, S::kRejected, "sinch", "Fraud"), 1000, Config(),
       Skip(W::kFraud, C::kSms, C::kWhatsapp)},
      {"opted_out_flag", Root(sms(), [](RootState& r) { r.opted_out = true; }),
       Deadline(0), kDeadline, Config(),
       Skip(W::kOptedOut, C::kSms, C::kWhatsapp)},
      {"opted_out_from_twilio_21610", Root(sms()),
       Event(0, S::kUndelivered, "twilio", "21610"), 1000, Config(),
       Skip(W::kOptedOut, C::kSms, C::kWhatsapp)},
      {"recipient_cap_reached",
       Root(sms(), [](RootState& r) { r.recipient_fallbacks_last_hour = 3; }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kRecipientCap, C::kSms, C::kWhatsapp)},
      {"recipient_cap_one_below_escalates",
       Root(sms(), [](RootState& r) { r.recipient_fallbacks_last_hour = 2; }),
       Event(0, S::kFailed), 1000, Config(),
       Escalate(C::kSms, C::kWhatsapp, 1)},
      {"recipient_cap_zero_blocks_all", Root(sms()), Event(0, S::kFailed), 1000,
       Config([](FallbackConfig& c) { c.max_per_recipient_per_hour = 0; }),
       Skip(W::kRecipientCap, C::kSms, C::kWhatsapp)},
      {"budget_spent",
       Root(sms(), [](RootState& r) { r.fallbacks_last_minute = 600; }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kBudget, C::kSms, C::kWhatsapp)},
      {"budget_one_below_escalates",
       Root(sms(), [](RootState& r) { r.fallbacks_last_minute = 599; }),
       Deadline(0), kDeadline, Config(), Escalate(C::kSms, C::kWhatsapp, 1)},

      // --- order of the guards ---------------------------------------------
      {"unknown_recipient_first",
       Root(sms(),
            [](RootState& r) {
              r.recipient.clear();
              r.recipient_invalid = r.fraud_flagged = r.opted_out = true;
              r.recipient_fallbacks_last_hour = 99;
              r.fallbacks_last_minute = 9999;
            }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kUnknownRecipient, C::kSms, C::kWhatsapp)},
      {"invalid_before_fraud",
       Root(sms(),
            [](RootState& r) {
              r.recipient_invalid = r.fraud_flagged = r.opted_out = true;
            }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kInvalidNumber, C::kSms, C::kWhatsapp)},
      {"fraud_before_opted_out",
       Root(sms(), [](RootState& r) { r.fraud_flagged = r.opted_out = true; }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kFraud, C::kSms, C::kWhatsapp)},
      {"opted_out_before_recipient_cap",
       Root(sms(),
            [](RootState& r) {
              r.opted_out = true;
              r.recipient_fallbacks_last_hour = 99;
            }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kOptedOut, C::kSms, C::kWhatsapp)},
      {"recipient_cap_before_budget",
       Root(sms(),
            [](RootState& r) {
              r.recipient_fallbacks_last_hour = 99;
              r.fallbacks_last_minute = 9999;
            }),
       Event(0, S::kFailed), 1000, Config(),
       Skip(W::kRecipientCap, C::kSms, C::kWhatsapp)},
  };
  return kCases;
}

void ExpectDecision(const Decision& d, const Expect& e) {
  EXPECT_EQ(d.result, e.result);
  EXPECT_EQ(d.reason, e.reason) << ToString(d.reason);
  EXPECT_EQ(d.from, e.from) << ToString(d.from);
  EXPECT_EQ(d.to, e.to) << ToString(d.to);
  EXPECT_EQ(d.next_step, e.next_step);
  EXPECT_EQ(d.wasted, e.wasted);
}

TEST(FallbackPolicy, Table) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    ExpectDecision(Decide(c.state, c.trigger, c.now_ms, c.config), c.expect);
  }
}

TEST(FallbackPolicy, TableCoversEverySkipReasonAndWaste) {
  std::set<SkipReason> seen;
  bool wasted = false;
  for (const Case& c : Cases()) {
    if (c.expect.result == R::kSkip) seen.insert(c.expect.reason);
    wasted = wasted || c.expect.wasted;
  }
  for (SkipReason r : kAllSkipReasons) {
    EXPECT_TRUE(seen.count(r)) << "no case for " << ToString(r);
  }
  EXPECT_TRUE(wasted);
}

TEST(FallbackPolicy, EveryStatusOnTheLastStep) {
  const RootState root = Root({Step(0, C::kSms, S::kSent)});
  for (S s : kAllStatuses) {
    SCOPED_TRACE(ToString(s));
    const Decision d = Decide(root, Event(0, s), 1000, Config());
    if (IsTerminalFailure(s)) {
      ExpectDecision(d, Escalate(C::kSms, C::kWhatsapp, 1));
    } else {
      // Successes and in-flight statuses (unknown, queued, sent).
      ExpectDecision(d, None(C::kSms));
    }
  }
}

TEST(FallbackPolicy, EveryStatusOnAnEarlierStep) {
  const RootState root =
      Root({Step(0, C::kSms, S::kSent), Step(1, C::kWhatsapp, S::kSent)});
  for (S s : kAllStatuses) {
    SCOPED_TRACE(ToString(s));
    const Decision d = Decide(root, Event(0, s), 1000, Config());
    if (IsTerminalFailure(s)) {
      ExpectDecision(d, Skip(W::kNextStepExists, C::kSms));
    } else {
      ExpectDecision(d, None(C::kSms, /*wasted=*/IsSuccess(s)));
    }
  }
}

TEST(FallbackPolicy, IsSuccess) {
  for (S s : kAllStatuses) {
    const bool success =
        s == S::kDelivered || s == S::kRead || s == S::kVerified;
    EXPECT_EQ(IsSuccess(s), success) << ToString(s);
    EXPECT_FALSE(IsSuccess(s) && IsTerminalFailure(s)) << ToString(s);
  }
}

TEST(FallbackPolicy, SkipReasonNames) {
  static const struct {
    SkipReason reason;
    std::string_view name;
  } kNames[] = {
      {W::kAlreadySucceeded, "already_succeeded"},
      {W::kNextStepExists, "next_step_exists"},
      {W::kChainExhausted, "chain_exhausted"},
      {W::kUnknownRecipient, "unknown_recipient"},
      {W::kInvalidNumber, "invalid_number"},
      {W::kFraud, "fraud"},
      {W::kOptedOut, "opted_out"},
      {W::kRecipientCap, "recipient_cap"},
      {W::kBudget, "budget"},
  };
  for (const auto& n : kNames) EXPECT_EQ(ToString(n.reason), n.name);
  std::set<std::string_view> names;
  for (SkipReason r : kAllSkipReasons) names.insert(ToString(r));
  EXPECT_EQ(names.size(), std::size(kAllSkipReasons));
}

TEST(FallbackPolicy, DeadlineFor) {
  FallbackConfig c;
  c.default_deadline_ms = 45000;
  c.deadline_ms[C::kSms] = 20000;
  EXPECT_EQ(c.DeadlineFor(C::kSms), 20000);
  EXPECT_EQ(c.DeadlineFor(C::kWhatsapp), 45000);
  EXPECT_EQ(c.DeadlineFor(C::kVoice), 45000);
}

TEST(FallbackPolicy, ErrorCodeTables) {
  static const struct {
    std::string_view provider;
    std::string_view code;
    bool opt_out;
    bool fraud;
    bool invalid;
  } kCodes[] = {
      // Opt-out.
      {"twilio", "21610", true, false, false},
      {"vonage", "9", true, false, false},
      // Fraud.
      {"twilio", "60410", false, true, false},
      {"twilio", "60412", false, true, false},
      {"twilio", "60605", false, true, false},
      {"sinch", "Fraud", false, true, false},
      {"sinch", "FRAUD", false, true, false},
      {"sinch", "Blocked", false, true, false},
      {"sinch", "Destination denied", false, true, false},
      // Invalid number.
      {"twilio", "21211", false, false, true},
      {"twilio", "21217", false, false, true},
      {"twilio", "21614", false, false, false},  // landline: voice may work
      {"twilio", "60006", false, false, true},
      {"vonage", "3", false, false, true},
      // In none of the tables.
      {"twilio", "", false, false, false},
      {"twilio", "60200", false, false, false},  // invalid parameter
      {"twilio", "60203", false, false, false},  // max send attempts
      {"twilio", "30003", false, false, false},  // unreachable handset
      {"twilio", "63024", false, false, false},  // not on WhatsApp
      {"twilio", " 21610", false, false, false},
      {"twilio", "Fraud", false, false, false},
      {"sinch", "Not enough credit", false, false, false},
      {"sinch", "Denied by callback", false, false, false},
      {"sinch", "21610", false, false, false},
      {"vonage", "21610", false, false, false},
      {"vonage", "12", false, false, false},
      {"verifynow", "21610", false, false, false},
      {"", "21610", false, false, false},
      {"Twilio", "21610", false, false, false},  // provider names are exact
  };
  for (const auto& c : kCodes) {
    SCOPED_TRACE(std::string(c.provider) + "/" + std::string(c.code));
    EXPECT_EQ(IsOptOutError(c.provider, c.code), c.opt_out);
    EXPECT_EQ(IsFraudError(c.provider, c.code), c.fraud);
    EXPECT_EQ(IsInvalidNumberError(c.provider, c.code), c.invalid);
  }
}

TEST(FallbackPolicy, StopKeywords) {
  static const struct {
    std::string_view text;
    bool stop;
  } kTexts[] = {
      {"STOP", true},
      {"stop", true},
      {"Stop", true},
      {"  stop \r\n", true},
      {"STOPALL", true},
      {"unsubscribe", true},
      {"Cancel", true},
      {"END", true},
      {"quit", true},
      {"Revoke", true},
      {"OPTOUT", true},
      {"opt out", true},
      {"Opt \t Out", true},
      {"STOP.", true},
      {"stop!", true},
      {"\tQUIT!!\n", true},
      {"", false},
      {"   ", false},
      {".", false},
      {"STOP PLEASE", false},
      {"please stop", false},
      {"STOP STOP", false},
      {"stopp", false},
      {"S TOP", false},
      {"START", false},
      {"UNSTOP", false},
      {"HELP", false},
      {"opt-out", false},
      {"123456", false},
      {"unsubscribeeeeeeeeeeeeeeeeeee", false},
  };
  for (const auto& t : kTexts) {
    EXPECT_EQ(IsStopKeyword(t.text), t.stop) << '"' << t.text << '"';
  }
}

TEST(StartKeywordTest, OptInWordsOnlyAsTheWholeMessage) {
  EXPECT_TRUE(IsStartKeyword("START"));
  EXPECT_TRUE(IsStartKeyword(" unstop! "));
  EXPECT_TRUE(IsStartKeyword("Yes."));
  EXPECT_FALSE(IsStartKeyword("START NOW"));
  EXPECT_FALSE(IsStartKeyword("STOP"));
  EXPECT_FALSE(IsStartKeyword("yess"));
  EXPECT_FALSE(IsStartKeyword(""));
}

}  // namespace
}  // namespace dlrd
