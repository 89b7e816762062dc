//! The kernel floor: a TCP byte relay with no HTTP at all. Each client connection gets its
//! own upstream connection and bytes are copied both ways, on one single-threaded runtime
//! per core sharing one listening socket (the gateway's layout). Per request it makes the
//! same system calls any HTTP/1.1 proxy must (a read and a write on each side), so its
//! throughput against the direct call is the ceiling for every proxy that does not multiplex
//! requests onto fewer upstream connections, hyper-based or not.

use std::io::Write;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// Serves on 127.0.0.1 (any port) and relays every connection to `upstream`. Blocks.
pub fn run(upstream: SocketAddr) -> Result<(), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = Vec::with_capacity(cores);
    for _ in 0..cores {
        let sock = listener.try_clone().map_err(|e| e.to_string())?;
        threads.push(std::thread::spawn(move || serve(sock, upstream)));
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "relay listening on http://{addr}");
        let _ = out.flush();
    }
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("a relay thread panicked".to_owned()),
        }
    }
    Ok(())
}

fn serve(sock: std::net::TcpListener, upstream: SocketAddr) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = TcpListener::from_std(sock).map_err(|e| e.to_string())?;
        loop {
            let (mut client, _) = listener.accept().await.map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let Ok(mut up) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = (client.set_nodelay(true), up.set_nodelay(true));
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            });
        }
    })
}
