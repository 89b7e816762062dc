//! Batched inserts: multi-row chunks write exactly what one insert per row writes, and what
//! each costs per row (on demand).

use rusqlite::types::Value;

use std::ops::Range;

use super::*;
use crate::telemetry::ledger::batch::{self, CHUNK};
use crate::telemetry::ledger::rows::Rows;
use crate::telemetry::ledger::{row, schema};

/// `n` records shaped like traffic: arriving in time order, distinct ids, varied tokens and
/// timings; one in ten refused (no key, deployment or usage: NULLs), one in seven an upstream
/// error without a first token. The mix lands NULLs at every position of a chunk.
fn traffic(n: usize, t0: i64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let t = at_ms(t0 + i64::try_from(i / 3).unwrap());
            let k = i as u64;
            let id = format!("gw-{:016x}", k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if i % 10 == 9 {
                return refused(&id, t);
            }
            let mut r = full(&id, t);
            r.usage = Some(Usage {
                prompt: 200 + k % 3000,
                completion: 50 + k % 700,
                total: 250 + k % 3000 + k % 700,
                cached: (k % 4) * 256,
                reasoning: k % 3,
            });
            r.latency = Duration::from_micros(150_000 + k % 2_000_000);
            r.overhead = Some(Duration::from_micros(200 + k % 400));
            if i % 7 == 3 {
                r.status = 429;
                r.error_class = ErrorClass::Upstream;
                r.error_code = Some(Cow::Borrowed("rate_limited"));
                r.usage = None;
                r.ttft = None;
            }
            r
        })
        .collect()
}

/// The records as the queue hands them to the writer.
fn queued(records: &[Record]) -> Rows {
    let mut rows = Rows::default();
    for r in records {
        assert!(rows.push(r));
    }
    rows
}

/// The reference: one single-row insert per row, in one transaction.
fn insert_one_by_one(
    conn: &mut Connection,
    rows: &Rows,
    range: Range<usize>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(&row::insert_sql(1))?;
        for i in range {
            row::bind(rows, i, &mut stmt, 1)?;
            stmt.raw_execute()?;
        }
    }
    tx.commit()
}

/// A fresh file with the production schema and settings.
fn fresh() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = schema::open_writer(&dir.path().join("usage.db"), Duration::from_secs(2)).unwrap();
    (dir, conn)
}

/// Every column of every row, in insertion order.
fn dump(conn: &Connection) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare("SELECT * FROM requests ORDER BY id").unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |r| (0..columns).map(|c| r.get(c)).collect())
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn chunked_batches_write_exactly_what_single_inserts_write() {
    let rows = queued(&traffic(2000, 1_763_786_784_123));
    for n in [1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3, 1000] {
        let (_a, mut chunked) = fresh();
        let (_b, mut single) = fresh();
        // Two batches, so the second starts its chunks after rows already in the file (and
        // mid-buffer).
        for part in [0..n, n..2 * n] {
            batch::insert(&mut chunked, &rows, part.clone()).unwrap();
            insert_one_by_one(&mut single, &rows, part).unwrap();
        }
        let got = dump(&chunked);
        assert_eq!(got.len(), 2 * n);
        assert_eq!(got, dump(&single), "batches of {n}");
        // The comparison covered NULLs and each kind of record.
        if n >= CHUNK {
            assert!(got.iter().flatten().any(|v| *v == Value::Null), "{n}");
            assert!(
                got.iter()
                    .any(|r| r[2] == Value::Text("gw-0000000000000000".into()))
            );
        }
    }
}

/// CPU time of this thread, from `/proc` (clock ticks, usually 10 ms: only good over many rows).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    // Counting from the state (field 3): utime is field 14, stime 15.
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum()
}

/// The writer's insert cost per row: 20,000 records in batches of 1,000 into fresh files with
/// the production settings (WAL, synchronous NORMAL), [`batch::insert`] against one insert per
/// row, rounds interleaved so both see the same machine. The fastest round is the cost without
/// interruptions; CPU (from 10 ms ticks) is over all rounds. Timing, not a check; in release:
/// `cargo test --release -p aoai-gateway --lib ledger::tests::batch::insert_cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; run on demand"]
fn insert_cost() {
    const ROWS: usize = 20_000;
    const ROUNDS: usize = 16;
    type Insert = fn(&mut Connection, &Rows, Range<usize>) -> rusqlite::Result<()>;
    let ways: [(&str, Insert); 2] = [
        ("one row per statement", insert_one_by_one),
        ("batch::insert", batch::insert),
    ];
    let rows = queued(&traffic(ROWS, 1_763_786_784_123));
    let mut walls = vec![Vec::new(); ways.len()];
    let mut ticks = vec![0; ways.len()];
    for _ in 0..ROUNDS {
        for (w, (_, insert)) in ways.iter().enumerate() {
            let (_dir, mut conn) = fresh();
            let cpu = thread_cpu_ticks();
            let started = Instant::now();
            for from in (0..ROWS).step_by(1000) {
                insert(&mut conn, &rows, from..from + 1000).unwrap();
            }
            walls[w].push(started.elapsed().as_secs_f64() * 1e6 / ROWS as f64);
            ticks[w] += thread_cpu_ticks() - cpu;
            assert_eq!(dump(&conn).len(), ROWS);
        }
    }
    for (w, (name, _)) in ways.iter().enumerate() {
        let rounds = &mut walls[w];
        rounds.sort_by(f64::total_cmp);
        println!(
            "{name}: µs per row: fastest {:.2}, median {:.2}; CPU {:.2}",
            rounds[0],
            rounds[ROUNDS / 2],
            ticks[w] as f64 * 1e4 / (ROUNDS * ROWS) as f64,
        );
    }
}
