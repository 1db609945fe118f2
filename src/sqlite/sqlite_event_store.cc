#include "dlrd/sqlite/sqlite_event_store.h"

#include "dlrd/core/util/dedupe_key.h"
#include "sqlite/schema_files.h"
#include "sqlite/sqlite_batch_hooks.h"
#include "sqlite/sqlite_db.h"

namespace dlrd {
namespace {

constexpr const char* kInsertRaw =
    "INSERT INTO raw_requests(source, received_at_ms, target, head, body)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
// A STOP keeps its first reason; a START removes the opt-out.
constexpr const char* kOptOut =
    "INSERT OR IGNORE INTO opt_outs(recipient, source, reason, at_ms)"
    " VALUES (?1, ?2, ?3, ?4)";
// START lifts only an opt-out the recipient sent through the same
// provider; one recorded from a provider error (e.g. Twilio 21610) stays.
constexpr const char* kOptIn =
    "DELETE FROM opt_outs WHERE recipient = ?1 AND reason = ?2";
constexpr const char* kInsertEvent =
    "INSERT OR IGNORE INTO delivery_events(source, provider, dedupe_key,"
    " verification_id, message_id, channel, status, raw_status, error_code,"
    " latency_ms, recipient, country, received_at_ms, raw_request_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
// A key stored already, or whose event retention deleted since
// (schema/0004_dedupe_keys.sql).
constexpr const char* kKnownKey =
    "SELECT EXISTS (SELECT 1 FROM delivery_events"
    "  WHERE source = ?1 AND dedupe_key = ?2)"
    " OR EXISTS (SELECT 1 FROM dedupe_keys WHERE key_hash = ?3)";

StatusCode KindOf(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
      return StatusCode::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kBusy;
    case SQLITE_FULL:
      return StatusCode::kFull;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return StatusCode::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kCorrupt;
    case SQLITE_CONSTRAINT:
      return StatusCode::kConstraint;
    default:
      return StatusCode::kError;
  }
}

}  // namespace

int SqliteEventStore::LatestSchemaVersion() {
  const auto& files = SchemaFiles();
  return files.empty() ? 0 : files.back().version;
}

Result<std::unique_ptr<SqliteEventStore>> SqliteEventStore::Open(
    const std::string& path, const SqliteOptions& options) {
  // The writer role: WAL, synchronous=FULL, foreign keys (sqlite_db.cc).
  Result<SqliteDb> db = OpenSqlite(path, SqliteRole::kWriter,
                                   options.busy_timeout_ms, options.vfs);
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteEventStore> store(
      new SqliteEventStore(std::move(db).value(), options.quarantine));
  if (Status s = store->Prepare(); !s.ok()) return s;
  // Per-batch hooks, in this order (sqlite_batch_hooks.h).
  store->hooks_.push_back(std::make_unique<StatsHook>(&store->stats_));
  if (!options.fallback.empty()) {
    store->hooks_.push_back(
        std::make_unique<FallbackHook>(std::make_unique<FallbackSql>(
            store->db_.get(), options.fallback, &store->stats_)));
  }
  return store;
}

Status SqliteEventStore::Exec(const char* sql) {
  return SqliteExec(db_.get(), sql);
}

Status SqliteEventStore::Step(const SqliteStmt& stmt) {
  return SqliteStep(db_.get(), stmt.get());
}

StatusCode SqliteEventStore::LastErrorCode() const {
  return KindOf(sqlite3_extended_errcode(db_.get()));
}

Status SqliteEventStore::Prepare() {
  if (Status s = Migrate(); !s.ok()) return s;

  struct {
    const char* sql;
    SqliteStmt* out;
  } stmts[] = {{kInsertRaw, &insert_raw_},
               {kInsertEvent, &insert_event_},
               {kKnownKey, &known_key_},
               {kOptOut, &opt_out_},
               {kOptIn, &opt_in_},
               {"BEGIN IMMEDIATE", &begin_},
               {"COMMIT", &commit_},
               {"ROLLBACK", &rollback_},
               {"SAVEPOINT sub", &savepoint_},
               {"RELEASE sub", &release_},
               {"ROLLBACK TO sub", &rollback_to_}};
  for (auto& st : stmts) {
    sqlite3_stmt* p = nullptr;
    if (sqlite3_prepare_v3(db_.get(), st.sql, -1, SQLITE_PREPARE_PERSISTENT, &p,
                           nullptr) != SQLITE_OK) {
      return SqliteError(db_.get(), "prepare");
    }
    st.out->reset(p);
  }
  return Status::Ok();
}

Status SqliteEventStore::Migrate() {
  SqliteStmt version = SqlitePrepare(db_.get(), "PRAGMA user_version");
  if (!version || sqlite3_step(version.get()) != SQLITE_ROW) {
    return SqliteError(db_.get(), "user_version");
  }
  schema_version_ = sqlite3_column_int(version.get(), 0);
  version.reset();
  if (schema_version_ > LatestSchemaVersion()) {
    return Status::Error("database schema version " +
                         std::to_string(schema_version_) +
                         " is newer than this dlrd supports (" +
                         std::to_string(LatestSchemaVersion()) + ")");
  }
  for (const SchemaFile& f : SchemaFiles()) {
    if (f.version <= schema_version_) continue;
    std::string sql = "BEGIN IMMEDIATE;\n" + std::string(f.sql) +
                      "\nPRAGMA user_version=" + std::to_string(f.version) +
                      ";\nCOMMIT;";
    if (Status s = Exec(sql.c_str()); !s.ok()) {
      std::string msg = "migration " + std::string(f.name) + ": " + s.message();
      // Exec stops at the failing statement, leaving the BEGIN open.
      if (Status rb = Exec("ROLLBACK"); !rb.ok()) {
        msg += "; rollback: " + rb.message();
      }
      return Status::Error(msg);
    }
    schema_version_ = f.version;
  }
  return Status::Ok();
}

Result<bool> SqliteEventStore::KeyIsKnown(const DeliveryEvent& e) {
  sqlite3_stmt* s = known_key_.get();
  sqlite3_reset(s);
  const std::optional<std::string> hash = DedupeKeyHash(e.source, e.dedupe_key);
  if (!hash) return Status::Error("dedupe key hash failed");
  BindTextView(s, 1, e.source);
  BindTextView(s, 2, e.dedupe_key);
  BindBlobView(s, 3, *hash);
  const int rc = sqlite3_step(s);
  const bool known = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
  sqlite3_reset(s);
  if (rc != SQLITE_ROW) return SqliteError(db_.get(), "dedupe lookup");
  return known;
}

Status SqliteEventStore::WriteSubmission(const Submission& sub,
                                         SubmissionResult& out) {
  if (!sub.signature_failures.empty()) {
    for (const SignatureFailureCount& c : sub.signature_failures) {
      Status s =
          stats_.AddSignatureFailures(c.hour_ms, c.source, c.provider, c.count);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  if (!sub.quarantine.empty()) {
    for (const QuarantinedRequest& q : sub.quarantine) {
      Result<bool> stored = quarantine_.Add(q, quarantine_limits_);
      if (!stored.ok()) return stored.status();
      out.quarantined.push_back(stored.value());
    }
    return Status::Ok();
  }
  // Keys first: a request made only of duplicates writes nothing at all
  // (not even its raw request), with no savepoint to roll back.
  out.inserted.assign(sub.events.size(), false);
  std::vector<bool>& known = known_scratch_;
  known.assign(sub.events.size(), false);
  bool any_new = false;
  for (size_t i = 0; i < sub.events.size(); ++i) {
    Result<bool> k = KeyIsKnown(sub.events[i]);
    if (!k.ok()) return k.status();
    known[i] = k.value();
    any_new = any_new || !known[i];
  }
  if (!any_new && !sub.events.empty()) return Status::Ok();

  sqlite3_stmt* s = insert_raw_.get();
  sqlite3_reset(s);
  BindTextView(s, 1, sub.raw.source);
  sqlite3_bind_int64(s, 2, sub.raw.received_at_ms);
  BindTextView(s, 3, sub.raw.target);
  BindBlobView(s, 4, sub.raw.head);
  BindBlobView(s, 5, sub.raw.body);
  if (sqlite3_step(s) != SQLITE_DONE) return SqliteError(db_.get(), "insert raw request");
  const int64_t raw_id = sqlite3_last_insert_rowid(db_.get());

  for (const OptChange& c : sub.opt_changes) {
    s = c.opt_out ? opt_out_.get() : opt_in_.get();
    sqlite3_reset(s);
    BindTextView(s, 1, c.recipient);
    if (c.opt_out) {
      BindTextView(s, 2, sub.raw.source);
      BindTextView(s, 3, c.reason);
      sqlite3_bind_int64(s, 4, sub.raw.received_at_ms);
    } else {
      BindTextView(s, 2, c.lifts);
    }
    if (sqlite3_step(s) != SQLITE_DONE) return SqliteError(db_.get(), "opt change");
  }

  for (size_t i = 0; i < sub.events.size(); ++i) {
    const DeliveryEvent& e = sub.events[i];
    // Stored already, or a replay of an event retention deleted. (A key
    // repeated inside this request is caught by INSERT OR IGNORE below.)
    if (known[i]) continue;
    s = insert_event_.get();
    sqlite3_reset(s);
    BindTextView(s, 1, e.source);
    BindTextView(s, 2, e.provider);
    BindTextView(s, 3, e.dedupe_key);
    BindTextView(s, 4, e.verification_id);
    BindTextView(s, 5, e.message_id);
    BindTextView(s, 6, ToString(e.channel));
    BindTextView(s, 7, ToString(e.status));
    BindTextView(s, 8, e.raw_status);
    BindTextView(s, 9, e.error_code);
    BindInt64(s, 10, e.latency_ms);
    BindTextView(s, 11, e.recipient);
    BindTextView(s, 12, e.country);
    sqlite3_bind_int64(s, 13, e.received_at_ms);
    sqlite3_bind_int64(s, 14, raw_id);
    if (sqlite3_step(s) != SQLITE_DONE) return SqliteError(db_.get(), "insert event");
    if (sqlite3_changes(db_.get()) == 0) continue;  // duplicate
    out.inserted[i] = true;

    for (const auto& hook : hooks_) {
      if (Status hs = hook->OnEvent(e, sub.raw.received_at_ms, out);
          !hs.ok()) {
        return hs;
      }
    }
  }
  return Status::Ok();
}

BatchResult SqliteEventStore::CommitBatch(
    const std::vector<const Submission*>& batch) {
  try {
    std::optional<BatchResult> fast = CommitFast(batch);
    if (fast) return std::move(*fast);
    return CommitCareful(batch);
  } catch (...) {
    // A throw outside a submission (the rollup merge or flush allocates):
    // never leave the transaction open, or every later BEGIN would fail.
    // The writer's barrier answers the batch 503.
    // The error cannot be returned from here (the exception is); a
    // rollback that fails leaves the transaction open, and the next
    // Begin() rolls it back again before its BEGIN.
    if (!sqlite3_get_autocommit(db_.get())) (void)Step(rollback_);
    ForgetBatch();
    throw;
  }
}

BatchResult SqliteEventStore::Begin(size_t n) {
  BatchResult result;
  result.submissions.resize(n);
  ForgetBatch();
  // Belt and braces: a transaction left open by anything would make every
  // later BEGIN fail; roll it back so the store recovers by itself.
  if (!sqlite3_get_autocommit(db_.get())) {
    if (Status s = Step(rollback_); !s.ok()) {
      result.status = Status::Error(LastErrorCode(),
                                    "rollback before begin: " + s.message());
      return result;
    }
  }
  if (Status s = Step(begin_); !s.ok()) {
    result.status = Status::Error(LastErrorCode(), "begin: " + s.message());
  }
  return result;
}

BatchResult& SqliteEventStore::Commit(BatchResult& result) {
  // The hooks' last writes (the rollups, each row once), in the same
  // transaction.
  Status s = Status::Ok();
  for (const auto& hook : hooks_) {
    s = hook->OnBeforeCommit();
    if (!s.ok()) break;
  }
  if (s.ok()) {
    s = Step(commit_);
    if (!s.ok()) s = Status::Error("commit: " + s.message());
  }
  if (!s.ok()) Abort(result, LastErrorCode(), std::move(s));
  return result;
}

void SqliteEventStore::Abort(BatchResult& result, StatusCode code,
                             const Status& why) {
  std::string msg = why.message();
  if (Status rb = Rollback(); !rb.ok()) msg += "; " + rb.message();
  result.status = Status::Error(code, std::move(msg));
}

void SqliteEventStore::ForgetBatch() {
  for (const auto& hook : hooks_) hook->OnRollback();
}

Status SqliteEventStore::Rollback() {
  ForgetBatch();
  // SQLite rolls the transaction back by itself after some errors (a full
  // disk, an I/O error); a ROLLBACK then fails, harmlessly, and is skipped.
  if (sqlite3_get_autocommit(db_.get())) return Status::Ok();
  if (Status s = Step(rollback_); !s.ok()) {
    return Status::Error("rollback: " + s.message());
  }
  return Status::Ok();
}

std::optional<BatchResult> SqliteEventStore::CommitFast(
    const std::vector<const Submission*>& batch) {
  BatchResult result = Begin(batch.size());
  if (!result.status.ok()) return result;
  for (size_t i = 0; i < batch.size(); ++i) {
    SubmissionResult& out = result.submissions[i];
    bool threw = false;
    try {
      out.status = WriteSubmission(*batch[i], out);
    } catch (...) {
      threw = true;
    }
    if (threw || !out.status.ok()) {
      const StatusCode kind = LastErrorCode();
      if (!threw && kind != StatusCode::kConstraint &&
          kind != StatusCode::kError) {
        // The database itself is in trouble: nothing in this batch commits.
        Abort(result, kind, out.status);
        return result;
      }
      if (Status rb = Rollback(); !rb.ok()) {
        // Not retried with savepoints: the transaction may still be open.
        result.status = Status::Error(LastErrorCode(), rb.message());
        return result;
      }
      return std::nullopt;  // one bad submission: redo with savepoints
    }
  }
  return std::move(Commit(result));
}

BatchResult SqliteEventStore::CommitCareful(
    const std::vector<const Submission*>& batch) {
  BatchResult result = Begin(batch.size());
  if (!result.status.ok()) return result;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (Status sp = Step(savepoint_); !sp.ok()) {
      Abort(result, LastErrorCode(), Status::Error("savepoint: " + sp.message()));
      return result;
    }
    SubmissionResult& out = result.submissions[i];
    try {
      out.status = WriteSubmission(*batch[i], out);
    } catch (...) {
      // Never leave the transaction half-written: this submission is
      // rolled back to its savepoint below, like any failed one.
      out.status = Status::Error("internal error while writing");
      out.internal_error = true;
    }
    if (!out.status.ok() && !out.internal_error) {
      StatusCode kind = LastErrorCode();
      if (kind != StatusCode::kConstraint &&
          kind != StatusCode::kError) {
        // The database itself is in trouble: nothing in this batch commits.
        Abort(result, kind, out.status);
        return result;
      }
    }
    if (!out.status.ok()) {
      // A failed submission leaves nothing at all.
      if (Status rb = Step(rollback_to_); !rb.ok()) {
        // The failed submission could not be undone alone: nothing in
        // this batch commits.
        Abort(result, LastErrorCode(), Status::Error("rollback to savepoint: " + rb.message()));
        return result;
      }
      out.inserted.assign(out.inserted.size(), false);
      out.quarantined.assign(out.quarantined.size(), false);
    }
    for (const auto& hook : hooks_) hook->OnSubmissionEnd(out.status.ok(), out);
    if (Status rel = Step(release_); !rel.ok()) {
      Abort(result, LastErrorCode(), Status::Error("release: " + rel.message()));
      return result;
    }
  }
  return std::move(Commit(result));
}

}  // namespace dlrd
