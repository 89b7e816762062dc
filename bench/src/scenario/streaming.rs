//! Streaming: 50 content events paced by the mock, interleaved direct/gateway, for the added
//! time to first event and whether the pacing survives (no bunching, same gaps); then unpaced
//! streams through the gateway for its CPU cost per SSE event.

use std::time::Duration;

use bytes::Bytes;

use crate::client::{Conn, Endpoint, mock_headers};
use crate::procs::Proc;
use crate::report::{Goal, Row};
use crate::stats::Summary;

/// Events the mock sends around 50 content deltas: prompt filter, role, finish, usage, `[DONE]`.
const FRAMING_EVENTS: usize = 5;
const CONTENT_EVENTS: usize = 50;
const EVENT_GAP_MS: u64 = 5;

pub struct Plan<'a> {
    pub direct: &'a Endpoint,
    pub gateway: &'a Endpoint,
    pub direct_body: &'a Bytes,
    pub gateway_body: &'a Bytes,
    pub rounds: usize,
}

#[derive(Default)]
struct Side {
    ttfe: Vec<Duration>,
    gaps: Vec<Duration>,
    bunched: usize,
}

impl Side {
    fn add(&mut self, events: &[Duration]) {
        if let Some(first) = events.first() {
            self.ttfe.push(*first);
        }
        for w in events.windows(2) {
            let gap = w[1].saturating_sub(w[0]);
            // Paced events arriving together mean something buffered them.
            if gap < Duration::from_micros(500) {
                self.bunched += 1;
            }
            self.gaps.push(gap);
        }
    }
}

pub async fn run(plan: &Plan<'_>, gw: &Proc) -> Result<Vec<Row>, String> {
    let paced = mock_headers(&[
        ("x-mock-events", &CONTENT_EVENTS.to_string()),
        ("x-mock-event-delay-ms", &EVENT_GAP_MS.to_string()),
    ]);
    let expected = CONTENT_EVENTS + FRAMING_EVENTS;
    let mut d = Conn::open(plan.direct.addr).await?;
    let mut g = Conn::open(plan.gateway.addr).await?;
    let (mut direct, mut gateway) = (Side::default(), Side::default());
    for round in 0..plan.rounds + 2 {
        let xd = d.exchange(plan.direct, plan.direct_body, &paced).await?;
        let xg = g.exchange(plan.gateway, plan.gateway_body, &paced).await?;
        for (name, x) in [("direct", &xd), ("gateway", &xg)] {
            if x.status != 200 || x.events.len() != expected {
                return Err(format!(
                    "streaming: {name} answered {} with {} events, expected 200 with {expected}",
                    x.status,
                    x.events.len()
                ));
            }
        }
        // The first two rounds warm the connections and are not counted.
        if round >= 2 {
            direct.add(&xd.events);
            gateway.add(&xg.events);
        }
    }
    let (dt, gt) = (Summary::of(&direct.ttfe), Summary::of(&gateway.ttfe));
    let (dg, gg) = (Summary::of(&direct.gaps), Summary::of(&gateway.gaps));

    // CPU per event: unpaced streams through the gateway, 4 at a time.
    let unpaced = mock_headers(&[("x-mock-events", "200")]);
    let per_stream = 200 + FRAMING_EVENTS;
    let streams = 100usize;
    let cpu0 = gw.cpu()?;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let ep = plan.gateway.clone();
        let body = plan.gateway_body.clone();
        let headers = unpaced.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(ep.addr).await?;
            let mut events = 0usize;
            for _ in 0..streams / 4 {
                events += c.exchange(&ep, &body, &headers).await?.events.len();
            }
            Ok::<_, String>(events)
        }));
    }
    let mut events = 0usize;
    for t in tasks {
        events += t.await.map_err(|e| e.to_string())??;
    }
    let cpu = gw.cpu()?.saturating_sub(cpu0);
    if events != streams * per_stream {
        return Err(format!(
            "streaming: {events} events through the gateway, expected {}",
            streams * per_stream
        ));
    }
    const S: &str = "streaming50";
    Ok(vec![
        Row::added(S, "added time to first event p50", dt.p50_us, gt.p50_us),
        Row::added(S, "added time to first event p99", dt.p99_us, gt.p99_us),
        Row::added(S, "inter-event gap p50", dg.p50_us, gg.p50_us),
        Row::added(S, "inter-event gap p99", dg.p99_us, gg.p99_us),
        Row::new(
            S,
            "events bunched (<0.5 ms apart)",
            "count",
            gateway.bunched as f64,
        )
        .compare(direct.bunched as f64, gateway.bunched as f64)
        // Scheduling noise may bunch a stray pair on a shared core; 1% is the allowance.
        .goal(Goal::AtMost(
            (direct.bunched + gateway.gaps.len() / 100) as f64,
        )),
        Row::new(
            S,
            "gateway CPU per SSE event",
            "µs",
            cpu.as_secs_f64() * 1e6 / events.max(1) as f64,
        ),
        Row::new(
            S,
            "gateway CPU per 205-event stream",
            "µs",
            cpu.as_secs_f64() * 1e6 / streams as f64,
        ),
    ])
}
