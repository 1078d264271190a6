"""The log's table, its indexes, and the triggers that make it append-only."""

from __future__ import annotations

from events.store.base import STORED_FIELDS

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a commit returns only once the WAL is fsynced; append() promises durability.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA cache_size=-65536",
    "PRAGMA busy_timeout=5000",
)

DDL = """
CREATE TABLE IF NOT EXISTS events (
    position  INTEGER PRIMARY KEY,
    event_id  TEXT    NOT NULL,
    stream    TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL,
    schema    INTEGER NOT NULL,
    ts        INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    meta      BLOB    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_version ON events (stream, version);
-- INSERT OR REPLACE deletes the row it collides with without firing DELETE triggers.
CREATE TRIGGER IF NOT EXISTS events_refuse_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE position = NEW.position)
  OR EXISTS (SELECT 1 FROM events WHERE stream = NEW.stream AND version = NEW.version)
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: a written position or version is refused');
END;
CREATE TRIGGER IF NOT EXISTS events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is refused');
END;
CREATE TRIGGER IF NOT EXISTS events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE is refused');
END;
"""

COLUMNS = ", ".join(STORED_FIELDS)
"""The table's columns are the contract's stored fields, in their order (a test holds
the DDL above to them)."""

# A whole group commit is this one statement, so it is one transaction and the
# database thread takes the GIL back once per batch instead of once per row (with
# executemany, a busy event loop stretches each re-take to the 5 ms switch interval).
# ?1 first position, ?2 timestamp, ?3 JSON array of
# [event_id, stream, version, type, schema, data_offset, data_length, meta_offset,
# meta_length, hash], ?4 the data and meta bytes end to end. The WHERE refuses a batch
# whose first position does not follow the log: one built on a batch that failed.
INSERT_BATCH = f"""
INSERT INTO events ({COLUMNS})
SELECT ?1 + key, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, ?2,
       substr(?4, value ->> 5, value ->> 6), substr(?4, value ->> 7, value ->> 8), value ->> 9
FROM json_each(?3)
WHERE (SELECT coalesce(max(position), 0) FROM events) = ?1 - 1
"""
