//! The database file: connection settings and the schema, versioned with `PRAGMA user_version`
//! so a later gateway can migrate a file an earlier one wrote.
//!
//! Units: `ts_ms` is the request's arrival in Unix milliseconds (UTC); durations are integer
//! microseconds (`*_us`), because the gateway's own overhead is often well under a millisecond;
//! token counts are integers, zero when the answer carried no usage (`has_usage = 0`).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// The page size of a new ledger file.
pub const PAGE_SIZE: i64 = 16 * 1024;

/// The schema this gateway writes. Bump it with a step in [`migrate`].
pub const VERSION: i64 = 1;

const V1: &str = "
CREATE TABLE requests (
    id                  INTEGER PRIMARY KEY,
    ts_ms               INTEGER NOT NULL,
    request_id          TEXT    NOT NULL,
    upstream_request_id TEXT,
    key_id              TEXT,
    model               TEXT    NOT NULL,
    deployment          TEXT,
    upstream            TEXT,
    operation           TEXT    NOT NULL,
    status              INTEGER NOT NULL,
    error_class         TEXT    NOT NULL,
    error_code          TEXT,
    stream              INTEGER NOT NULL,
    cancelled           INTEGER NOT NULL,
    content_filtered    INTEGER NOT NULL,
    has_usage           INTEGER NOT NULL,
    prompt_tokens       INTEGER NOT NULL,
    completion_tokens   INTEGER NOT NULL,
    total_tokens        INTEGER NOT NULL,
    cached_tokens       INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    latency_us          INTEGER NOT NULL,
    ttft_us             INTEGER,
    upstream_latency_us INTEGER,
    overhead_us         INTEGER
);
-- Every query is bounded by time, and retention deletes by time. No index on request_id:
-- random keys made each batch dirty pages across the whole index (bench/RESULTS.md), and a
-- lookup by id is a rare admin query that scans its time range.
CREATE INDEX requests_ts ON requests (ts_ms);
";

/// Applies the settings every connection needs.
fn configure(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy)?;
    // NORMAL in WAL mode syncs at checkpoints, not at every commit: a power loss can lose
    // the last moments of rows, never corrupt the file.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// The writer's connection: creates the file and brings the schema up to [`VERSION`].
pub fn open_writer(path: &Path, busy: Duration) -> Result<Connection, String> {
    let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = Connection::open(path).map_err(fail)?;
    // 16 KiB pages for a new file (an existing one keeps its size): the ledger only appends,
    // and each WAL frame and checkpoint write is one system call per page: under load the
    // writer made a fifth as many file I/O calls for the same rows (bench/RESULTS.md).
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(fail)?;
    // WAL: readers (the admin API) never block the writer, nor the writer them.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some file systems (network shares) refuse WAL; the ledger still works, with
        // reads and writes taking turns.
        tracing::warn!(path = %path.display(), mode, "usage ledger: WAL is not available here");
    }
    configure(&conn, busy).map_err(fail)?;
    // Bounds the WAL file after each checkpoint (it would otherwise keep its peak size).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(fail)?;
    migrate(&conn).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(conn)
}

/// A read-only connection for queries, beside the writer.
pub fn open_reader(path: &Path, busy: Duration) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    conn.busy_timeout(busy).map_err(fail)?;
    Ok(conn)
}

/// Creates the tables in a new file; refuses a file from a newer gateway rather than writing
/// rows it might misread.
fn migrate(conn: &Connection) -> Result<(), String> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| e.to_string())?;
    match version {
        0 => conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {V1} PRAGMA user_version = {VERSION}; COMMIT;"
            ))
            .map_err(|e| format!("creating the schema: {e}")),
        VERSION => Ok(()),
        v => Err(format!(
            "schema version {v} was written by a newer gateway (this one knows {VERSION})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_schema_and_wal_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let conn = open_writer(&path, Duration::from_secs(1)).unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
        let page: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap();
        assert_eq!(page, PAGE_SIZE);
        // Opening again keeps the file as it is.
        drop(conn);
        let conn = open_writer(&path, Duration::from_secs(1)).unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        drop(conn);
        let err = open_writer(&path, Duration::from_secs(1)).unwrap_err();
        assert!(err.contains("newer gateway"), "{err}");
    }
}
