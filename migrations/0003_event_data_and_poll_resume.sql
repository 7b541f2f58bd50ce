-- Large event data is kept in the row as the raw body it came as (never larger than
-- MAX_BODY_BYTES, so within D1's 2 MB row limit) rather than re-serialised, which can be several
-- times larger; `data_field` names the member that is the data when `data` is a whole seed envelope.
ALTER TABLE events ADD COLUMN data_field TEXT;

-- Where a polling query that stopped at POLL_MAX_PAGES (or on the rate-limit budget) goes on:
-- the query's `updatedAt[gte]` and MaintainX's `nextCursor` for its next page, and the newest
-- `updatedAt` it has queued so far. One row at most; gone once the query reaches its end.
CREATE TABLE poll_resume (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  since       TEXT NOT NULL,
  page_cursor TEXT NOT NULL,
  newest      TEXT,
  saved_at    TEXT NOT NULL
);
