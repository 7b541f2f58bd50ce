-- Effects keyed by the real change rather than the delivery (ARCHITECTURE.md, "Once per real
-- change"). `side_effects.event_id` now holds a claim key: the event id for per-event handlers,
-- `workorder:<id>:created` for creation handlers, `workorder:<id>:ending:<seq>` for completion,
-- cancel and skip handlers.

-- Each time a work order was seen to end (DONE, CANCELED or SKIPPED), whichever path saw it.
-- `webhook_ms` is the occurredAt of the one webhook that reported it, `poll_ms` the completedAt
-- (else updatedAt) the poller read; `reopened_ms` the earliest later non-terminal status seen.
CREATE TABLE work_order_endings (
  work_order_id TEXT NOT NULL,
  seq           INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('DONE', 'CANCELED', 'SKIPPED')),
  webhook_ms    INTEGER,
  poll_ms       INTEGER,
  reopened_ms   INTEGER,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (work_order_id, seq)
);

-- Which ending an event was resolved to, so the same event always resolves to the same ending.
CREATE TABLE event_endings (
  event_id      TEXT PRIMARY KEY,
  work_order_id TEXT NOT NULL,
  seq           INTEGER NOT NULL
);
