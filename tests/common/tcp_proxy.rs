//! A TCP proxy that can cut the network between a broker and a server (the
//! shared ZooKeeper, typically) without stopping the server: `cut` drops every
//! proxied connection and refuses new ones until `restore`. Plain threads, so
//! synchronous tests can use it; at most `MAX_CONNECTIONS` live connections.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Live proxied connections kept at once; more are refused.
const MAX_CONNECTIONS: usize = 64;

struct Shared {
    target: u16,
    cut: AtomicBool,
    stopped: AtomicBool,
    /// Both sides of each live connection, so `cut` can shut them down.
    streams: Mutex<Vec<(TcpStream, TcpStream)>>,
}

/// A proxy from `127.0.0.1:<port>` to `127.0.0.1:<target>`.
pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

impl TcpProxy {
    /// Listens on a free port and forwards each connection to `target_port`.
    pub fn start(target_port: u16) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            target: target_port,
            cut: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        thread::spawn(move || accept_loop(listener, accept_shared));
        TcpProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every proxied connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for (a, b) in self.shared.streams.lock().unwrap().drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the acceptor so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for inbound in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(inbound) = inbound else { continue };
        if shared.cut.load(Ordering::SeqCst) {
            let _ = inbound.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(outbound) = TcpStream::connect(("127.0.0.1", shared.target)) else {
            continue;
        };
        if let Err(e) = forward(&shared, inbound, outbound) {
            eprintln!("tcp proxy: cannot forward a connection: {e}");
        }
    }
}

/// Copies both ways on two threads; registers the pair for `cut`.
fn forward(shared: &Shared, inbound: TcpStream, outbound: TcpStream) -> io::Result<()> {
    let mut streams = shared.streams.lock().unwrap();
    streams.retain(|(a, _)| a.peer_addr().is_ok());
    if streams.len() >= MAX_CONNECTIONS {
        return Err(io::Error::other("too many proxied connections"));
    }
    streams.push((inbound.try_clone()?, outbound.try_clone()?));
    drop(streams);
    let (mut in_read, mut out_write) = (inbound.try_clone()?, outbound.try_clone()?);
    let (mut out_read, mut in_write) = (outbound, inbound);
    thread::spawn(move || {
        let _ = io::copy(&mut in_read, &mut out_write);
        let _ = out_write.shutdown(Shutdown::Both);
    });
    thread::spawn(move || {
        let _ = io::copy(&mut out_read, &mut in_write);
        let _ = in_write.shutdown(Shutdown::Both);
    });
    Ok(())
}
