//! Test-only helpers: build valid magic-2 batches of uncompressed records with
//! a correct CRC32C, the way a producer would send them.

/// Zigzag varint as Kafka's `ByteUtils.writeVarlong` writes it.
fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A batch with base offset `base_offset` and one record per timestamp; each
/// record's value is a few bytes derived from its index.
pub fn batch_with_timestamps(base_offset: i64, timestamps_ms: &[i64]) -> Vec<u8> {
    batch_with_values(base_offset, timestamps_ms, 8)
}

/// A batch with `count` records, timestamps 1000, 1001, ...
pub fn batch(base_offset: i64, count: usize) -> Vec<u8> {
    let ts: Vec<i64> = (0..count as i64).map(|i| 1000 + i).collect();
    batch_with_timestamps(base_offset, &ts)
}

/// A batch with one record per timestamp, each carrying a `value_bytes`-byte value.
pub fn batch_with_values(base_offset: i64, timestamps_ms: &[i64], value_bytes: usize) -> Vec<u8> {
    let base_ts = timestamps_ms.first().copied().unwrap_or(-1);
    let max_ts = timestamps_ms.iter().copied().max().unwrap_or(-1);
    let mut records = Vec::new();
    for (i, ts) in timestamps_ms.iter().enumerate() {
        let mut body = vec![0u8]; // attributes
        put_varlong(&mut body, ts - base_ts);
        put_varlong(&mut body, i as i64);
        put_varlong(&mut body, -1); // null key
        put_varlong(&mut body, value_bytes as i64);
        body.extend((0..value_bytes).map(|j| (i + j) as u8));
        put_varlong(&mut body, 0); // no headers
        put_varlong(&mut records, body.len() as i64);
        records.extend_from_slice(&body);
    }
    let count = timestamps_ms.len() as i32;
    let mut b = Vec::with_capacity(61 + records.len());
    b.extend_from_slice(&base_offset.to_be_bytes());
    b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, filled below
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes
    b.extend_from_slice(&(count - 1).max(0).to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Marks a batch as compressed with `codec` (the records are left as they are,
/// which is enough for code that never decompresses) and fixes the CRC.
pub fn set_codec(b: &mut [u8], codec: i16) {
    let attrs = i16::from_be_bytes([b[21], b[22]]) | codec;
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// A batch of keyed records (`None` key or value: null), timestamps 1000,
/// 1001, ..., from producer `producer_id` (-1: none) with base sequence 0.
pub fn keyed_batch_from(
    base_offset: i64,
    producer_id: i64,
    records: &[(Option<&str>, Option<&str>)],
) -> Vec<u8> {
    let mut body_all = Vec::new();
    for (i, (key, value)) in records.iter().enumerate() {
        let mut body = vec![0u8];
        put_varlong(&mut body, i as i64); // timestamp delta
        put_varlong(&mut body, i as i64); // offset delta
        for field in [key, value] {
            match field {
                Some(s) => {
                    put_varlong(&mut body, s.len() as i64);
                    body.extend_from_slice(s.as_bytes());
                }
                None => put_varlong(&mut body, -1),
            }
        }
        put_varlong(&mut body, 0);
        put_varlong(&mut body_all, body.len() as i64);
        body_all.extend_from_slice(&body);
    }
    let count = records.len() as i32;
    let mut b = Vec::with_capacity(61 + body_all.len());
    b.extend_from_slice(&base_offset.to_be_bytes());
    b.extend_from_slice(&((49 + body_all.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(count - 1).max(0).to_be_bytes());
    b.extend_from_slice(&1000i64.to_be_bytes());
    b.extend_from_slice(&(1000 + i64::from(count.max(1)) - 1).to_be_bytes());
    b.extend_from_slice(&producer_id.to_be_bytes());
    let (epoch, seq) = if producer_id >= 0 {
        (0i16, 0i32)
    } else {
        (-1, -1)
    };
    b.extend_from_slice(&epoch.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(&body_all);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// `keyed_batch_from` without a producer id.
pub fn keyed_batch(base_offset: i64, records: &[(Option<&str>, Option<&str>)]) -> Vec<u8> {
    keyed_batch_from(base_offset, -1, records)
}

/// The uncompressed batch `plain` with its records compressed by `codec`.
pub fn compress_batch(plain: &[u8], codec: u8) -> Vec<u8> {
    let body = super::cleaner_records::compress(codec, &plain[61..]).unwrap();
    let mut b = plain[..61].to_vec();
    b.extend_from_slice(&body);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let attrs = i16::from_be_bytes([b[21], b[22]]) | i16::from(codec);
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}
