// Table-driven tests of the pure framing checks (docs/reliability.md §7.1 (T9)).
#include "http/framing.h"

#include <gtest/gtest.h>

namespace dlrd {
namespace {

struct ScanCase {
  const char* name;
  std::string bytes;
  HeaderScan::Kind kind;
};

TEST(ScanHeaderBlock, Table) {
  const std::string ok = "POST /webhooks/a HTTP/1.1\r\nHost: x\r\n\r\n";
  const ScanCase cases[] = {
      {"complete", ok, HeaderScan::kComplete},
      {"complete with body after", ok + "{\"a\":1}", HeaderScan::kComplete},
      {"partial", "POST /webhooks/a HTTP/1.1\r\nHost: x\r\n",
       HeaderScan::kNeedMore},
      {"partial CR", "POST /webhooks/a HTTP/1.1\r", HeaderScan::kNeedMore},
      {"bare LF in request line", "POST / HTTP/1.1\nHost: x\r\n\r\n",
       HeaderScan::kBad},
      {"bare LF terminator", "POST / HTTP/1.1\r\nHost: x\n\n",
       HeaderScan::kBad},
      {"obs-fold", "POST / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n",
       HeaderScan::kBad},
      {"obs-fold tab", "POST / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n",
       HeaderScan::kBad},
      {"space before colon", "POST / HTTP/1.1\r\nHost : x\r\n\r\n",
       HeaderScan::kBad},
      {"tab before colon", "POST / HTTP/1.1\r\nHost\t: x\r\n\r\n",
       HeaderScan::kBad},
      {"no colon", "POST / HTTP/1.1\r\nHost x\r\n\r\n", HeaderScan::kBad},
      {"empty name", "POST / HTTP/1.1\r\n: x\r\n\r\n", HeaderScan::kBad},
      {"NUL in value", std::string("POST / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27),
       HeaderScan::kBad},
      {"leading CRLF", "\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n",
       HeaderScan::kBad},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HeaderScan s = ScanHeaderBlock(c.bytes, 8192);
    EXPECT_EQ(s.kind, c.kind) << s.reason;
    if (c.kind == HeaderScan::kComplete) {
      EXPECT_EQ(s.length, ok.size());
    }
    if (c.kind == HeaderScan::kBad) {
      EXPECT_FALSE(s.reason.empty());
    }
  }
}

TEST(ScanHeaderBlock, TooLargeAtLimit) {
  std::string big = "POST / HTTP/1.1\r\nX-Big: " + std::string(9000, 'a');
  EXPECT_EQ(ScanHeaderBlock(big, 8192).kind, HeaderScan::kTooLarge);
  // A complete header just under the limit is fine.
  std::string fits = "POST / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
  EXPECT_EQ(ScanHeaderBlock(fits, fits.size()).kind, HeaderScan::kComplete);
  EXPECT_EQ(ScanHeaderBlock(fits, fits.size() - 1).kind, HeaderScan::kTooLarge);
}

struct FieldCase {
  const char* name;
  unsigned version;
  const char* method;
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  unsigned status;
};

TEST(CheckFields, Table) {
  const FieldCase cases[] = {
      {"plain CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "10"}}, 0},
      {"chunked", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "chunked"}}, 0},
      {"chunked any case", 11, "POST", {{"host", "x"}, {"transfer-encoding", "Chunked"}}, 0},
      {"GET no body", 11, "GET", {{"Host", "x"}}, 0},
      {"HTTP/1.0 no Host", 10, "POST", {{"Content-Length", "1"}}, 0},
      {"CL then TE", 11, "POST", {{"Host", "x"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}, 400},
      {"TE then CL", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, 400},
      {"TE gzip + CL", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "gzip"}, {"Content-Length", "5"}}, 400},
      {"TE gzip alone", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "gzip"}}, 400},
      {"TE gzip, chunked", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "gzip, chunked"}}, 400},
      {"TE chunked twice", 11, "POST", {{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}, 400},
      {"TE on HTTP/1.0", 10, "POST", {{"Transfer-Encoding", "chunked"}}, 400},
      {"duplicate equal CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "5"}, {"Content-Length", "5"}}, 400},
      {"duplicate different CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "5"}, {"Content-Length", "6"}}, 400},
      {"list CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "5, 5"}}, 400},
      {"signed CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "+5"}}, 400},
      {"empty CL", 11, "POST", {{"Host", "x"}, {"Content-Length", ""}}, 400},
      {"huge CL", 11, "POST", {{"Host", "x"}, {"Content-Length", "99999999999999999999"}}, 400},
      {"missing Host", 11, "POST", {{"Content-Length", "1"}}, 400},
      {"two Hosts", 11, "POST", {{"Host", "x"}, {"Host", "y"}, {"Content-Length", "1"}}, 400},
      {"POST without length", 11, "POST", {{"Host", "x"}}, 411},
      {"CL over limit", 11, "POST", {{"Host", "x"}, {"Content-Length", "65537"}}, 413},
      {"CL at limit", 11, "POST", {{"Host", "x"}, {"Content-Length", "65536"}}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FieldCheck r = CheckFields(c.version, c.method, c.fields, 65536);
    EXPECT_EQ(r.status, c.status) << r.reason;
  }
}

}  // namespace
}  // namespace dlrd
