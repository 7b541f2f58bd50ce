-- Delivery that outlasts an outage (docs/operations.md, "Retries and holds"): the `retrying`
-- status, the attempt log, handlers held and released, and each handler's last success and failure.

-- `retrying` is a status of its own, so the table is rebuilt (SQLite cannot change a CHECK).
-- `next_attempt_at`: when the queue brings the event back (NULL while it waits for a held handler);
-- `retrying_since`: when it last became `retrying` (ALERT_RETRYING_MINUTES counts from it).
-- Rebuilding reads and writes every row once: on a log of millions of events apply it at a quiet
-- time (D1 stops a statement after 30 s; RETENTION_DAYS keeps the log far smaller).
CREATE TABLE events_next (
  id               TEXT PRIMARY KEY,
  type             TEXT NOT NULL,
  source_type      TEXT NOT NULL,
  source           TEXT NOT NULL CHECK (source IN ('webhook', 'poll')),
  work_order_id    TEXT,
  occurred_at      TEXT,
  received_at      TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'accepted'
                   CHECK (status IN ('accepted', 'retrying', 'processed', 'failed', 'dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  data             TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  data_field       TEXT,
  subject          TEXT,
  summary          TEXT,
  alerted          TEXT,
  routed_type      TEXT,
  expiry_notice_at TEXT,
  next_attempt_at  TEXT,
  retrying_since   TEXT
);
-- An accepted event that was tried and has an error was waiting for a retry: it is `retrying`
-- (when the queue brings it back is not known).
INSERT INTO events_next (rowid, id, type, source_type, source, work_order_id, occurred_at, received_at, status,
    attempts, last_error, data, updated_at, data_field, subject, summary, alerted, routed_type, expiry_notice_at,
    retrying_since)
  SELECT rowid, id, type, source_type, source, work_order_id, occurred_at, received_at,
    CASE WHEN status = 'accepted' AND attempts > 0 AND last_error IS NOT NULL THEN 'retrying' ELSE status END,
    attempts, last_error, data, updated_at, data_field, subject, summary, alerted, routed_type, expiry_notice_at,
    CASE WHEN status = 'accepted' AND attempts > 0 AND last_error IS NOT NULL THEN updated_at END
  FROM events;
DROP TABLE events;
ALTER TABLE events_next RENAME TO events;

-- The indexes of migrations 0005 to 0010, as they were.
CREATE INDEX events_by_received ON events (received_at);
CREATE INDEX events_by_status ON events (status, received_at);
CREATE INDEX events_by_type ON events (type, received_at);
CREATE INDEX events_by_source ON events (source, received_at DESC);
CREATE INDEX events_by_work_order ON events (work_order_id, received_at);
CREATE INDEX events_by_subject ON events (subject, received_at);
CREATE INDEX events_unalerted ON events (updated_at)
  WHERE status IN ('failed', 'dead') AND alerted IS NOT (status || ':' || attempts);
CREATE INDEX events_by_routed_type ON events (routed_type, received_at) WHERE routed_type IS NOT NULL;
CREATE INDEX events_by_status_type ON events (status, type, received_at);
CREATE INDEX events_by_status_routed_type ON events (status, routed_type, received_at)
  WHERE routed_type IS NOT NULL;
CREATE INDEX events_webhook_last ON events (source_type, received_at) WHERE source = 'webhook';
CREATE INDEX events_unfinished ON events (updated_at) WHERE status IN ('failed', 'dead');
-- The retrying events by when they became so, and only those (the ALERT_RETRYING_MINUTES sweep).
CREATE INDEX events_retrying ON events (retrying_since) WHERE status = 'retrying';

-- Every call of a handler for an event, and every turn it waited for a hold: `attempt` is the
-- event's attempt (events.attempts, one number per delivery), `outcome` one of ok, skipped, retry,
-- failed, held; `status` the sink's HTTP status when there was one; `error` a sentence with no
-- secret; `detail` what a handler that was done or skipped said. Keyed by the event, WITHOUT
-- ROWID: a row costs one write, no index entry besides. Deleted with their event (store/retention.ts).
CREATE TABLE handler_attempts (
  event_id     TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  handler      TEXT NOT NULL,
  at           TEXT NOT NULL,
  duration_ms  INTEGER NOT NULL,
  outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'skipped', 'retry', 'failed', 'held')),
  status       INTEGER,
  error        TEXT,
  detail       TEXT,
  PRIMARY KEY (event_id, attempt, handler)
) WITHOUT ROWID;

-- One row per handler that has run or been held: its hold, and when it last succeeded and failed
-- (written at most once a minute each, so a burst costs no write per event). `failing_since`: the
-- first failure of the current episode; a success after it ends the episode (`recovered_at`, with
-- the episode's start in `recovered_after`) and the scheduled run sends one "recovered" note for
-- it (`recovery_noted_at` = the `recovered_at` it was sent for).
CREATE TABLE handlers (
  name              TEXT PRIMARY KEY,
  held_since        TEXT,
  hold_reason       TEXT,
  last_success_at   TEXT,
  last_failure_at   TEXT,
  failing_since     TEXT,
  recovered_after   TEXT,
  recovered_at      TEXT,
  recovery_noted_at TEXT
);

-- The events waiting for a held handler: written when an event finds it held (its message is
-- acked, so a hold uses none of its retries), deleted when a release (or the scheduled run after
-- it) has queued the event again.
CREATE TABLE held_events (
  handler   TEXT NOT NULL,
  event_id  TEXT NOT NULL,
  since     TEXT NOT NULL,
  PRIMARY KEY (handler, event_id)
) WITHOUT ROWID;
CREATE INDEX held_events_of_event ON held_events (event_id);
