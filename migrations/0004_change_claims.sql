-- Effects keyed by the real change rather than the delivery (ARCHITECTURE.md, "Once per real
-- change"). `side_effects.event_id` now holds a claim key: the event id for per-event handlers,
-- `workorder:<id>:created` for creation handlers, `workorder:<id>:ending:<seq>` for completion,
-- cancel and skip handlers.

-- Each time a work order was seen to end (DONE, CANCELED or SKIPPED), whichever path saw it.
-- `webhook_ms` is the occurredAt of the one webhook that reported it, `poll_ms` the completedAt
-- (else updatedAt) the poller read.
CREATE TABLE work_order_endings (
  work_order_id TEXT NOT NULL,
  seq           INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('DONE', 'CANCELED', 'SKIPPED')),
  webhook_ms    INTEGER,
  poll_ms       INTEGER,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (work_order_id, seq)
);

-- Each time a work order was seen open again (a non-terminal status), whatever order the events
-- that showed it were processed in: a reopen between two observations makes them two endings.
CREATE TABLE work_order_reopens (
  work_order_id TEXT NOT NULL,
  at_ms         INTEGER NOT NULL,
  PRIMARY KEY (work_order_id, at_ms)
);

-- Which ending an event was resolved to, so the same event always resolves to the same ending.
CREATE TABLE event_endings (
  event_id      TEXT PRIMARY KEY,
  work_order_id TEXT NOT NULL,
  seq           INTEGER NOT NULL
);

-- The event that first claimed a side effect: the id the effect goes out under (the ERP's
-- Idempotency-Key) on every attempt, whichever path's event makes it.
ALTER TABLE side_effects ADD COLUMN first_event_id TEXT;
