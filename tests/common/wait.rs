//! Waiting for a condition by polling: tests never sleep a fixed time.

use std::fmt::Debug;
use std::thread;
use std::time::{Duration, Instant};

/// Calls `f` until it returns `Some`, and returns that value. Polls quickly at
/// first (5 ms), then every 50 ms. Panics naming `what` after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll(timeout, f).unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Like [`wait_until`] for a fallible check: retries while `f` returns `Err`,
/// and on timeout panics with the last error.
pub fn wait_until_ok<T, E: Debug>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Result<T, E>,
) -> T {
    let mut last_err = None;
    let found = poll(timeout, || f().map_err(|e| last_err = Some(e)).ok());
    found.unwrap_or_else(|| {
        panic!("timed out after {timeout:?} waiting for {what}; last error: {last_err:?}")
    })
}

/// Polls `f` until it returns `Some` or `timeout` passes (then `None`); `f`
/// runs at least once.
fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(5);
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return None;
        }
        thread::sleep(delay.min(timeout - elapsed));
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}
