-- The per-subscription silence alert (docs/operations.md, "Silence"): which MaintainX webhook
-- type went quiet while the others kept arriving.

-- The last webhook of one type, read as one seek per type however large the log grows
-- (src/store/alerts.ts, LAST_WEBHOOK_OF_TYPES). Partial: only webhook rows are indexed, so the
-- poller's rows (most of the log) cost it nothing. Building it reads every row once: on a log of
-- millions of events apply it at a quiet time (D1 stops a statement after 30 s).
CREATE INDEX events_webhook_last ON events (source_type, received_at) WHERE source = 'webhook';

-- One row per MaintainX type whose silence was alerted and has not ended: `silent_since` is the
-- type's last webhook time the alert was sent for (each silence of a type is alerted once). The
-- row is deleted by the run that says the type's webhooks arrive again.
CREATE TABLE webhook_type_silences (
  source_type   TEXT PRIMARY KEY,
  silent_since  TEXT NOT NULL
);

-- The newest webhook's time when the last silence of every webhook ended (the `webhooks_resumed`
-- note): a type is silent only after that, so a type that stopped with all the others is not
-- alerted again on its own the moment the others come back.
ALTER TABLE alert_state ADD COLUMN silence_ended_at TEXT;
