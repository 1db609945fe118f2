-- 0001: the whole store in PostgreSQL, the same logical tables as the
-- SQLite schema (schema/0001..0006) in their final shape, plus the outbox
-- lease that lets several replicas share one queue of fallback sends.
-- Applied once, in a transaction, under pg_advisory_lock (src/postgres/
-- pg_schema.cc); dlrd_schema records the version.
--
-- Times are epoch milliseconds (BIGINT), as in SQLite, so every query and
-- every figure is the same on both backends. Booleans stay 0/1 integers
-- for the same reason.

CREATE TABLE raw_requests (
  id             BIGSERIAL PRIMARY KEY,
  source         TEXT   NOT NULL,
  received_at_ms BIGINT NOT NULL,
  target         TEXT   NOT NULL,
  head           BYTEA  NOT NULL,  -- request line + headers + CRLF, exact
  body           BYTEA  NOT NULL
);
CREATE INDEX raw_requests_by_time ON raw_requests (received_at_ms);

-- One row per normalized event; (source, dedupe_key) is the idempotency
-- key: a duplicate is refused by INSERT ... ON CONFLICT DO NOTHING, also
-- when two replicas store the same callback at once.
CREATE TABLE delivery_events (
  id              BIGSERIAL PRIMARY KEY,
  source          TEXT   NOT NULL,
  provider        TEXT   NOT NULL,
  dedupe_key      TEXT   NOT NULL,
  verification_id TEXT   NOT NULL,
  message_id      TEXT   NOT NULL DEFAULT '',
  channel         TEXT   NOT NULL,
  status          TEXT   NOT NULL,
  raw_status      TEXT   NOT NULL,
  error_code      TEXT   NOT NULL DEFAULT '',
  latency_ms      BIGINT,
  recipient       TEXT   NOT NULL DEFAULT '',
  country         TEXT   NOT NULL DEFAULT '',
  received_at_ms  BIGINT NOT NULL,
  raw_request_id  BIGINT NOT NULL REFERENCES raw_requests(id),
  UNIQUE (source, dedupe_key)
);
CREATE INDEX delivery_events_by_time ON delivery_events (received_at_ms);
CREATE INDEX delivery_events_by_raw ON delivery_events (raw_request_id);

-- Latest known state of each verification; status_rank only increases.
CREATE TABLE verifications (
  source            TEXT    NOT NULL,
  verification_id   TEXT    NOT NULL,
  provider          TEXT    NOT NULL,
  channel           TEXT    NOT NULL,
  status            TEXT    NOT NULL,
  status_rank       INTEGER NOT NULL,
  recipient         TEXT    NOT NULL DEFAULT '',
  country           TEXT    NOT NULL DEFAULT '',
  first_event_at_ms BIGINT  NOT NULL,
  updated_at_ms     BIGINT  NOT NULL,
  PRIMARY KEY (source, verification_id)
);
CREATE INDEX verifications_by_first_seen ON verifications (first_event_at_ms);

-- Dedupe keys of events retention deleted (key_hash: the first 16 bytes
-- of SHA-256(source || 0x00 || dedupe_key)).
CREATE TABLE dedupe_keys (
  key_hash      BYTEA  NOT NULL PRIMARY KEY,
  first_seen_ms BIGINT NOT NULL
);
CREATE INDEX dedupe_keys_by_time ON dedupe_keys (first_seen_ms);

-- Fallback chains.
CREATE TABLE fallback_roots (
  source         TEXT    NOT NULL,
  root_id        TEXT    NOT NULL,
  recipient      TEXT    NOT NULL,
  country        TEXT    NOT NULL DEFAULT '',
  fraud          INTEGER NOT NULL DEFAULT 0,
  invalid_number INTEGER NOT NULL DEFAULT 0,
  created_at_ms  BIGINT  NOT NULL,
  PRIMARY KEY (source, root_id)
);
CREATE INDEX fallback_roots_by_time ON fallback_roots (created_at_ms);

CREATE TABLE fallback_steps (
  source           TEXT    NOT NULL,
  root_id          TEXT    NOT NULL,
  step             INTEGER NOT NULL,
  channel          TEXT    NOT NULL,
  provider         TEXT    NOT NULL,
  verification_id  TEXT    NOT NULL DEFAULT '',
  status           TEXT    NOT NULL DEFAULT 'unknown',
  status_rank      INTEGER NOT NULL DEFAULT 0,
  sent_at_ms       BIGINT  NOT NULL DEFAULT 0,
  deadline_at_ms   BIGINT  NOT NULL DEFAULT 0,   -- 0: not sent yet
  deadline_checked INTEGER NOT NULL DEFAULT 0,
  send_time_known  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, root_id, step)
);
CREATE INDEX fallback_steps_by_provider_id
  ON fallback_steps (provider, verification_id);
CREATE INDEX fallback_steps_by_deadline
  ON fallback_steps (deadline_checked, deadline_at_ms);

-- The outbox. A replica claims due jobs with SELECT ... FOR UPDATE SKIP
-- LOCKED and marks them in_flight with its name (claimed_by) and a lease
-- (lease_until_ms); another replica takes an in_flight job over only after
-- its lease ran out, under the unknown-outcome rule (at most one re-send).
CREATE TABLE outbox (
  id                 BIGSERIAL PRIMARY KEY,
  source             TEXT    NOT NULL,
  root_id            TEXT    NOT NULL,
  step               INTEGER NOT NULL,
  provider           TEXT    NOT NULL,
  channel            TEXT    NOT NULL,
  recipient          TEXT    NOT NULL,
  state              TEXT    NOT NULL DEFAULT 'pending',
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms BIGINT  NOT NULL,
  last_error         TEXT    NOT NULL DEFAULT '',
  provider_ref       TEXT    NOT NULL DEFAULT '',
  idempotency_key    TEXT    NOT NULL,
  recovered          INTEGER NOT NULL DEFAULT 0,
  claimed_by         TEXT    NOT NULL DEFAULT '',
  lease_until_ms     BIGINT  NOT NULL DEFAULT 0,
  created_at_ms      BIGINT  NOT NULL,
  updated_at_ms      BIGINT  NOT NULL,
  UNIQUE (source, root_id, step)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
CREATE INDEX outbox_by_recipient ON outbox (recipient, created_at_ms);

CREATE TABLE opt_outs (
  recipient TEXT   NOT NULL PRIMARY KEY,
  source    TEXT   NOT NULL,
  reason    TEXT   NOT NULL,
  at_ms     BIGINT NOT NULL
);

CREATE TABLE fallback_decisions (
  id           BIGSERIAL PRIMARY KEY,
  source       TEXT    NOT NULL,
  root_id      TEXT    NOT NULL,
  step         INTEGER NOT NULL,
  trigger      TEXT    NOT NULL,   -- event | deadline | send_failed
  from_channel TEXT    NOT NULL,
  to_channel   TEXT    NOT NULL DEFAULT '',
  result       TEXT    NOT NULL,   -- escalate | skip | none
  reason       TEXT    NOT NULL DEFAULT '',
  wasted       INTEGER NOT NULL DEFAULT 0,
  at_ms        BIGINT  NOT NULL
);
CREATE INDEX fallback_decisions_by_root ON fallback_decisions (source, root_id);
CREATE INDEX fallback_decisions_by_time ON fallback_decisions (at_ms);

-- Analytics rollups, hourly and daily, upserted with INSERT ... ON
-- CONFLICT DO UPDATE SET n = n + excluded.n, which stays exact while
-- several replicas write the same row.
CREATE TABLE stats_hourly (
  hour_ms            BIGINT NOT NULL,
  source             TEXT   NOT NULL,
  provider           TEXT   NOT NULL,
  channel            TEXT   NOT NULL,
  country            TEXT   NOT NULL,
  callbacks          BIGINT NOT NULL DEFAULT 0,
  sent               BIGINT NOT NULL DEFAULT 0,
  delivered          BIGINT NOT NULL DEFAULT 0,
  failed             BIGINT NOT NULL DEFAULT 0,
  verified           BIGINT NOT NULL DEFAULT 0,
  fallback_triggered BIGINT NOT NULL DEFAULT 0,
  fallback_recovered BIGINT NOT NULL DEFAULT 0,
  fallback_wasted    BIGINT NOT NULL DEFAULT 0,
  signature_failures BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (hour_ms, source, provider, channel, country)
);

CREATE TABLE stats_latency (
  hour_ms  BIGINT  NOT NULL,
  source   TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  channel  TEXT    NOT NULL,
  country  TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  bucket   INTEGER NOT NULL,
  n        BIGINT  NOT NULL,
  PRIMARY KEY (hour_ms, source, provider, channel, country, kind, step, bucket)
);

CREATE TABLE stats_errors (
  hour_ms    BIGINT NOT NULL,
  source     TEXT   NOT NULL,
  provider   TEXT   NOT NULL,
  channel    TEXT   NOT NULL,
  country    TEXT   NOT NULL,
  error_code TEXT   NOT NULL,
  n          BIGINT NOT NULL,
  PRIMARY KEY (hour_ms, source, provider, channel, country, error_code)
);

CREATE TABLE stats_daily (
  day_ms             BIGINT NOT NULL,
  source             TEXT   NOT NULL,
  provider           TEXT   NOT NULL,
  channel            TEXT   NOT NULL,
  country            TEXT   NOT NULL,
  callbacks          BIGINT NOT NULL DEFAULT 0,
  sent               BIGINT NOT NULL DEFAULT 0,
  delivered          BIGINT NOT NULL DEFAULT 0,
  failed             BIGINT NOT NULL DEFAULT 0,
  verified           BIGINT NOT NULL DEFAULT 0,
  fallback_triggered BIGINT NOT NULL DEFAULT 0,
  fallback_recovered BIGINT NOT NULL DEFAULT 0,
  fallback_wasted    BIGINT NOT NULL DEFAULT 0,
  signature_failures BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day_ms, source, provider, channel, country)
);

CREATE TABLE stats_latency_daily (
  day_ms   BIGINT  NOT NULL,
  source   TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  channel  TEXT    NOT NULL,
  country  TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  bucket   INTEGER NOT NULL,
  n        BIGINT  NOT NULL,
  PRIMARY KEY (day_ms, source, provider, channel, country, kind, step, bucket)
);

CREATE TABLE stats_errors_daily (
  day_ms     BIGINT NOT NULL,
  source     TEXT   NOT NULL,
  provider   TEXT   NOT NULL,
  channel    TEXT   NOT NULL,
  country    TEXT   NOT NULL,
  error_code TEXT   NOT NULL,
  n          BIGINT NOT NULL,
  PRIMARY KEY (day_ms, source, provider, channel, country, error_code)
);

-- Requests refused for their signature, for `dlrd quarantine replay`.
CREATE TABLE quarantine (
  id             BIGSERIAL PRIMARY KEY,
  source         TEXT   NOT NULL,
  received_at_ms BIGINT NOT NULL,
  reason         TEXT   NOT NULL,
  head           BYTEA  NOT NULL,
  body           BYTEA  NOT NULL
);
CREATE INDEX quarantine_by_time ON quarantine (received_at_ms);

-- Running totals for the caps, kept by the triggers below. The writer
-- locks this one row (UPDATE ... RETURNING) before checking the caps, so
-- replicas adding at once cannot overshoot them together.
CREATE TABLE quarantine_totals (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  rows  BIGINT NOT NULL,
  bytes BIGINT NOT NULL
);
INSERT INTO quarantine_totals (id, rows, bytes) VALUES (1, 0, 0);

CREATE FUNCTION quarantine_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE quarantine_totals
       SET rows = rows + 1,
           bytes = bytes + length(NEW.head) + length(NEW.body)
     WHERE id = 1;
  ELSE
    UPDATE quarantine_totals
       SET rows = rows - 1,
           bytes = bytes - length(OLD.head) - length(OLD.body)
     WHERE id = 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER quarantine_added AFTER INSERT ON quarantine
  FOR EACH ROW EXECUTE FUNCTION quarantine_count();
CREATE TRIGGER quarantine_removed AFTER DELETE ON quarantine
  FOR EACH ROW EXECUTE FUNCTION quarantine_count();
