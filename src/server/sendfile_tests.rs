//! Unit tests of sendfile(2) to a tokio socket: a region larger than the
//! socket buffers arrives whole and in order (partial writes, EAGAIN), and
//! a file shorter than its region is an error, not a short frame.

use std::io::Write;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A connected (client, server) pair on loopback.
async fn socket_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), accepted.unwrap().0)
}

fn file_with(bytes: &[u8]) -> Arc<std::fs::File> {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    Arc::new(file)
}

#[tokio::test]
async fn a_region_larger_than_the_socket_buffers_arrives_whole() {
    let data: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    let file = file_with(&data);
    let (mut client, server) = socket_pair().await;
    let region = FileRecords::new(file, 1000, data.len() - 3000, 0);
    let expected = data[1000..data.len() - 2000].to_vec();
    let reader = tokio::spawn(async move {
        let mut got = vec![0u8; expected.len()];
        client.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "the bytes of the region, in order");
    });
    let mut counted = 0;
    send_file_records(&server, &region, |n| counted += n)
        .await
        .unwrap();
    assert_eq!(counted, region.len());
    reader.await.unwrap();
}

#[tokio::test]
async fn a_file_shorter_than_its_region_is_an_error() {
    let file = file_with(&[7u8; 4096]);
    let (_client, server) = socket_pair().await;
    let region = FileRecords::new(Arc::clone(&file), 0, 4096, 0);
    file.set_len(1000).unwrap();
    let mut counted = 0;
    let err = send_file_records(&server, &region, |n| counted += n)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendFileError::FileShorter {
                sent: 1000,
                promised: 4096
            }
        ),
        "{err}"
    );
    assert_eq!(counted, 1000);
}
