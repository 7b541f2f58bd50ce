-- Operator alerts (README, "Observability"). `alerted` is `<status>:<attempts>` of the event's
-- last alert: an event is alerted once per status it ends in, and again when a replay (another
-- attempt) ends it so again.
ALTER TABLE events ADD COLUMN alerted TEXT;
-- Events that ended failed or dead before alerts existed are not alerted when this is applied.
UPDATE events SET alerted = status || ':' || attempts WHERE status IN ('failed', 'dead');
-- The events still to alert, and only those (src/store/alerts.ts, UNALERTED): each run's
-- query reads this small index instead of every failed and dead event kept.
CREATE INDEX events_unalerted ON events (updated_at)
  WHERE status IN ('failed', 'dead') AND alerted IS NOT (status || ':' || attempts);

-- One row at most: `silence_for`, the last webhook's time a silence alert was sent for (each
-- silence is alerted once); `ended_sent_ms`, when the last alert of failed or dead events went,
-- so that a burst of failures becomes a digest every few seconds, not a message each.
CREATE TABLE alert_state (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  silence_for    TEXT,
  ended_sent_ms  INTEGER NOT NULL DEFAULT 0
);
