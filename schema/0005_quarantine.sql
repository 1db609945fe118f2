-- 0005: quarantine of callbacks refused for their signature.
--
-- A request that failed signature verification but was otherwise
-- well-formed (known source, POST, accepted Content-Type, within the size
-- limits) is kept here, so that callbacks lost to a rotated or mistyped
-- secret can be re-verified and ingested later (`dlrd quarantine replay`).
-- Nothing here is an event: the daemon writes rows and never reads them.
--
-- head: request line + headers as received, with the credentials the
-- source's scheme does not read redacted (core/redact.h); body: byte-exact.
-- reason: the signature reject reason (signature_verifier.h ToString).
CREATE TABLE quarantine (
  id             INTEGER PRIMARY KEY,
  source         TEXT    NOT NULL,
  received_at_ms INTEGER NOT NULL,
  reason         TEXT    NOT NULL,
  head           BLOB    NOT NULL,
  body           BLOB    NOT NULL
);
CREATE INDEX quarantine_by_time ON quarantine (received_at_ms);

-- Running totals, kept by the triggers below on every connection (the
-- writer, the retention worker and the CLI), so the writer checks the caps
-- (quarantine.max_rows, quarantine.max_bytes) in constant time.
-- bytes = SUM(length(head) + length(body)).
CREATE TABLE quarantine_totals (
  id    INTEGER PRIMARY KEY CHECK (id = 1),
  rows  INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
INSERT INTO quarantine_totals(id, rows, bytes) VALUES (1, 0, 0);
CREATE TRIGGER quarantine_added AFTER INSERT ON quarantine BEGIN
  UPDATE quarantine_totals
     SET rows = rows + 1, bytes = bytes + length(NEW.head) + length(NEW.body)
   WHERE id = 1;
END;
CREATE TRIGGER quarantine_removed AFTER DELETE ON quarantine BEGIN
  UPDATE quarantine_totals
     SET rows = rows - 1, bytes = bytes - length(OLD.head) - length(OLD.body)
   WHERE id = 1;
END;
