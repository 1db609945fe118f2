-- 0003: hourly rollups for delivery analytics (`GET /v1/stats`,
-- `dlrd stats`). The writers keep them in the same transaction as the
-- rows they summarise (store/sqlite_stats.h); this migration fills them
-- from the rows already stored. Recovered fallbacks and derived latency
-- are counted from this version on (older rows do not say when a step was
-- delivered).

-- Per hour and group. callbacks, latency and errors are by the hour an
-- event was received; sent/delivered/failed/verified by the hour the
-- verification was first seen (verifications.first_event_at_ms), in the
-- group the verifications row holds now.
CREATE TABLE stats_hourly (
  hour_ms            INTEGER NOT NULL,
  source             TEXT    NOT NULL,
  provider           TEXT    NOT NULL,
  channel            TEXT    NOT NULL,
  country            TEXT    NOT NULL,
  callbacks          INTEGER NOT NULL DEFAULT 0,
  sent               INTEGER NOT NULL DEFAULT 0,
  delivered          INTEGER NOT NULL DEFAULT 0,
  failed             INTEGER NOT NULL DEFAULT 0,
  verified           INTEGER NOT NULL DEFAULT 0,
  fallback_triggered INTEGER NOT NULL DEFAULT 0,
  fallback_recovered INTEGER NOT NULL DEFAULT 0,
  fallback_wasted    INTEGER NOT NULL DEFAULT 0,
  -- Callbacks refused for their signature (channel and country '').
  signature_failures INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour_ms, source, provider, channel, country)
) WITHOUT ROWID;

-- Latency histograms (buckets: include/dlrd/core/stats/stats.h). kind
-- 'provider' is provider-reported (step -1); 'derived' is dlrd's send
-- time to the first delivered callback, by fallback step.
CREATE TABLE stats_latency (
  hour_ms  INTEGER NOT NULL,
  source   TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  channel  TEXT    NOT NULL,
  country  TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  bucket   INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, source, provider, channel, country, kind, step, bucket)
) WITHOUT ROWID;

-- Provider error codes carried by events.
CREATE TABLE stats_errors (
  hour_ms    INTEGER NOT NULL,
  source     TEXT    NOT NULL,
  provider   TEXT    NOT NULL,
  channel    TEXT    NOT NULL,
  country    TEXT    NOT NULL,
  error_code TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, source, provider, channel, country, error_code)
) WITHOUT ROWID;

-- Whether sent_at_ms is dlrd's own knowledge of the send (a registration
-- or an accepted fallback send), not the first callback's arrival.
ALTER TABLE fallback_steps ADD COLUMN send_time_known INTEGER NOT NULL
  DEFAULT 0;
UPDATE fallback_steps SET send_time_known = 1
  WHERE step > 0 AND sent_at_ms > 0;

-- Retention prunes by time (store/sqlite_retention.h).
CREATE INDEX raw_requests_by_time ON raw_requests (received_at_ms);
CREATE INDEX verifications_by_first_seen ON verifications (first_event_at_ms);
CREATE INDEX fallback_decisions_by_time ON fallback_decisions (at_ms);
CREATE INDEX fallback_roots_by_time ON fallback_roots (created_at_ms);

-- Backfill. Each INSERT adds to the rows the previous ones created.
INSERT INTO stats_hourly (hour_ms, source, provider, channel, country,
                          callbacks)
  SELECT received_at_ms - received_at_ms % 3600000, source, provider,
         channel, country, COUNT(*)
  FROM delivery_events
  GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_hourly (hour_ms, source, provider, channel, country, sent,
                          delivered, failed, verified)
  SELECT first_event_at_ms - first_event_at_ms % 3600000, source, provider,
         channel, country, COUNT(*),
         SUM(status_rank >= 4), SUM(status_rank = 3), SUM(status_rank = 6)
  FROM verifications
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT DO UPDATE SET
    sent = sent + excluded.sent,
    delivered = delivered + excluded.delivered,
    failed = failed + excluded.failed,
    verified = verified + excluded.verified;

INSERT INTO stats_hourly (hour_ms, source, provider, channel, country,
                          fallback_triggered, fallback_wasted)
  SELECT d.at_ms - d.at_ms % 3600000, d.source,
         COALESCE(s.provider, ''), d.from_channel, COALESCE(r.country, ''),
         SUM(d.result = 'escalate'), SUM(d.wasted)
  FROM fallback_decisions d
  LEFT JOIN fallback_roots r ON r.source = d.source AND r.root_id = d.root_id
  LEFT JOIN fallback_steps s
    ON s.source = d.source AND s.root_id = d.root_id AND s.step = d.step
  WHERE d.result = 'escalate' OR d.wasted = 1
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT DO UPDATE SET
    fallback_triggered = fallback_triggered + excluded.fallback_triggered,
    fallback_wasted = fallback_wasted + excluded.fallback_wasted;

INSERT INTO stats_latency (hour_ms, source, provider, channel, country, kind,
                           step, bucket, n)
  SELECT received_at_ms - received_at_ms % 3600000, source, provider,
         channel, country, 'provider', -1,
      CASE
      WHEN latency_ms <= 250 THEN 0
      WHEN latency_ms <= 500 THEN 1
      WHEN latency_ms <= 1000 THEN 2
      WHEN latency_ms <= 2000 THEN 3
      WHEN latency_ms <= 3000 THEN 4
      WHEN latency_ms <= 5000 THEN 5
      WHEN latency_ms <= 7500 THEN 6
      WHEN latency_ms <= 10000 THEN 7
      WHEN latency_ms <= 15000 THEN 8
      WHEN latency_ms <= 20000 THEN 9
      WHEN latency_ms <= 30000 THEN 10
      WHEN latency_ms <= 45000 THEN 11
      WHEN latency_ms <= 60000 THEN 12
      WHEN latency_ms <= 120000 THEN 13
      WHEN latency_ms <= 300000 THEN 14
      WHEN latency_ms <= 600000 THEN 15
      WHEN latency_ms <= 1800000 THEN 16
      WHEN latency_ms <= 3600000 THEN 17
      ELSE 18 END,
      COUNT(*)
  FROM delivery_events
  WHERE latency_ms IS NOT NULL AND status = 'delivered'
  GROUP BY 1, 2, 3, 4, 5, 8;

INSERT INTO stats_errors (hour_ms, source, provider, channel, country,
                          error_code, n)
  SELECT received_at_ms - received_at_ms % 3600000, source, provider,
         channel, country, error_code, COUNT(*)
  FROM delivery_events
  WHERE error_code != ''
  GROUP BY 1, 2, 3, 4, 5, 6;
