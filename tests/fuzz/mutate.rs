//! The fuzz test's mutators: from a valid frame to an almost-valid one (bit
//! flips, interesting integers written over length and count fields,
//! truncation, extension, splices with another frame, removed and repeated
//! ranges, another version in the header), a Produce frame whose record
//! batch is damaged but keeps a valid CRC (so the checks behind the CRC run),
//! and purely random frames.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;

use super::rng::Rng;
use super::templates::{self, Template};

/// The kinds of frames the fuzzer makes, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    /// A template as it is.
    Valid,
    BitFlips,
    InterestingInt,
    Truncate,
    Extend,
    Splice,
    RemoveRange,
    RepeatRange,
    OtherVersion,
    /// Several of the above on one frame.
    Stacked,
    /// A Produce frame whose batch is damaged behind a recomputed CRC.
    BatchBehindCrc,
    /// Random bytes behind a random (often supported) key and version.
    Random,
}

pub const ALL: &[Mutation] = &[
    Mutation::Valid,
    Mutation::BitFlips,
    Mutation::InterestingInt,
    Mutation::Truncate,
    Mutation::Extend,
    Mutation::Splice,
    Mutation::RemoveRange,
    Mutation::RepeatRange,
    Mutation::OtherVersion,
    Mutation::Stacked,
    Mutation::BatchBehindCrc,
    Mutation::Random,
];

/// Values that break length and count fields.
const INTERESTING_I32: &[i32] = &[
    0,
    1,
    -1,
    -2,
    2,
    7,
    16,
    127,
    128,
    255,
    256,
    0x7fff,
    0x8000,
    0xffff,
    0x10000,
    i32::MAX,
    i32::MIN,
    i32::MAX - 1,
    1 << 30,
    1 << 20,
];

/// Makes one frame from `templates` with a mutation chosen by `rng`.
pub fn next_frame(rng: &mut Rng, templates: &[Template], batches: &[Bytes]) -> (Mutation, Bytes) {
    let mutation = *rng.pick(ALL);
    let template = rng.pick(templates);
    let frame = match mutation {
        Mutation::Valid => template.frame.clone(),
        Mutation::Random => random_frame(rng, templates),
        Mutation::BatchBehindCrc => damaged_batch_frame(rng, batches),
        Mutation::Stacked => {
            let mut bytes = template.frame.to_vec();
            for _ in 0..2 + rng.below(4) {
                let one = *rng.pick(&ALL[1..9]);
                bytes = apply(rng, one, bytes, templates);
            }
            Bytes::from(bytes)
        }
        other => Bytes::from(apply(rng, other, template.frame.to_vec(), templates)),
    };
    (mutation, frame)
}

/// One byte-level mutation of `bytes`.
fn apply(rng: &mut Rng, mutation: Mutation, mut bytes: Vec<u8>, templates: &[Template]) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    match mutation {
        Mutation::BitFlips => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
        }
        Mutation::InterestingInt => {
            // Past the 8 header bytes most of the time: the body's lengths,
            // counts and varints are what the decoders trust.
            let value = *rng.pick(INTERESTING_I32);
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = value as u8,
                1 => write_at(&mut bytes, at, &(value as i16).to_be_bytes()),
                2 => write_at(&mut bytes, at, &value.to_be_bytes()),
                _ => write_at(&mut bytes, at, &varint(value)),
            }
        }
        Mutation::Truncate => bytes.truncate(rng.below(bytes.len())),
        Mutation::Extend => {
            let mut tail = vec![0u8; 1 + rng.below(64)];
            rng.fill(&mut tail);
            bytes.extend_from_slice(&tail);
        }
        Mutation::Splice => {
            let other = &rng.pick(templates).frame;
            let cut = rng.below(bytes.len());
            let from = rng.below(other.len().max(1));
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from.min(other.len())..]);
        }
        Mutation::RemoveRange => {
            let start = rng.below(bytes.len());
            let end = (start + 1 + rng.below(16)).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::RepeatRange => {
            let start = rng.below(bytes.len());
            let end = (start + 1 + rng.below(32)).min(bytes.len());
            let range = bytes[start..end].to_vec();
            let at = rng.below(bytes.len());
            bytes.splice(at..at, range);
        }
        Mutation::OtherVersion if bytes.len() >= 4 => {
            let version = rng.below(16) as i16;
            bytes[2..4].copy_from_slice(&version.to_be_bytes());
        }
        _ => {}
    }
    bytes
}

fn write_at(bytes: &mut [u8], at: usize, value: &[u8]) {
    let end = (at + value.len()).min(bytes.len());
    bytes[at..end].copy_from_slice(&value[..end - at]);
}

/// Kafka's zigzag varint of `value`.
fn varint(value: i32) -> Vec<u8> {
    let mut raw = ((value << 1) ^ (value >> 31)) as u32;
    let mut out = Vec::new();
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
    out
}

/// Random bytes behind a header of a random key and version: mostly a
/// supported key (so the body reaches a decoder), sometimes anything.
fn random_frame(rng: &mut Rng, templates: &[Template]) -> Bytes {
    let mut buf = BytesMut::new();
    if rng.one_in(4) {
        buf.put_i16(rng.next_u64() as i16);
        buf.put_i16(rng.next_u64() as i16);
    } else {
        let template = rng.pick(templates);
        buf.put_i16(template.key as i16);
        buf.put_i16(template.version);
    }
    let longest = if rng.one_in(8) { 4096 } else { 96 };
    let mut rest = vec![0u8; rng.below(longest)];
    rng.fill(&mut rest);
    buf.put_slice(&rest);
    buf.freeze()
}

/// Offset of a magic-2 batch's CRC field and of the bytes it covers.
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;

/// A Produce frame (any supported version) whose record batch is one of
/// `batches` damaged (bytes flipped or overwritten, records cut or
/// extended, counts changed) and then given a valid batch length and CRC
/// again, so validation gets past the CRC to the records.
fn damaged_batch_frame(rng: &mut Rng, batches: &[Bytes]) -> Bytes {
    let mut batch = rng.pick(batches).to_vec();
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = CRC_FROM + rng.below(batch.len() - CRC_FROM);
                batch[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            let i = CRC_FROM + rng.below(batch.len() - CRC_FROM);
            let value = *rng.pick(INTERESTING_I32);
            write_at(&mut batch, i, &value.to_be_bytes());
        }
        2 => {
            let keep = CRC_FROM + rng.below(batch.len() - CRC_FROM);
            batch.truncate(keep.max(61));
        }
        3 => {
            let mut tail = vec![0u8; 1 + rng.below(32)];
            rng.fill(&mut tail);
            batch.extend_from_slice(&tail);
        }
        _ => {
            // The record count (offset 57) or the last offset delta (23).
            let value = *rng.pick(INTERESTING_I32);
            let at = if rng.one_in(2) { 57 } else { 23 };
            write_at(&mut batch, at, &value.to_be_bytes());
        }
    }
    let new_length = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&new_length.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_FROM..]);
    batch[CRC_AT..CRC_FROM].copy_from_slice(&crc.to_be_bytes());
    let version = 3 + rng.below(7) as i16;
    let acks = *rng.pick(&[-1, 0, 1]);
    templates::frame(
        ApiKey::Produce,
        version,
        16,
        &templates::produce(Bytes::from(batch), acks),
    )
    .expect("a Produce request encodes in every supported version")
}

/// True when `key` is one brokers send each other (not a client API): the
/// controller's requests, and ControlledShutdown, which a stranger's mutated
/// frame may legitimately use to take the broker's leaderships away (Kafka
/// guards it only by authorization), so it belongs with them.
pub fn is_inter_broker(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::LeaderAndIsr
            | ApiKey::StopReplica
            | ApiKey::UpdateMetadata
            | ApiKey::ControlledShutdown
    )
}
