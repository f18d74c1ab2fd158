//! A ZooKeeper-protocol-aware TCP proxy between one client (a broker) and
//! the ZooKeeper server, for fault injection. Like [`super::TcpProxy`] it can
//! `cut` the link (drop every connection, refuse new ones) and `restore` it.
//! It can also be armed with a [`WriteTrigger`] to lose exactly one reply:
//! when a client request matches (its op type, and a path containing a
//! substring; for a `multi`, any of its operations' paths), the request is
//! forwarded, the server's reply to it (same xid) is read and, if the write
//! was applied, dropped, and the connection is cut. The client sees a
//! connection loss for a write that ZooKeeper did apply: what a broker sees
//! when the network fails at the worst moment. [`ZkProxy::wait_fired`] waits
//! for that.
//!
//! The framing it reads (ZooKeeper's jute protocol): each direction starts
//! with the connect handshake frame, then every frame is an i32 length and
//! the body. Requests: i32 xid, i32 op type, op body (paths are i32-length
//! UTF-8 strings; a multi body is a sequence of (i32 type, bool done, i32
//! err) headers, each followed by an op body). Replies: i32 xid, i64 zxid,
//! i32 err, body. Pings (xid -2), watch events (xid -1), auth and every other
//! frame pass through untouched. A first frame that is not length-prefixed
//! (a four-letter word) is copied raw.
//!
//! Plain threads (two per connection), at most `MAX_CONNECTIONS` live
//! connections.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Live proxied connections kept at once; more are refused.
const MAX_CONNECTIONS: usize = 16;
/// Frames longer than this are not ZooKeeper frames (its `jute.maxbuffer`
/// is 1 MB); a connection whose first bytes say so is copied raw.
const MAX_FRAME: usize = 16 << 20;

/// The xid of pings and of watch events.
pub const PING_XID: i32 = -2;
pub const NOTIFICATION_XID: i32 = -1;

/// ZooKeeper op codes (`ZooDefs.OpCode`) the proxy looks at.
pub mod op {
    pub const ERROR: i32 = -1;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const SET_DATA: i32 = 5;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;

    /// ZooKeeper's name of a write op code, for messages.
    pub fn name(code: i32) -> &'static str {
        match code {
            CREATE => "create",
            DELETE => "delete",
            SET_DATA => "setData",
            CHECK => "check",
            MULTI => "multi",
            CREATE2 => "create2",
            CREATE_CONTAINER => "createContainer",
            DELETE_CONTAINER => "deleteContainer",
            CREATE_TTL => "createTTL",
            _ => "other",
        }
    }
}

/// The kind of write a [`WriteTrigger`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZkWrite {
    /// create, create2, createContainer, createTTL.
    Create,
    /// delete, deleteContainer.
    Delete,
    SetData,
    Check,
    /// A multi with an operation on a matching path.
    Multi,
    /// Any of the above.
    Any,
}

impl ZkWrite {
    fn matches(self, code: i32) -> bool {
        match self {
            ZkWrite::Create => matches!(
                code,
                op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL
            ),
            ZkWrite::Delete => matches!(code, op::DELETE | op::DELETE_CONTAINER),
            ZkWrite::SetData => code == op::SET_DATA,
            ZkWrite::Check => code == op::CHECK,
            ZkWrite::Multi => code == op::MULTI,
            ZkWrite::Any => [
                ZkWrite::Create,
                ZkWrite::Delete,
                ZkWrite::SetData,
                ZkWrite::Check,
                ZkWrite::Multi,
            ]
            .iter()
            .any(|w| w.matches(code)),
        }
    }
}

/// Which request loses its reply: one of kind `write` on a path containing
/// `path_contains` (the full path the client sends, chroot included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteTrigger {
    pub write: ZkWrite,
    pub path_contains: String,
}

impl WriteTrigger {
    pub fn new(write: ZkWrite, path_contains: impl Into<String>) -> WriteTrigger {
        WriteTrigger {
            write,
            path_contains: path_contains.into(),
        }
    }

    /// A setData of a path containing `path`.
    pub fn set_data(path: impl Into<String>) -> WriteTrigger {
        Self::new(ZkWrite::SetData, path)
    }

    /// A multi with an operation on a path containing `path`.
    pub fn multi(path: impl Into<String>) -> WriteTrigger {
        Self::new(ZkWrite::Multi, path)
    }

    fn matches(&self, request: &Request) -> bool {
        self.write.matches(request.op)
            && request
                .paths
                .iter()
                .any(|p| p.contains(&self.path_contains))
    }
}

/// What the proxy does after it dropped the reply and cut the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFire {
    /// Only that connection is cut; the client may reconnect at once.
    Reconnect,
    /// The proxy stays cut (as after [`ZkProxy::cut`]) until `restore`.
    StayCut,
}

/// A reply the proxy dropped.
#[derive(Clone, Debug)]
pub struct Fired {
    /// The request's op code (see [`op`]).
    pub op: i32,
    /// The request's path, or each path of a multi.
    pub paths: Vec<String>,
    pub xid: i32,
    /// The zxid of the applied write.
    pub zxid: i64,
    pub at: Instant,
}

/// A client request, as far as the proxy reads it.
#[derive(Debug)]
struct Request {
    xid: i32,
    op: i32,
    /// The path of a write, or the paths of a multi's operations.
    paths: Vec<String>,
}

/// The request whose reply is awaited.
struct Pending {
    conn: u64,
    request: Request,
}

#[derive(Default)]
struct State {
    cut: bool,
    armed: Option<(WriteTrigger, AfterFire)>,
    pending: Option<Pending>,
    /// Since the last `arm`.
    fired: Option<Fired>,
    fire_count: u64,
    accepted: u64,
    pings: u64,
    notifications: u64,
}

struct Shared {
    target: u16,
    stopped: AtomicBool,
    next_conn: AtomicU64,
    state: Mutex<State>,
    fired_changed: Condvar,
    /// (connection id, client side, server side) of each live connection.
    streams: Mutex<Vec<(u64, TcpStream, TcpStream)>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shuts down connection `conn`, or every connection when `None`.
    fn shut(&self, conn: Option<u64>) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.retain(|(id, a, b)| {
            if conn.is_none_or(|c| c == *id) {
                let _ = a.shutdown(Shutdown::Both);
                let _ = b.shutdown(Shutdown::Both);
                false
            } else {
                true
            }
        });
    }

    /// A request of connection `conn` on its way to the server: remember it
    /// if it is the one the trigger waits for.
    fn on_request(&self, conn: u64, request: Request) {
        let mut state = self.state();
        if state.pending.is_none()
            && let Some((trigger, _)) = &state.armed
            && trigger.matches(&request)
        {
            state.pending = Some(Pending { conn, request });
        }
    }

    /// A reply of connection `conn`: true to drop it and cut.
    fn on_reply(&self, conn: u64, reply: &Reply<'_>) -> bool {
        let (xid, zxid) = (reply.xid, reply.zxid);
        let mut state = self.state();
        match xid {
            PING_XID => state.pings += 1,
            NOTIFICATION_XID => state.notifications += 1,
            _ => {}
        }
        let is_pending = state
            .pending
            .as_ref()
            .is_some_and(|p| p.conn == conn && p.request.xid == xid);
        if !is_pending {
            return false;
        }
        let pending = state.pending.take().expect("pending request");
        if !reply.applied(pending.request.op) {
            // Not applied (e.g. BadVersion): nothing to lose; stay armed.
            return false;
        }
        let (_, after) = state.armed.take().expect("armed while pending");
        state.fired = Some(Fired {
            op: pending.request.op,
            paths: pending.request.paths,
            xid,
            zxid,
            at: Instant::now(),
        });
        state.fire_count += 1;
        if after == AfterFire::StayCut {
            state.cut = true;
        }
        self.fired_changed.notify_all();
        drop(state);
        self.shut(match after {
            AfterFire::Reconnect => Some(conn),
            AfterFire::StayCut => None,
        });
        true
    }

    /// Connection `conn` ended: a request it had pending will get no reply.
    fn on_close(&self, conn: u64) {
        let mut state = self.state();
        if state.pending.as_ref().is_some_and(|p| p.conn == conn) {
            state.pending = None;
        }
    }
}

/// A proxy from `127.0.0.1:<port>` to a ZooKeeper server on
/// `127.0.0.1:<target>`.
pub struct ZkProxy {
    port: u16,
    shared: Arc<Shared>,
}

impl ZkProxy {
    /// Listens on a free port and forwards each connection to `target_port`.
    pub fn start(target_port: u16) -> ZkProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind ZooKeeper proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            target: target_port,
            stopped: AtomicBool::new(false),
            next_conn: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            fired_changed: Condvar::new(),
            streams: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        thread::Builder::new()
            .name(format!("zk-proxy-{port}"))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("start the ZooKeeper proxy");
        ZkProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `zookeeper.connect` value through this proxy, with `chroot`.
    pub fn connect_string(&self, chroot: &str) -> String {
        format!("127.0.0.1:{}{chroot}", self.port)
    }

    /// Drops every proxied connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.state().cut = true;
        self.shared.shut(None);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.state().cut = false;
    }

    pub fn is_cut(&self) -> bool {
        self.shared.state().cut
    }

    /// Arms the proxy: the next request matching `trigger` whose write is
    /// applied loses its reply, and the connection is cut (then `after`).
    /// One shot; replaces an earlier trigger and forgets an earlier firing.
    pub fn arm(&self, trigger: WriteTrigger, after: AfterFire) {
        let mut state = self.shared.state();
        state.armed = Some((trigger, after));
        state.pending = None;
        state.fired = None;
    }

    /// Takes the trigger back; true if it was still armed (had not fired).
    pub fn disarm(&self) -> bool {
        let mut state = self.shared.state();
        state.pending = None;
        state.armed.take().is_some()
    }

    /// The firing since the last `arm`, if any.
    pub fn fired(&self) -> Option<Fired> {
        self.shared.state().fired.clone()
    }

    /// Waits up to `timeout` for the trigger armed last to fire.
    pub fn wait_fired(&self, timeout: Duration) -> Option<Fired> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        loop {
            if let Some(fired) = &state.fired {
                return Some(fired.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .shared
                .fired_changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// How many replies the proxy has dropped in all.
    pub fn fire_count(&self) -> u64 {
        self.shared.state().fire_count
    }

    /// Connections forwarded so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.state().accepted
    }

    /// Ping replies relayed so far.
    pub fn pings_relayed(&self) -> u64 {
        self.shared.state().pings
    }

    /// Watch events relayed so far.
    pub fn notifications_relayed(&self) -> u64 {
        self.shared.state().notifications
    }
}

impl Drop for ZkProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the acceptor so it sees `stopped`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        if shared.state().cut {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(("127.0.0.1", shared.target)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        if let Err(e) = forward(&shared, client, server) {
            eprintln!("zk proxy: cannot forward a connection: {e}");
        }
    }
}

fn forward(shared: &Arc<Shared>, client: TcpStream, server: TcpStream) -> io::Result<()> {
    let conn = shared.next_conn.fetch_add(1, Ordering::SeqCst);
    {
        let mut streams = shared.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.retain(|(_, a, _)| a.peer_addr().is_ok());
        if streams.len() >= MAX_CONNECTIONS {
            let _ = client.shutdown(Shutdown::Both);
            return Err(io::Error::other("too many proxied connections"));
        }
        streams.push((conn, client.try_clone()?, server.try_clone()?));
    }
    shared.state().accepted += 1;
    let (client_read, server_write) = (client.try_clone()?, server.try_clone()?);
    let requests_shared = shared.clone();
    thread::spawn(move || relay_requests(&requests_shared, conn, client_read, server_write));
    let replies_shared = shared.clone();
    thread::spawn(move || relay_replies(&replies_shared, conn, server, client));
    Ok(())
}

/// One frame, length prefix included, or the first bytes of a stream that is
/// not length-prefixed.
enum Frame {
    Zk(Vec<u8>),
    Raw(Vec<u8>),
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Frame> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let n = i32::from_be_bytes(len);
    if n < 0 || n as usize > MAX_FRAME {
        return Ok(Frame::Raw(len.to_vec()));
    }
    let mut frame = vec![0u8; 4 + n as usize];
    frame[..4].copy_from_slice(&len);
    stream.read_exact(&mut frame[4..])?;
    Ok(Frame::Zk(frame))
}

/// Client -> server: notes each request (after the handshake), forwards it.
fn relay_requests(shared: &Shared, conn: u64, mut client: TcpStream, mut server: TcpStream) {
    let mut handshake_done = false;
    while let Ok(frame) = read_frame(&mut client) {
        match frame {
            Frame::Raw(head) => {
                if server.write_all(&head).is_ok() {
                    let _ = io::copy(&mut client, &mut server);
                }
                break;
            }
            Frame::Zk(bytes) => {
                if handshake_done && let Some(request) = parse_request(&bytes[4..]) {
                    shared.on_request(conn, request);
                }
                handshake_done = true;
                if server.write_all(&bytes).is_err() {
                    break;
                }
            }
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}

/// Server -> client: forwards each reply unless it is the one to drop.
fn relay_replies(shared: &Shared, conn: u64, mut server: TcpStream, mut client: TcpStream) {
    let mut handshake_done = false;
    while let Ok(frame) = read_frame(&mut server) {
        match frame {
            Frame::Raw(head) => {
                if client.write_all(&head).is_ok() {
                    let _ = io::copy(&mut server, &mut client);
                }
                break;
            }
            Frame::Zk(bytes) => {
                if handshake_done
                    && let Some(reply) = parse_reply(&bytes[4..])
                    && shared.on_reply(conn, &reply)
                {
                    break;
                }
                handshake_done = true;
                if client.write_all(&bytes).is_err() {
                    break;
                }
            }
        }
    }
    shared.on_close(conn);
    let _ = client.shutdown(Shutdown::Both);
}

/// Reads jute's big-endian fields from a frame body.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bool(&mut self) -> Option<bool> {
        Some(self.take(1)?[0] != 0)
    }

    /// A buffer: i32 length (-1: null), then the bytes.
    fn buffer(&mut self) -> Option<&'a [u8]> {
        let n = self.i32()?;
        if n < 0 {
            return Some(&[]);
        }
        self.take(n as usize)
    }

    fn string(&mut self) -> Option<String> {
        Some(String::from_utf8_lossy(self.buffer()?).into_owned())
    }

    /// A vector of ACLs: i32 count, each (i32 perms, scheme, id).
    fn skip_acls(&mut self) -> Option<()> {
        let n = self.i32()?;
        for _ in 0..n.max(0) {
            self.i32()?;
            self.string()?;
            self.string()?;
        }
        Some(())
    }
}

/// The path of a write op's body (and the cursor past it), `None` for other
/// ops or a body that does not parse.
fn write_op_path(code: i32, body: &mut Cursor<'_>) -> Option<String> {
    let path = body.string()?;
    match code {
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            body.buffer()?;
            body.skip_acls()?;
            body.i32()?; // flags
            if code == op::CREATE_TTL {
                body.i64()?;
            }
        }
        op::SET_DATA => {
            body.buffer()?;
            body.i32()?; // version
        }
        op::DELETE | op::DELETE_CONTAINER | op::CHECK => {
            body.i32()?; // version
        }
        _ => return None,
    }
    Some(path)
}

/// A request frame's body (after the length): its xid, op and the paths it
/// writes. `None` for what the proxy does not need to look at.
fn parse_request(frame: &[u8]) -> Option<Request> {
    let mut cursor = Cursor::new(frame);
    let xid = cursor.i32()?;
    let code = cursor.i32()?;
    let paths = if code == op::MULTI {
        let mut paths = Vec::new();
        loop {
            let inner = cursor.i32()?;
            let done = cursor.bool()?;
            cursor.i32()?; // err
            if done {
                break;
            }
            paths.push(write_op_path(inner, &mut cursor)?);
        }
        paths
    } else if ZkWrite::Any.matches(code) {
        vec![write_op_path(code, &mut cursor)?]
    } else {
        return None;
    };
    Some(Request {
        xid,
        op: code,
        paths,
    })
}

/// A reply frame's body: its header (xid, zxid, err) and what follows.
fn parse_reply(frame: &[u8]) -> Option<Reply<'_>> {
    let mut cursor = Cursor::new(frame);
    Some(Reply {
        xid: cursor.i32()?,
        zxid: cursor.i64()?,
        err: cursor.i32()?,
        body: &frame[cursor.pos..],
    })
}

/// A reply header and body.
struct Reply<'a> {
    xid: i32,
    zxid: i64,
    err: i32,
    body: &'a [u8],
}

impl Reply<'_> {
    /// Whether the write `code` this answers was applied: no error, and for
    /// a multi no error result (a failed multi answers an error result for
    /// every operation, so the first one tells).
    fn applied(&self, code: i32) -> bool {
        if self.err != 0 {
            return false;
        }
        if code != op::MULTI {
            return true;
        }
        let mut cursor = Cursor::new(self.body);
        match (cursor.i32(), cursor.bool()) {
            (Some(kind), Some(false)) => kind != op::ERROR,
            _ => true,
        }
    }
}
