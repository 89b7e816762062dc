//! Memory: the gateway's resident set when idle, and with thousands of streams open at once
//! (each has received its first event and waits for the next), then after they are released.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::{Semaphore, watch};

use crate::client::{Conn, Endpoint, EventCounter, mock_headers};
use crate::procs::Proc;
use crate::report::{Goal, Row};

const MIB: f64 = 1024.0 * 1024.0;

/// The gateway's memory with `n` streams open, beside the bare proxy's (the floor).
pub async fn run(
    gateway: (&Endpoint, &Proc),
    bare: (&Endpoint, &Proc),
    body: &Bytes,
    n: usize,
    idle_rss: u64,
) -> Result<Vec<Row>, String> {
    let bare_idle = bare.1.rss()?;
    let (bare_open, _) = hold(bare.0, body, bare.1, n).await?;
    let (rss_open, rss_after) = hold(gateway.0, body, gateway.1, n).await?;
    let per_stream =
        |open: u64, idle: u64| open.saturating_sub(idle) as f64 / 1024.0 / n.max(1) as f64;
    const S: &str = "open-streams";
    Ok(vec![
        Row::new(S, "gateway RSS idle at start", "MiB", idle_rss as f64 / MIB)
            .goal(Goal::AtMost(30.0)),
        Row::new(
            S,
            "gateway RSS with streams open",
            "MiB",
            rss_open as f64 / MIB,
        )
        .goal(Goal::AtMost(150.0)),
        Row::new(S, "streams open at once", "count", n as f64),
        // The direct column is the bare hyper proxy holding the same streams.
        Row::new(S, "per open stream", "KiB", per_stream(rss_open, idle_rss)).compare(
            per_stream(bare_open, bare_idle),
            per_stream(rss_open, idle_rss),
        ),
        Row::new(
            S,
            "gateway RSS 3 s after release",
            "MiB",
            rss_after as f64 / MIB,
        ),
    ])
}

/// Opens `n` streams through `ep`, holds them until each has its first event, samples the
/// process's RSS, releases them and samples again 3 s later.
async fn hold(ep: &Endpoint, body: &Bytes, proc: &Proc, n: usize) -> Result<(u64, u64), String> {
    let gateway = ep;
    let gw = proc;
    // After the first event the mock waits a minute: the stream stays open until we drop it.
    let held = mock_headers(&[("x-mock-events", "1"), ("x-mock-event-delay-ms", "60000")]);
    let (release_tx, release_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(n.max(1));
    let opening = Arc::new(Semaphore::new(64));
    for _ in 0..n {
        let (ep, body, headers) = (gateway.clone(), body.clone(), held.clone());
        let (ready, mut release, opening) =
            (ready_tx.clone(), release_rx.clone(), Arc::clone(&opening));
        tokio::spawn(async move {
            let first = async {
                let _permit = opening.acquire().await.map_err(|e| e.to_string())?;
                let mut conn = Conn::open(ep.addr).await?;
                let resp = conn.start(&ep, &body, &headers).await?;
                if resp.status() != 200 {
                    return Err(format!("open stream answered {}", resp.status()));
                }
                let mut body = resp.into_body();
                let mut counter = EventCounter::default();
                loop {
                    match body.frame().await {
                        Some(Ok(f)) => {
                            if f.data_ref().is_some_and(|d| counter.feed(d) > 0) {
                                break;
                            }
                        }
                        Some(Err(e)) => return Err(e.to_string()),
                        None => return Err("stream ended before its first event".into()),
                    }
                }
                Ok((conn, body))
            };
            match first.await {
                Ok(held) => {
                    let _ = ready.send(Ok(())).await;
                    let _ = release.wait_for(|r| *r).await;
                    drop(held);
                }
                Err(e) => {
                    let _ = ready.send(Err(e)).await;
                }
            }
        });
    }
    drop(ready_tx);
    let mut open = 0;
    let wait = async {
        while let Some(r) = ready_rx.recv().await {
            r?;
            open += 1;
            if open == n {
                break;
            }
        }
        Ok::<_, String>(())
    };
    let outcome = tokio::time::timeout(Duration::from_secs(120), wait).await;
    let rss_open = gw.rss();
    let _ = release_tx.send(true);
    match outcome {
        Err(_) => {
            return Err(format!(
                "open streams: only {open} of {n} opened within 120 s"
            ));
        }
        Ok(Err(e)) => return Err(format!("open streams: {e} (after {open} opened)")),
        Ok(Ok(())) => {}
    }
    let rss_open = rss_open?;
    // Let the process see the disconnects and drop its upstream streams.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok((rss_open, gw.rss()?))
}
