//! The stdout writer: request threads hand finished lines to a bounded queue; one thread
//! writes them out in batches.
//!
//! Why not write in place: a log line per request on a pipe whose reader is slow (a container
//! log driver, a full `kubectl logs` buffer) would block the worker thread that wrote it, and
//! with it every request on that thread. Here a request pays for a queue push; when the queue
//! is full the line is dropped and counted, and the writer reports the count in its next line.
//! Batching also turns many lines into one `write` call under load.
//!
//! While lines keep coming, the writer polls the queue every [`POLL`] instead of waiting on it:
//! a sender that finds the receiver waiting must wake it (a futex call, measured at several
//! microseconds per line on a busy two-core machine), one that finds it asleep pays nothing.
//! After [`IDLE_POLLS`] empty polls it waits on the queue again, so an idle gateway does not
//! wake up for nothing.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use super::format::Format;

/// Lines waiting for the writer before new ones are dropped.
const QUEUE_LINES: usize = 16 * 1024;
/// Bytes gathered into one write.
const BATCH_BYTES: usize = 64 * 1024;
/// How long shutdown waits for queued lines to be written (stdout may be stuck).
const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// The writer's polling interval while busy: the most a line waits before it is written.
const POLL: Duration = Duration::from_millis(2);
/// Empty polls (100 ms) before the writer goes back to waiting on the queue.
const IDLE_POLLS: u32 = 50;

/// Where formatted lines go: the stdout writer, or a test's collector.
pub trait Sink: Send + Sync + 'static {
    fn line(&self, line: String);
}

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

/// The request threads' side of the queue.
#[derive(Clone)]
pub struct NonBlocking {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Sink for NonBlocking {
    fn line(&self, line: String) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(Msg::Line(line))
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Flushes what is queued when dropped (at the end of `main`), waiting at most
/// [`FLUSH_WAIT`].
pub struct WriterGuard {
    tx: SyncSender<Msg>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let deadline = Instant::now() + FLUSH_WAIT;
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    msg = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
        let _ = ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// Starts the writer thread over `out`.
pub fn spawn<W: Write + Send + 'static>(
    out: W,
    format: Format,
) -> std::io::Result<(NonBlocking, WriterGuard)> {
    let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    std::thread::Builder::new()
        .name("gw-log-writer".to_owned())
        .spawn(move || run(rx, out, &counter, format))?;
    Ok((
        NonBlocking {
            tx: tx.clone(),
            dropped,
        },
        WriterGuard { tx },
    ))
}

fn run<W: Write>(rx: Receiver<Msg>, mut out: W, dropped: &AtomicU64, format: Format) {
    let mut batch = String::with_capacity(BATCH_BYTES);
    let mut acks = Vec::new();
    let mut idle = IDLE_POLLS;
    loop {
        let first = if idle >= IDLE_POLLS {
            match rx.recv() {
                Ok(msg) => msg,
                Err(_) => return,
            }
        } else {
            match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => {
                    idle += 1;
                    std::thread::sleep(POLL);
                    continue;
                }
                Err(TryRecvError::Disconnected) => return,
            }
        };
        idle = 0;
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => batch.push_str(&line),
                Msg::Flush(ack) => acks.push(ack),
            }
            next = if batch.len() < BATCH_BYTES {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            batch.push_str(&dropped_line(format, lost));
        }
        // A failed write (stdout closed) loses these lines; there is nowhere to report it.
        let _ = out.write_all(batch.as_bytes()).and_then(|()| out.flush());
        batch.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

fn dropped_line(format: Format, lost: u64) -> String {
    let ts = humantime::format_rfc3339_millis(SystemTime::now());
    let message = format!("{lost} log line(s) dropped: stdout did not keep up");
    match format {
        Format::Human => format!("{ts}  WARN aoai_gateway::logs: {message}\n"),
        Format::Json => format!(
            "{{\"ts\":\"{ts}\",\"level\":\"warn\",\"target\":\"aoai_gateway::logs\",\
             \"message\":\"{message}\",\"dropped\":{lost}}}\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_the_guard_flushes() {
        let out = Shared::default();
        let (sink, guard) = spawn(out.clone(), Format::Human).unwrap();
        for i in 0..1000 {
            sink.line(format!("line {i}\n"));
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 999");
    }

    #[test]
    fn a_stuck_writer_drops_and_reports() {
        // A writer that blocks until released: the queue fills, extra lines are counted.
        struct Gate(Arc<Mutex<()>>, Shared);
        impl Write for Gate {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let _open = self.0.lock().unwrap();
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let closed = gate.lock().unwrap();
        let out = Shared::default();
        let (sink, guard) = spawn(Gate(Arc::clone(&gate), out.clone()), Format::Json).unwrap();
        let sent = QUEUE_LINES * 2 + 10;
        for i in 0..sent {
            sink.line(format!("{i}\n"));
        }
        drop(closed);
        sink.line("last\n".to_owned());
        drop(guard);
        // Every line is either written or counted in a report (the count may already sit in
        // a batch the blocked writer holds, so it is read from the output, not the counter).
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let mut written = 0;
        let mut reported = 0;
        for line in text.lines() {
            if line.contains("dropped") {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                reported += v["dropped"].as_u64().unwrap();
            } else {
                written += 1;
            }
        }
        assert!(reported > 0, "a dropped-lines report");
        assert_eq!(written + reported, sent as u64 + 1);
    }
}
