//! One batch of rows into the file: one transaction, the rows in multi-row inserts of
//! [`CHUNK`] rows, the few left over one by one.
//!
//! Each statement run has a fixed cost in SQLite (reset, VDBE setup, the transaction and
//! schema checks) that a multi-row insert pays once for all its rows. Measured with
//! `tests::batch::insert_cost` (release, 1,000-row batches, fastest rounds): one row per
//! statement ≈ 1.15 µs per row, 8 rows ≈ 1.0, and 32, 64, 128 rows ≈ 1.12, 1.17, 1.22: past
//! about ten rows, larger statements are slower again. Keeping the statements prepared across
//! batches saved nothing measurable: one prepare per batch is noise beside its rows.

use std::ops::Range;

use rusqlite::{Connection, TransactionBehavior};

use super::row;
use super::rows::Rows;

/// Rows per multi-row insert.
pub const CHUNK: usize = 8;

/// Writes rows `range` of `rows` in one transaction: all of them or, on error, none.
pub fn insert(conn: &mut Connection, rows: &Rows, range: Range<usize>) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let whole = range.start + range.len() / CHUNK * CHUNK;
    if whole > range.start {
        let mut stmt = tx.prepare(&row::insert_sql(CHUNK))?;
        for first in (range.start..whole).step_by(CHUNK) {
            for i in 0..CHUNK {
                row::bind(rows, first + i, &mut stmt, i * row::PARAMS + 1)?;
            }
            stmt.raw_execute()?;
        }
    }
    if whole < range.end {
        let mut stmt = tx.prepare(&row::insert_sql(1))?;
        for i in whole..range.end {
            row::bind(rows, i, &mut stmt, 1)?;
            stmt.raw_execute()?;
        }
    }
    tx.commit()
}
