-- Real changes as rows with integer ids (ARCHITECTURE.md, "Once per real change"). A change is a
-- work order's creation or one of its endings; a claim of a handler that runs once per change
-- references the change's id, a claim of any other handler its event's id. Until this migration a
-- change's claims were keyed by text (`workorder:<id>:created`, `workorder:<id>:ending:<seq>`):
-- every such claim is carried over to the change it named.

-- Each real change of a work order. `kind` is `created`, or the status an ending ended in.
-- `webhook_ms` / `poll_ms` (endings): the time the one webhook that reported it gave
-- (occurredAt), and the completedAt (else updatedAt) the poller read; `poll_exact`: 1 when that
-- was a completedAt, 0 when only the last edit (unknown for endings carried over).
CREATE TABLE changes (
  id             INTEGER PRIMARY KEY,
  work_order_id  TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('created', 'DONE', 'CANCELED', 'SKIPPED')),
  webhook_ms     INTEGER,
  poll_ms        INTEGER,
  poll_exact     INTEGER,
  created_at     TEXT NOT NULL
);
-- A work order's changes. MaintainX creates a work order once: the first event that reports its
-- creation makes it, and every other finds it (store/changes.ts, in a transaction).
CREATE INDEX changes_by_work_order ON changes (work_order_id, kind);

-- Which change an event reports, and what it saw: an event reports at most one (a creation or an
-- ending), and always resolves to the same one. `source`, `at_ms` and `exact` are the observation
-- an ending was matched by (store/changes.ts); creations and rows carried over from before this
-- migration have none. `change_id` is set in the same transaction the row is written in.
CREATE TABLE event_changes (
  event_id      TEXT PRIMARY KEY,
  change_id     INTEGER REFERENCES changes (id),
  work_order_id TEXT NOT NULL,
  kind          TEXT NOT NULL,
  source        TEXT CHECK (source IN ('webhook', 'poll')),
  at_ms         INTEGER,
  exact         INTEGER
) WITHOUT ROWID;
CREATE INDEX event_changes_by_change ON event_changes (change_id);

-- The old text keys of the changes, for the carrying over only.
CREATE TABLE legacy_change_keys (claim_key TEXT PRIMARY KEY, change_id INTEGER NOT NULL);

-- Endings, numbered in each work order's order, so the latest ending keeps the largest id.
INSERT INTO changes (id, work_order_id, kind, webhook_ms, poll_ms, created_at)
  SELECT row_number() OVER (ORDER BY work_order_id, seq), work_order_id, status, webhook_ms, poll_ms, created_at
  FROM work_order_endings;
INSERT INTO legacy_change_keys (claim_key, change_id)
  SELECT 'workorder:' || work_order_id || ':ending:' || seq, row_number() OVER (ORDER BY work_order_id, seq)
  FROM work_order_endings;

-- Creations that have a claim: `workorder:<id>:created`. A claim whose key is its own first
-- event's id is an event's, whatever its id looks like (a seed delivery names its own).
INSERT INTO changes (work_order_id, kind, created_at)
  SELECT substr(event_id, 11, length(event_id) - 18), 'created', min(updated_at)
  FROM side_effects WHERE event_id GLOB 'workorder:?*:created' AND first_event_id IS NOT event_id
  GROUP BY event_id;
INSERT INTO legacy_change_keys (claim_key, change_id)
  SELECT 'workorder:' || work_order_id || ':created', id FROM changes WHERE kind = 'created';

-- Which ending each event was resolved to, and each logged creation event's creation.
INSERT INTO event_changes (event_id, change_id, work_order_id, kind)
  SELECT e.event_id, k.change_id, e.work_order_id, c.kind
  FROM event_endings e
  JOIN legacy_change_keys k ON k.claim_key = 'workorder:' || e.work_order_id || ':ending:' || e.seq
  JOIN changes c ON c.id = k.change_id;
INSERT OR IGNORE INTO event_changes (event_id, change_id, work_order_id, kind)
  SELECT e.id, c.id, e.work_order_id, 'created'
  FROM events e JOIN changes c ON c.work_order_id = e.work_order_id AND c.kind = 'created'
  WHERE e.type = 'workorder.created';

-- Claims: an event's by its id (`event_id`), a change's by the change's id (`change_id`).
CREATE TABLE side_effects_by_id (
  id             INTEGER PRIMARY KEY,
  event_id       TEXT,
  change_id      INTEGER REFERENCES changes (id),
  handler        TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('running', 'done', 'skipped', 'retry', 'failed')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  lease_until    INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,
  detail         TEXT,
  updated_at     TEXT NOT NULL,
  first_event_id TEXT,
  CHECK ((event_id IS NULL) <> (change_id IS NULL))
);
INSERT INTO side_effects_by_id
  (event_id, change_id, handler, status, attempts, lease_until, last_error, detail, updated_at, first_event_id)
  SELECT CASE WHEN k.change_id IS NULL THEN s.event_id END, k.change_id, s.handler, s.status, s.attempts,
         s.lease_until, s.last_error, s.detail, s.updated_at, s.first_event_id
  FROM side_effects s
  LEFT JOIN legacy_change_keys k ON k.claim_key = s.event_id AND s.first_event_id IS NOT s.event_id
  ORDER BY s.rowid;
DROP TABLE side_effects;
ALTER TABLE side_effects_by_id RENAME TO side_effects;
-- One claim per (event, handler) and per (change, handler). Partial: each row is in one index only
-- (D1 bills every index entry written as a row written).
CREATE UNIQUE INDEX side_effects_of_event ON side_effects (event_id, handler) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX side_effects_of_change ON side_effects (change_id, handler) WHERE change_id IS NOT NULL;
DROP TABLE legacy_change_keys;
DROP TABLE event_endings;
DROP TABLE work_order_endings;
