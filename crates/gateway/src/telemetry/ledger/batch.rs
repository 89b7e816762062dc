//! One batch of rows into the file: one transaction, the rows in multi-row inserts of
//! [`CHUNK`] rows, the few left over one by one.
//!
//! Each statement run has a fixed cost in SQLite (reset, VDBE setup, the transaction and
//! schema checks) that a multi-row insert pays once for all its rows. Measured with
//! `tests::batch::insert_cost` (release, 1,000-row batches, fastest rounds): one row per
//! statement ≈ 1.15 µs per row, 8 rows ≈ 1.0, and 32, 64, 128 rows ≈ 1.12, 1.17, 1.22: past
//! about ten rows, larger statements are slower again. Keeping the statements prepared across
//! batches saved nothing measurable: one prepare per batch is noise beside its rows.

use rusqlite::{Connection, TransactionBehavior};

use super::row;
use crate::telemetry::Record;

/// Rows per multi-row insert.
pub const CHUNK: usize = 8;

/// Writes `rows` in one transaction: all of them or, on error, none.
pub fn insert(conn: &mut Connection, rows: &[Record]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut chunks = rows.chunks_exact(CHUNK);
    if chunks.len() > 0 {
        let mut stmt = tx.prepare(&row::insert_sql(CHUNK))?;
        for chunk in &mut chunks {
            for (i, rec) in chunk.iter().enumerate() {
                row::bind(rec, &mut stmt, i * row::PARAMS + 1)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = tx.prepare(&row::insert_sql(1))?;
        for rec in rest {
            row::bind(rec, &mut stmt, 1)?;
            stmt.raw_execute()?;
        }
    }
    tx.commit()
}
