-- The poller's last run, one row. Kept in D1 rather than KV: a run every minute would spend
-- 1,440 KV writes a day, more than the Workers Free plan's 1,000.
CREATE TABLE poll_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_run_at   TEXT NOT NULL,
  outcome       TEXT NOT NULL,
  pages         INTEGER NOT NULL,
  events        INTEGER NOT NULL,
  skipped_until TEXT,
  error         TEXT
);
