//! Writing a region of a segment file to a client's socket with
//! sendfile(2): the kernel copies from the page cache to the socket, and
//! the records never enter the broker's memory (Kafka's `transferTo`). The
//! socket is non-blocking (tokio): each call waits until it is writable,
//! sends what fits, and goes on from where the kernel stopped.
//!
//! If the file has become shorter than the region (the segment was
//! truncated after the read), fewer bytes exist than the frame promised:
//! the error ends the connection (one log line, as Kafka does) rather than
//! sending a wrong frame.

use std::io;
use std::os::fd::AsRawFd;

use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::log::FileRecords;

/// At most this much per sendfile(2) call (Linux sends at most 0x7ffff000).
const MAX_SEND_BYTES: u64 = 0x7fff_f000;

/// Why a region could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendFileError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error(
        "segment file ended after {sent} of the {promised} record bytes the response promised \
         (truncated since the read)"
    )]
    FileShorter { sent: u64, promised: u64 },
}

impl From<SendFileError> for io::Error {
    fn from(e: SendFileError) -> io::Error {
        match e {
            SendFileError::Io(e) => e,
            shorter @ SendFileError::FileShorter { .. } => {
                io::Error::new(io::ErrorKind::UnexpectedEof, shorter.to_string())
            }
        }
    }
}

/// Sends the whole of `records` to `stream`; calls `sent` with the bytes
/// of each successful call (a partial region counts what went out).
pub async fn send_file_records(
    stream: &TcpStream,
    records: &FileRecords,
    mut sent: impl FnMut(usize),
) -> Result<(), SendFileError> {
    let start = records.position();
    let end = start + records.len() as u64;
    let in_fd = records.file().as_raw_fd();
    let out_fd = stream.as_raw_fd();
    let mut offset = start;
    while offset < end {
        stream.writable().await?;
        let count = (end - offset).min(MAX_SEND_BYTES) as usize;
        let result = stream.try_io(Interest::WRITABLE, || {
            let mut off = libc::off_t::try_from(offset)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset past off_t"))?;
            // SAFETY: both descriptors are open for the duration of the call
            // (`records` holds the file, `stream` the socket); `off` is a
            // valid, exclusively borrowed off_t the kernel updates.
            #[allow(unsafe_code)] // sendfile(2): the zero-copy write this file exists for
            let n = unsafe { libc::sendfile(out_fd, in_fd, &mut off, count) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match result {
            Ok(0) => {
                return Err(SendFileError::FileShorter {
                    sent: offset - start,
                    promised: end - start,
                });
            }
            Ok(n) => {
                offset += n as u64;
                sent(n);
            }
            // Not writable after all (readiness cleared by try_io): wait again.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "sendfile_tests.rs"]
mod tests;
