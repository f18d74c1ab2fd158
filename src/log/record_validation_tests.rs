//! Unit tests of the record-level produce checks: good batches of every
//! codec pass; each kind of malformed record, count or trailing byte fails
//! with Kafka's error.

use super::*;
use crate::log::batch::validate_batches;
use crate::log::test_util::{batch, compress_batch, keyed_batch};

fn zigzag(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// One record: attributes 0, timestamp delta 0, `offset_delta`, a 1-byte
/// key, `value`, then `headers` (raw, count included); length-prefixed.
fn record(offset_delta: i64, value: &[u8], headers: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    zigzag(&mut body, 0);
    zigzag(&mut body, offset_delta);
    zigzag(&mut body, 1);
    body.push(b'k');
    zigzag(&mut body, value.len() as i64);
    body.extend_from_slice(value);
    body.extend_from_slice(headers);
    let mut out = Vec::new();
    zigzag(&mut out, body.len() as i64);
    out.extend_from_slice(&body);
    out
}

fn no_headers() -> Vec<u8> {
    vec![0]
}

/// A produced batch (base offset 0) around `section`, declaring `count`
/// records, with a correct CRC.
fn raw_batch(section: &[u8], count: i32) -> Vec<u8> {
    let mut b = batch(0, 1)[..61].to_vec();
    b.extend_from_slice(section);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn check(b: &[u8], require_keys: bool) -> Result<(), BatchError> {
    let infos = validate_batches(b, usize::MAX).expect("header and CRC are fine");
    validate_records(b, &infos[0], require_keys, &TopicPartition::new("t", 0))
}

fn invalid(b: &[u8]) -> String {
    match check(b, false) {
        Err(BatchError::InvalidRecord { reason, .. }) => reason,
        other => panic!("expected INVALID_RECORD, got {other:?}"),
    }
}

#[test]
fn well_formed_batches_of_every_codec_pass() {
    check(&batch(0, 5), false).unwrap();
    let keyed = keyed_batch(0, &[(Some("a"), Some("1")), (Some("b"), None)]);
    check(&keyed, true).unwrap();
    for codec in 1..=4 {
        check(&compress_batch(&batch(0, 20), codec), false)
            .unwrap_or_else(|e| panic!("codec {codec}: {e}"));
    }
    let mut headers = Vec::new();
    zigzag(&mut headers, 2);
    for (k, v) in [("h1", Some("v")), ("h2", None)] {
        zigzag(&mut headers, k.len() as i64);
        headers.extend_from_slice(k.as_bytes());
        match v {
            Some(v) => {
                zigzag(&mut headers, v.len() as i64);
                headers.extend_from_slice(v.as_bytes());
            }
            None => zigzag(&mut headers, -1),
        }
    }
    let section = [record(0, b"x", &headers), record(1, b"", &no_headers())].concat();
    check(&raw_batch(&section, 2), false).unwrap();
}

#[test]
fn the_declared_count_must_match_the_records() {
    let two = [
        record(0, b"a", &no_headers()),
        record(1, b"b", &no_headers()),
    ]
    .concat();
    assert!(invalid(&raw_batch(&two, 3)).contains("record 2"));
    assert!(invalid(&raw_batch(&two, 1)).contains("after the 1 declared records"));
    let trailing = [two.clone(), vec![0, 0, 0]].concat();
    assert!(invalid(&raw_batch(&trailing, 2)).contains("after the 2 declared"));
}

#[test]
fn offset_deltas_run_from_zero() {
    let skipped = [
        record(0, b"a", &no_headers()),
        record(2, b"b", &no_headers()),
    ]
    .concat();
    assert!(invalid(&raw_batch(&skipped, 2)).contains("offset delta 2, expected 1"));
    let late = record(1, b"a", &no_headers());
    assert!(invalid(&raw_batch(&late, 1)).contains("expected 0"));
}

#[test]
fn lengths_varints_and_headers_must_be_well_formed() {
    // A record whose length runs past the batch.
    let mut long = record(0, b"abc", &no_headers());
    long[0] += 20;
    assert!(invalid(&raw_batch(&long, 1)).contains("length"));
    // A value length past the record end.
    let mut body = vec![0u8, 0, 0, 0];
    zigzag(&mut body, 50);
    body.push(b'v');
    let mut value_past = Vec::new();
    zigzag(&mut value_past, body.len() as i64);
    value_past.extend_from_slice(&body);
    assert!(invalid(&raw_batch(&value_past, 1)).contains("value"));
    // Negative header count, negative header key length.
    let mut negative = Vec::new();
    zigzag(&mut negative, -1);
    assert!(invalid(&raw_batch(&record(0, b"a", &negative), 1)).contains("headers"));
    let mut bad_key = Vec::new();
    zigzag(&mut bad_key, 1);
    zigzag(&mut bad_key, -1);
    assert!(invalid(&raw_batch(&record(0, b"a", &bad_key), 1)).contains("header key"));
    // Bytes left inside a record after its fields.
    let mut inside = record(0, b"a", &[0, 7, 7]);
    inside[0] = {
        let mut l = Vec::new();
        zigzag(&mut l, (inside.len() - 1) as i64);
        l[0]
    };
    assert!(invalid(&raw_batch(&inside, 1)).contains("fields end"));
    // A varint longer than 5 bytes.
    let endless = vec![0xff; 8];
    assert!(invalid(&raw_batch(&endless, 1)).contains("varint"));
}

#[test]
fn compacted_topics_need_keys_and_bad_compression_is_corrupt() {
    let unkeyed = keyed_batch(0, &[(Some("a"), Some("1")), (None, Some("2"))]);
    check(&unkeyed, false).unwrap();
    assert!(matches!(
        check(&unkeyed, true),
        Err(BatchError::InvalidRecord { reason, .. }) if reason.contains("without key")
    ));
    let mut garbage = compress_batch(&batch(0, 3), 1);
    let end = garbage.len();
    garbage[70..end].fill(0x5a);
    let crc = crc32c::crc32c(&garbage[21..]);
    garbage[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        check(&garbage, false),
        Err(BatchError::CorruptRecord { .. })
    ));
}
