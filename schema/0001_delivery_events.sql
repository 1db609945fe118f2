-- 0001: accepted callbacks, their raw requests, and per-verification state.
-- Applied once, in a transaction; PRAGMA user_version records it.

-- The raw request of every accepted callback, for re-verification and
-- replay: head || body is the request as received, which `dlrd verify
-- --request` reads. Only stored when at least one of its events was new.
CREATE TABLE raw_requests (
  id             INTEGER PRIMARY KEY,
  source         TEXT    NOT NULL,
  received_at_ms INTEGER NOT NULL,
  target         TEXT    NOT NULL,
  head           BLOB    NOT NULL,  -- request line + headers + CRLF, exact
  body           BLOB    NOT NULL
);

-- One row per normalized event; (source, dedupe_key) is the idempotency key.
CREATE TABLE delivery_events (
  id              INTEGER PRIMARY KEY,
  source          TEXT    NOT NULL,
  provider        TEXT    NOT NULL,
  dedupe_key      TEXT    NOT NULL,
  verification_id TEXT    NOT NULL,
  message_id      TEXT    NOT NULL DEFAULT '',
  channel         TEXT    NOT NULL,
  status          TEXT    NOT NULL,
  raw_status      TEXT    NOT NULL,
  error_code      TEXT    NOT NULL DEFAULT '',
  latency_ms      INTEGER,
  recipient       TEXT    NOT NULL DEFAULT '',
  country         TEXT    NOT NULL DEFAULT '',
  received_at_ms  INTEGER NOT NULL,
  raw_request_id  INTEGER NOT NULL REFERENCES raw_requests(id),
  UNIQUE (source, dedupe_key)
);
CREATE INDEX delivery_events_by_time ON delivery_events(received_at_ms);

-- Latest known state of each verification. status_rank only increases
-- (see include/dlrd/core/model/delivery.h for the order).
CREATE TABLE verifications (
  source            TEXT    NOT NULL,
  verification_id   TEXT    NOT NULL,
  provider          TEXT    NOT NULL,
  channel           TEXT    NOT NULL,
  status            TEXT    NOT NULL,
  status_rank       INTEGER NOT NULL,
  recipient         TEXT    NOT NULL DEFAULT '',
  country           TEXT    NOT NULL DEFAULT '',
  first_event_at_ms INTEGER NOT NULL,
  updated_at_ms     INTEGER NOT NULL,
  PRIMARY KEY (source, verification_id)
) WITHOUT ROWID;
