// GuardedHandler: the per-request exception barrier.
#include "dlrd/http/guarded_handler.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <stdexcept>
#include <vector>

namespace dlrd {
namespace {

class ScriptedHandler final : public HttpHandler {
 public:
  enum class Mode { kAnswer, kThrow, kAnswerThenThrow, kAnswerTwice };
  explicit ScriptedHandler(Mode mode) : mode_(mode) {}
  void Handle(HttpRequest, Respond respond) override {
    HttpResponse ok;
    ok.status = 200;
    switch (mode_) {
      case Mode::kAnswer:
        return respond(ok);
      case Mode::kThrow:
        throw std::out_of_range("basic_string::substr");
      case Mode::kAnswerThenThrow:
        respond(ok);
        throw std::runtime_error("after the answer");
      case Mode::kAnswerTwice:
        respond(ok);
        ok.status = 503;
        return respond(ok);
    }
  }

 private:
  Mode mode_;
};

struct Outcome {
  std::vector<HttpResponse> answers;
  double counted = 0;
};

Outcome Handle(ScriptedHandler::Mode mode) {
  prometheus::Registry registry;
  InternalErrors errors(registry, nullptr);
  ScriptedHandler inner(mode);
  GuardedHandler guarded(inner, "admin_handler", &errors);
  Outcome run;
  guarded.Handle(HttpRequest{},
                 [&](HttpResponse r) { run.answers.push_back(std::move(r)); });
  run.counted = errors.count("admin_handler");
  return run;
}

TEST(GuardedHandlerTest, AThrowIsAnswered500AndCloses) {
  Outcome run = Handle(ScriptedHandler::Mode::kThrow);
  ASSERT_EQ(run.answers.size(), 1u);
  EXPECT_EQ(run.answers[0].status, 500u);
  EXPECT_TRUE(run.answers[0].close);
  EXPECT_EQ(run.counted, 1);
}

TEST(GuardedHandlerTest, AThrowAfterTheAnswerIsCountedNotAnsweredTwice) {
  Outcome run = Handle(ScriptedHandler::Mode::kAnswerThenThrow);
  ASSERT_EQ(run.answers.size(), 1u);
  EXPECT_EQ(run.answers[0].status, 200u);
  EXPECT_EQ(run.counted, 1);
}

TEST(GuardedHandlerTest, OnlyTheFirstAnswerReachesTheSession) {
  Outcome run = Handle(ScriptedHandler::Mode::kAnswerTwice);
  ASSERT_EQ(run.answers.size(), 1u);
  EXPECT_EQ(run.answers[0].status, 200u);
  EXPECT_EQ(run.counted, 0);
}

TEST(GuardedHandlerTest, ANormalAnswerPassesThrough) {
  Outcome run = Handle(ScriptedHandler::Mode::kAnswer);
  ASSERT_EQ(run.answers.size(), 1u);
  EXPECT_EQ(run.answers[0].status, 200u);
  EXPECT_EQ(run.counted, 0);
}

TEST(GuardTaskTest, AThrowingTaskIsAnswered500) {
  prometheus::Registry registry;
  InternalErrors errors(registry, nullptr);
  std::vector<HttpResponse> answers;
  HttpHandler::Respond respond = [&](HttpResponse r) {
    answers.push_back(std::move(r));
  };
  GuardTask(&errors, respond, [] { throw std::bad_alloc(); });
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].status, 500u);
  EXPECT_EQ(errors.count("admin_task"), 1);
}

TEST(ExceptionTypeTest, NamesTheDynamicType) {
  EXPECT_EQ(ExceptionType(std::make_exception_ptr(std::out_of_range("x"))),
            "std::out_of_range");
  EXPECT_EQ(ExceptionType(std::make_exception_ptr(42)), "unknown");
}

}  // namespace
}  // namespace dlrd
