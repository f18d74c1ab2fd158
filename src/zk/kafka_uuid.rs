//! Kafka's `Uuid` as it appears in znodes: 16 random bytes (a UUID v4) written
//! as 22 characters of URL-safe base64 without padding. Used for topic ids
//! (`/brokers/topics/<t>` `topic_id`) and the cluster id (`/cluster/id`).

/// Kafka's `Uuid.METADATA_TOPIC_ID` (0, 1), never handed out as a random id.
const METADATA_TOPIC_ID: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

/// A fresh random id as Kafka makes one (`Uuid.randomUuid`): never all zeros,
/// never the metadata topic id, and never a string starting with `-` (Kafka
/// avoids those because command-line tools would read them as options).
pub fn new_kafka_uuid() -> (String, [u8; 16]) {
    loop {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        if bytes == [0; 16] || bytes == METADATA_TOPIC_ID {
            continue;
        }
        let text = encode_kafka_uuid(&bytes);
        if !text.starts_with('-') {
            return (text, bytes);
        }
    }
}

pub use crate::model::{decode_kafka_uuid, encode_kafka_uuid};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_has_kafka_shape() {
        for _ in 0..200 {
            let (text, bytes) = new_kafka_uuid();
            assert_eq!(text.len(), 22);
            assert!(!text.starts_with('-'));
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
            assert_eq!(decode_kafka_uuid(&text), Some(bytes));
        }
    }

    #[test]
    fn decodes_kafka_written_ids() {
        // A cluster id and a topic id as written by Kafka.
        let bytes = decode_kafka_uuid("IOejp_IKSbWbySJc0sRrKw").unwrap();
        assert_eq!(encode_kafka_uuid(&bytes), "IOejp_IKSbWbySJc0sRrKw");
        // Kafka's Uuid.ZERO_UUID and METADATA_TOPIC_ID strings.
        assert_eq!(decode_kafka_uuid("AAAAAAAAAAAAAAAAAAAAAA"), Some([0; 16]));
        assert_eq!(
            decode_kafka_uuid("AAAAAAAAAAAAAAAAAAAAAQ"),
            Some(METADATA_TOPIC_ID)
        );
        assert_eq!(decode_kafka_uuid("too-short"), None);
        assert_eq!(decode_kafka_uuid("AAAAAAAAAAAAAAAAAAAAA="), None);
        assert_eq!(decode_kafka_uuid("AAAAAAAAAAAAAAAAAAAA+/"), None);
    }
}
