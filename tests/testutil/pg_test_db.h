// PgTestDb: a fresh, empty database on the suite's own PostgreSQL server
// (tests/testutil/pg_server.sh, started by the ctest fixture `pg`), dropped
// when the object goes out of scope. Created and dropped with the psql
// client, so the tests need no libpq of their own.
//
// The server is found through DLRD_TEST_PG_STATE (the fixture's state
// directory, holding `uri`). Without it the constructor throws: a test that
// needs PostgreSQL fails rather than skips (tests/run.sh always starts it).
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace dlrd::testutil {

class PgTestDb {
 public:
  PgTestDb() {
    const char* state = std::getenv("DLRD_TEST_PG_STATE");
    if (!state || !*state) {
      throw std::runtime_error(
          "DLRD_TEST_PG_STATE is not set: run through ctest (fixture pg)");
    }
    state_ = state;
    std::ifstream in(state_ + "/uri");
    std::getline(in, admin_uri_);
    if (admin_uri_.empty()) {
      throw std::runtime_error("no PostgreSQL URI in " + state_ + "/uri");
    }
    static std::atomic<int> counter{0};
    name_ = "t_" + std::to_string(getpid()) + "_" +
            std::to_string(counter++) + "_" + std::to_string(std::rand());
    Psql(admin_uri_, "CREATE DATABASE " + name_);
    uri_ = admin_uri_.substr(0, admin_uri_.rfind('/') + 1) + name_;
  }
  ~PgTestDb() {
    try {
      Psql(admin_uri_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
      // A stopped server keeps the database; the fixture removes it all.
    }
  }
  PgTestDb(const PgTestDb&) = delete;
  PgTestDb& operator=(const PgTestDb&) = delete;

  // postgresql://dlrd@127.0.0.1:PORT/<this database>
  const std::string& uri() const { return uri_; }
  const std::string& name() const { return name_; }
  const std::string& state_dir() const { return state_; }

  // Runs `sql` on this database; returns psql's unaligned, tuples-only
  // output (rows by newline, columns by '|'), trailing newline removed.
  std::string Query(const std::string& sql) const { return Psql(uri_, sql); }

  // Runs tests/testutil/pg_server.sh `cmd` (e.g. "restart") on the server.
  void Server(const std::string& cmd) const {
    const char* script = std::getenv("DLRD_TEST_PG_SCRIPT");
    if (!script) throw std::runtime_error("DLRD_TEST_PG_SCRIPT is not set");
    const std::string line =
        std::string(script) + " " + cmd + " '" + state_ + "' >/dev/null";
    if (std::system(line.c_str()) != 0) {
      throw std::runtime_error("failed: " + line);
    }
  }

  static std::string Psql(const std::string& uri, const std::string& sql) {
    // The SQL goes through a temp file: no shell quoting of test input.
    char path[] = "/tmp/dlrd-psql-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp");
    close(fd);
    {
      std::ofstream f(path);
      f << sql;
    }
    const std::string cmd = "psql -X -q -At -v ON_ERROR_STOP=1 '" + uri +
                            "' -f " + path + " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen psql");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int rc = pclose(p);
    unlink(path);
    if (rc != 0) throw std::runtime_error("psql: " + sql + ": " + out);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

 private:
  std::string state_, admin_uri_, uri_, name_;
};

}  // namespace dlrd::testutil
