-- 0004: dedupe keys outlive their events. Schemes without a signed
-- timestamp (hmac, twilio, sinch numbers) can only refuse a replayed
-- callback through its dedupe key, so when retention deletes an event it
-- first moves the event's key here, in the same transaction; the ingest
-- writer treats a key found here as a duplicate. Kept for
-- retention.dedupe_days (store/sqlite_retention.h).
--
-- Invariant: every (source, dedupe_key) first seen less than dedupe_days
-- ago is in delivery_events or here. Keys of events still stored are not
-- copied, so this migration backfills nothing and runs in constant time.

-- key_hash: the first 16 bytes of SHA-256(source || 0x00 || dedupe_key)
-- (store/dedupe_key.h). first_seen_ms: the event's received_at_ms.
CREATE TABLE dedupe_keys (
  key_hash      BLOB    NOT NULL PRIMARY KEY,
  first_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedupe_keys_by_time ON dedupe_keys (first_seen_ms);
