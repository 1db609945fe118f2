-- Fallback engine: roots, their steps, the transactional outbox, opt-outs
-- and the decision log. Written by the ingest writer (event-triggered
-- decisions, in the same transaction as the event) and by the outbox
-- dispatcher (registrations, deadlines, sends), each with BEGIN IMMEDIATE.

-- One OTP the app sent. root_id is the provider's id of the first send
-- (the app registers it, or the first callback carries it).
CREATE TABLE fallback_roots (
  source          TEXT    NOT NULL,
  root_id         TEXT    NOT NULL,
  recipient       TEXT    NOT NULL,   -- E.164
  country         TEXT    NOT NULL DEFAULT '',
  fraud           INTEGER NOT NULL DEFAULT 0,
  invalid_number  INTEGER NOT NULL DEFAULT 0,
  created_at_ms   INTEGER NOT NULL,
  PRIMARY KEY (source, root_id)
) WITHOUT ROWID;

-- Step 0 is the app's own send; step k the k-th fallback. A step's
-- verification_id is the provider's id of that attempt ('' until the send
-- was accepted); callbacks find their step through it.
CREATE TABLE fallback_steps (
  source           TEXT    NOT NULL,
  root_id          TEXT    NOT NULL,
  step             INTEGER NOT NULL,
  channel          TEXT    NOT NULL,
  provider         TEXT    NOT NULL,
  verification_id  TEXT    NOT NULL DEFAULT '',
  status           TEXT    NOT NULL DEFAULT 'unknown',
  status_rank      INTEGER NOT NULL DEFAULT 0,
  sent_at_ms       INTEGER NOT NULL DEFAULT 0,
  deadline_at_ms   INTEGER NOT NULL DEFAULT 0,   -- 0: not sent yet
  deadline_checked INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, root_id, step)
) WITHOUT ROWID;
CREATE INDEX fallback_steps_by_provider_id
  ON fallback_steps (provider, verification_id);
CREATE INDEX fallback_steps_by_deadline
  ON fallback_steps (deadline_checked, deadline_at_ms);

-- The transactional outbox: one job per (root, step), so a decision taken
-- twice (a duplicate callback, a deadline racing a failure) sends once.
-- state: pending -> in_flight -> accepted | retry_wait | dead.
CREATE TABLE outbox (
  id                  INTEGER PRIMARY KEY,
  source              TEXT    NOT NULL,
  root_id             TEXT    NOT NULL,
  step                INTEGER NOT NULL,
  provider            TEXT    NOT NULL,
  channel             TEXT    NOT NULL,
  recipient           TEXT    NOT NULL,
  state               TEXT    NOT NULL DEFAULT 'pending',
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms  INTEGER NOT NULL,
  last_error          TEXT    NOT NULL DEFAULT '',
  provider_ref        TEXT    NOT NULL DEFAULT '',
  idempotency_key     TEXT    NOT NULL,
  recovered           INTEGER NOT NULL DEFAULT 0,  -- re-sent after a crash
  created_at_ms       INTEGER NOT NULL,
  updated_at_ms       INTEGER NOT NULL,
  UNIQUE (source, root_id, step)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
CREATE INDEX outbox_by_recipient ON outbox (recipient, created_at_ms);

-- Numbers that asked not to be contacted (STOP, or a provider's
-- "unsubscribed" error): never sent a fallback again.
CREATE TABLE opt_outs (
  recipient  TEXT    NOT NULL PRIMARY KEY,
  source     TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  at_ms      INTEGER NOT NULL
) WITHOUT ROWID;

-- Every decision, for the chain view and analytics (wasted fallbacks).
CREATE TABLE fallback_decisions (
  id            INTEGER PRIMARY KEY,
  source        TEXT    NOT NULL,
  root_id       TEXT    NOT NULL,
  step          INTEGER NOT NULL,
  trigger       TEXT    NOT NULL,   -- event | deadline | send_failed
  from_channel  TEXT    NOT NULL,
  to_channel    TEXT    NOT NULL DEFAULT '',
  result        TEXT    NOT NULL,   -- escalate | skip | none
  reason        TEXT    NOT NULL DEFAULT '',
  wasted        INTEGER NOT NULL DEFAULT 0,
  at_ms         INTEGER NOT NULL
);
CREATE INDEX fallback_decisions_by_root
  ON fallback_decisions (source, root_id);
