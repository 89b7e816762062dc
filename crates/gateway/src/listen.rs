//! Thread-per-core serving: one single-threaded tokio runtime and one set of upstream
//! connections per worker thread, all accepting from one listening socket. Why: see
//! [`crate::worker`]; bench/RESULTS.md has the numbers.
//!
//! A connection stays on the worker that accepted it; whichever worker is free accepts the
//! next one, so load follows free capacity. Clients open a connection per concurrent request
//! (HTTP/1.1 SDKs, Caddy's upstream pool), which keeps the workers evenly busy. One shared
//! socket rather than SO_REUSEPORT: no other process of the same user can join the port, and
//! port 0 always means one fresh port.
//!
//! `server.metrics.port` gets a listener of its own, served by the main thread's control
//! runtime: scrapes never queue behind API traffic on a worker, and a busy worker never delays
//! a scrape. It is bound before any worker starts (a taken port fails the start) and stops
//! with them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::server;
use crate::state::AppState;
use crate::telemetry::metrics::endpoint;
use crate::worker;

/// How long open scrapes on the metrics listener get after a shutdown signal.
const METRICS_GRACE: Duration = Duration::from_secs(2);

/// Where the gateway listens, once every worker accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    pub addr: SocketAddr,
    /// The separate `/metrics` listener (`server.metrics.port`), when configured.
    pub metrics: Option<SocketAddr>,
}

/// A non-blocking listening socket on `host:port` (port 0 picks a free port).
fn bind(host: &str, port: u16) -> Result<std::net::TcpListener, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))?;
    std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// The separate metrics listener, when `server.metrics` is enabled with a port of its own.
fn bind_metrics(app: &AppState, host: &str) -> Result<Option<std::net::TcpListener>, String> {
    let rt = app.runtime.load();
    let m = &rt.config.server.metrics;
    match (m.enabled, m.port) {
        (true, Some(port)) => {
            let host = m.host.as_deref().unwrap_or(host);
            bind(host, port)
                .map(Some)
                .map_err(|e| format!("metrics: {e}"))
        }
        _ => Ok(None),
    }
}

/// Binds `host:port` (port 0 picks a free port) and the metrics port if any, calls
/// `on_listen` with the addresses, and serves until SIGINT/SIGTERM or until a worker fails.
/// Blocks the calling thread; `app`'s upstream clients must have been built for `workers`
/// (see [`worker::set_count`]).
pub fn run(
    host: &str,
    port: u16,
    workers: usize,
    app: Arc<AppState>,
    on_listen: impl FnOnce(&Listening),
) -> Result<(), String> {
    let listener = bind(host, port)?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics = bind_metrics(&app, host)?;
    let metrics_addr = match &metrics {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let mut sockets = Vec::with_capacity(workers.max(1));
    for _ in 1..workers.max(1) {
        sockets.push(listener.try_clone().map_err(|e| e.to_string())?);
    }
    sockets.push(listener);

    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let (exit_tx, mut exit_rx) = mpsc::unbounded_channel::<(usize, Result<(), String>)>();
    let mut threads = Vec::with_capacity(sockets.len());
    for (i, sock) in sockets.into_iter().enumerate() {
        let (app, mut stop, exit) = (Arc::clone(&app), stop_rx.clone(), exit_tx.clone());
        let ready = ready_tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("gw-worker-{i}"))
            .spawn(move || {
                worker::enter(i);
                let result = serve_one(sock, app, ready, async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
                let _ = exit.send((i, result));
            });
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(e) => {
                let _ = stop_tx.send(true);
                return Err(format!("cannot start worker {i}: {e}"));
            }
        }
    }
    drop((exit_tx, ready_tx));
    // "Listening" means every worker accepts: wait for each one's word.
    for _ in 0..threads.len() {
        let word = ready_rx
            .recv()
            .unwrap_or_else(|_| Err("a worker stopped during startup".to_owned()));
        if let Err(e) = word {
            let _ = stop_tx.send(true);
            for t in threads {
                let _ = t.join();
            }
            return Err(e);
        }
    }
    // The main thread only waits: for a signal, or for a worker that stopped on its own. It
    // also serves the metrics listener.
    let control = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = stop_tx.send(true);
            for t in threads {
                let _ = t.join();
            }
            return Err(format!("cannot start the control runtime: {e}"));
        }
    };
    let metrics_task = metrics.map(|sock| {
        let (app, mut stop) = (Arc::clone(&app), stop_rx.clone());
        control.spawn(async move {
            let served = match tokio::net::TcpListener::from_std(sock) {
                Ok(listener) => {
                    endpoint::serve(listener, app, async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        })
    });
    on_listen(&Listening {
        addr: bound,
        metrics: metrics_addr,
    });
    let early = control.block_on(async {
        tokio::select! {
            () = server::shutdown_signal() => None,
            exited = exit_rx.recv() => exited,
        }
    });
    let _ = stop_tx.send(true);
    if let Some(task) = metrics_task {
        control.block_on(async {
            if tokio::time::timeout(METRICS_GRACE, task).await.is_err() {
                tracing::warn!("metrics listener grace period over; closing its connections");
            }
        });
    }
    for t in threads {
        let _ = t.join();
    }
    let mut failure = None;
    if let Some((i, Err(e))) = early {
        failure = Some(format!("worker {i}: {e}"));
    }
    while let Ok((i, result)) = exit_rx.try_recv() {
        if let (None, Err(e)) = (&failure, result) {
            failure = Some(format!("worker {i}: {e}"));
        }
    }
    failure.map_or(Ok(()), Err)
}

/// One worker: a current-thread runtime accepting on its handle of the socket until `stop`.
/// Says on `ready` whether it could start.
fn serve_one(
    sock: std::net::TcpListener,
    app: Arc<AppState>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|rt| {
            let listener = rt
                .block_on(async { tokio::net::TcpListener::from_std(sock) })
                .map_err(|e| format!("cannot register the listener: {e}"))?;
            Ok((rt, listener))
        });
    let (rt, listener) = match started {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    rt.block_on(server::serve(listener, app, stop))
        .map_err(|e| e.to_string())
}
