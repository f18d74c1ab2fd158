//! A TCP proxy that can cut the network between a broker and a server (the
//! shared ZooKeeper, typically) without stopping the server: `cut` drops every
//! proxied connection and refuses new ones until `restore`. It can also slow
//! a link: with a delay set for a direction, every chunk read in that
//! direction is held that long before it is written on (latency, not a
//! bandwidth cap; order kept). Plain threads, so synchronous tests can use it;
//! at most `MAX_CONNECTIONS` live connections, `MAX_CHUNKS_IN_FLIGHT` held
//! chunks per direction of a connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Live proxied connections kept at once; more are refused.
const MAX_CONNECTIONS: usize = 64;
/// Chunks read but not yet written, per direction of a connection; the
/// reader waits when this many are held (so a delay cannot buffer without bound).
const MAX_CHUNKS_IN_FLIGHT: usize = 256;
/// The largest chunk read at once.
const CHUNK_SIZE: usize = 64 * 1024;

/// Which way data flows through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the connecting client to the target (requests).
    ToTarget,
    /// From the target back to the client (responses).
    FromTarget,
}

struct Shared {
    target: u16,
    cut: AtomicBool,
    stopped: AtomicBool,
    /// The delay of each direction, in ms (0: none).
    delay_to_target_ms: AtomicU64,
    delay_from_target_ms: AtomicU64,
    /// Both sides of each live connection, so `cut` can shut them down.
    streams: Mutex<Vec<(TcpStream, TcpStream)>>,
}

impl Shared {
    fn delay(&self, direction: Direction) -> Duration {
        let ms = match direction {
            Direction::ToTarget => &self.delay_to_target_ms,
            Direction::FromTarget => &self.delay_from_target_ms,
        };
        Duration::from_millis(ms.load(Ordering::SeqCst))
    }
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
        Self::start_on(listener, target_port)
    }

    fn start_on(listener: TcpListener, target_port: u16) -> TcpProxy {
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            target: target_port,
            cut: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            delay_to_target_ms: AtomicU64::new(0),
            delay_from_target_ms: AtomicU64::new(0),
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

    /// Holds every chunk flowing in `direction` for `delay` before passing
    /// it on (`Duration::ZERO`: no delay). Applies at once to live
    /// connections too, from the next chunk read.
    pub fn set_delay(&self, direction: Direction, delay: Duration) {
        let ms = match direction {
            Direction::ToTarget => &self.shared.delay_to_target_ms,
            Direction::FromTarget => &self.shared.delay_from_target_ms,
        };
        ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// The delay of `direction` now.
    pub fn delay(&self, direction: Direction) -> Duration {
        self.shared.delay(direction)
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

/// Copies both ways (each on a reader and a writer thread); registers the
/// pair for `cut`.
fn forward(shared: &Arc<Shared>, inbound: TcpStream, outbound: TcpStream) -> io::Result<()> {
    let mut streams = shared.streams.lock().unwrap();
    streams.retain(|(a, _)| a.peer_addr().is_ok());
    if streams.len() >= MAX_CONNECTIONS {
        return Err(io::Error::other("too many proxied connections"));
    }
    streams.push((inbound.try_clone()?, outbound.try_clone()?));
    drop(streams);
    let (in_read, out_write) = (inbound.try_clone()?, outbound.try_clone()?);
    let (out_read, in_write) = (outbound, inbound);
    pipe(shared.clone(), Direction::ToTarget, in_read, out_write);
    pipe(shared.clone(), Direction::FromTarget, out_read, in_write);
    Ok(())
}

/// Moves bytes from `from` to `to`: a reader thread stamps each chunk with
/// the time it is due (now + the direction's delay) and a writer thread
/// writes it then; when `from` ends, the writer shuts `to` down after the
/// held chunks (which ends the other direction's reader in turn).
fn pipe(shared: Arc<Shared>, direction: Direction, mut from: TcpStream, mut to: TcpStream) {
    let (tx, rx) = mpsc::sync_channel::<(Instant, Vec<u8>)>(MAX_CHUNKS_IN_FLIGHT);
    thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK_SIZE];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now() + shared.delay(direction);
                    if tx.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `tx` lets the writer drain what is held, then shut `to`.
    });
    thread::spawn(move || {
        for (due, chunk) in rx {
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
