-- 0006: daily rollups next to the hourly ones (schema/0003_stats.sql), so
-- a long stats window reads one row per day and group instead of 24.
-- Each table has the columns and primary key of its hourly twin, with
-- day_ms (the start of the UTC day, ms) in place of hour_ms.
--
-- Invariant: each daily table equals its hourly twin summed by UTC day
-- (GROUP BY the day, hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000,
-- which rounds down for times before 1970 too, and the other key columns). The
-- writers add to both in the same transaction (store/sqlite_stats.h), and
-- retention takes what it deletes from an hourly table out of the daily
-- one (store/sqlite_retention.h). A query reads the whole days of its
-- window from here and the hours at either end from the hourly tables
-- (store/sqlite_stats_reader.h).
--
-- The backfill below reads only the hourly rollups, never the events, so
-- it takes seconds even on a large database.

CREATE TABLE stats_daily (
  day_ms             INTEGER NOT NULL,
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
  signature_failures INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day_ms, source, provider, channel, country)
) WITHOUT ROWID;

CREATE TABLE stats_latency_daily (
  day_ms   INTEGER NOT NULL,
  source   TEXT    NOT NULL,
  provider TEXT    NOT NULL,
  channel  TEXT    NOT NULL,
  country  TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  step     INTEGER NOT NULL,
  bucket   INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (day_ms, source, provider, channel, country, kind, step, bucket)
) WITHOUT ROWID;

CREATE TABLE stats_errors_daily (
  day_ms     INTEGER NOT NULL,
  source     TEXT    NOT NULL,
  provider   TEXT    NOT NULL,
  channel    TEXT    NOT NULL,
  country    TEXT    NOT NULL,
  error_code TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (day_ms, source, provider, channel, country, error_code)
) WITHOUT ROWID;

-- Backfill: the hourly rows summed by day.
INSERT INTO stats_daily (day_ms, source, provider, channel, country,
                         callbacks, sent, delivered, failed, verified,
                         fallback_triggered, fallback_recovered,
                         fallback_wasted, signature_failures)
  SELECT hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, source, provider, channel, country,
         SUM(callbacks), SUM(sent), SUM(delivered), SUM(failed),
         SUM(verified), SUM(fallback_triggered), SUM(fallback_recovered),
         SUM(fallback_wasted), SUM(signature_failures)
  FROM stats_hourly
  GROUP BY 1, 2, 3, 4, 5;

INSERT INTO stats_latency_daily (day_ms, source, provider, channel, country,
                                 kind, step, bucket, n)
  SELECT hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, source, provider, channel, country,
         kind, step, bucket, SUM(n)
  FROM stats_latency
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

INSERT INTO stats_errors_daily (day_ms, source, provider, channel, country,
                                error_code, n)
  SELECT hour_ms - ((hour_ms % 86400000) + 86400000) % 86400000, source, provider, channel, country,
         error_code, SUM(n)
  FROM stats_errors
  GROUP BY 1, 2, 3, 4, 5, 6;
