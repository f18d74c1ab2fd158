//! TCP-level liveness for an outbound connection: a peer that stops
//! acknowledging (its host died, the network dropped) fails the connection
//! after about a given time, through TCP keepalive probes while waiting for
//! an answer and a limit on how long sent data may stay unacknowledged
//! (`TCP_USER_TIMEOUT`). A live peer that is merely busy keeps
//! acknowledging, so its connection stays.

use std::time::Duration;

use tokio::net::TcpStream;

/// Sets the socket options that make a dead peer fail `stream` after about `timeout`.
#[cfg(target_os = "linux")]
pub fn set_liveness_timeouts(stream: &TcpStream, timeout: Duration) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let probe_secs = (timeout.as_secs() / 3).clamp(1, i32::MAX as u64) as libc::c_int;
    let user_timeout_ms = timeout.as_millis().clamp(1, u32::MAX as u128) as libc::c_uint;
    set_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, probe_secs)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, probe_secs)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3)?;
    set_option(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_USER_TIMEOUT,
        user_timeout_ms,
    )
}

/// Elsewhere only keepalive, with the system's timings.
#[cfg(not(target_os = "linux"))]
pub fn set_liveness_timeouts(stream: &TcpStream, _timeout: Duration) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    set_option(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)
}

#[allow(unsafe_code)] // setsockopt(2) through libc, for options std does not expose
fn set_option<T: Copy>(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> std::io::Result<()> {
    // SAFETY: `value` lives across the call and its size is passed along;
    // `fd` is an open socket owned by the caller's stream.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
