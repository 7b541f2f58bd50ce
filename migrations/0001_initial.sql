-- Event log: one row per canonical event id, whatever its source.
CREATE TABLE events (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  source_type   TEXT NOT NULL,
  source        TEXT NOT NULL CHECK (source IN ('webhook', 'poll')),
  work_order_id TEXT,
  occurred_at   TEXT,
  received_at   TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'processed', 'failed', 'dead')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT,
  -- The canonical event's data as JSON (bodies up to MAX_BODY_BYTES fit D1's 2 MB row limit).
  data          TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX events_by_received ON events (received_at DESC);
CREATE INDEX events_by_status ON events (status, received_at DESC);
CREATE INDEX events_by_type ON events (type, received_at DESC);
CREATE INDEX events_by_source ON events (source, received_at DESC);

-- Side-effect claims and per-handler outcomes: one row per (event, handler).
-- A row in 'running' whose lease has not expired blocks every other consumer of the same event.
CREATE TABLE side_effects (
  event_id      TEXT NOT NULL,
  handler       TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'skipped', 'retry', 'failed')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  lease_until   INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT,
  detail        TEXT,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (event_id, handler)
);

-- The work-order mirror ("warehouse"). version_ms orders writes: the work order's updatedAt,
-- else the event's occurredAt; an older version never overwrites a newer one.
CREATE TABLE work_orders (
  id            TEXT PRIMARY KEY,
  title         TEXT,
  status        TEXT,
  priority      TEXT,
  updated_at    TEXT,
  version_ms    INTEGER NOT NULL,
  deleted       INTEGER NOT NULL DEFAULT 0,
  deleted_at    TEXT,
  data          TEXT NOT NULL DEFAULT '{}',
  last_event_id TEXT,
  synced_at     TEXT NOT NULL
);
CREATE INDEX work_orders_by_updated ON work_orders (version_ms DESC);

-- Messages that exhausted their retries, with everything needed to replay them.
CREATE TABLE dead_letters (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id      TEXT NOT NULL,
  message       TEXT NOT NULL,
  attempts      INTEGER NOT NULL,
  dead_at       TEXT NOT NULL
);
CREATE INDEX dead_letters_by_event ON dead_letters (event_id);

-- Non-overlapping runs (poller): a named lease.
CREATE TABLE locks (
  name          TEXT PRIMARY KEY,
  holder        TEXT NOT NULL,
  until_ms      INTEGER NOT NULL
);
