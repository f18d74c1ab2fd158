//! `GET /api/v1/topics/<name>/messages?partition=&offset=|timestamp=&count=&format=`:
//! the message browser. Reads at most [`MAX_COUNT`] records and
//! [`MAX_READ_BYTES`] from the partition's leader with one Fetch (as a
//! consumer: up to the high watermark), starting at an offset (default: the
//! log start) or at the first record at or after a timestamp (ListOffsets),
//! and shows each record's key, value and headers as text, pretty-printed
//! JSON or hex.

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use serde::Serialize;

use super::broker_calls::{self, CONSUMER_REPLICA_ID, EARLIEST, LATEST, call};
use super::error::ConsoleError;
use super::sources::ConsoleSources;
use crate::model::{BrokerId, TopicPartition};

/// Records shown at most per request.
pub const MAX_COUNT: usize = 100;
/// Bytes read at most per request.
pub const MAX_READ_BYTES: i32 = 1024 * 1024;

/// How keys, values and header values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UTF-8 (invalid sequences replaced).
    Text,
    /// Pretty-printed when it parses as JSON, else as text.
    Json,
    Hex,
}

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    LogStart,
    Offset(i64),
    /// The first record with a timestamp at or after this (ms).
    Timestamp(i64),
}

/// What the browser asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    pub partition: i32,
    pub start: ReadFrom,
    pub count: usize,
    pub format: Format,
}

#[derive(Debug, Serialize)]
pub struct MessagesView {
    pub topic: String,
    pub partition: i32,
    pub leader: BrokerId,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    /// Where reading started (after resolving a timestamp).
    pub start_offset: Option<i64>,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<(String, Option<String>)>,
}

/// `bytes` shown in `format`.
pub fn show(bytes: &[u8], format: Format) -> String {
    match format {
        Format::Text => String::from_utf8_lossy(bytes).into_owned(),
        Format::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Format::Json => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) => serde_json::to_string_pretty(&value)
                .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned()),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

pub async fn messages(
    sources: &ConsoleSources,
    topic: &str,
    query: &MessageQuery,
) -> Result<MessagesView, ConsoleError> {
    let snapshot = sources.metadata.snapshot();
    let Some(partition) = snapshot.partition(topic, query.partition) else {
        return Err(ConsoleError::NotFound(format!(
            "partition {topic}-{}",
            query.partition
        )));
    };
    let Some(leader) = snapshot.brokers.get(&partition.leader) else {
        return Err(ConsoleError::BrokerUnavailable {
            broker: partition.leader,
            reason: "the partition has no live leader".into(),
        });
    };
    let tp = TopicPartition::new(topic.to_owned(), query.partition);
    let one = std::slice::from_ref(&tp);
    let offset_at =
        |answers: std::collections::BTreeMap<TopicPartition, Result<i64, i16>>| match answers
            .get(&tp)
        {
            Some(Ok(offset)) => Ok(*offset),
            Some(Err(code)) => Err(ConsoleError::BrokerUnavailable {
                broker: leader.id,
                reason: format!("ListOffsets: error code {code}"),
            }),
            None => Err(ConsoleError::BrokerUnavailable {
                broker: leader.id,
                reason: "ListOffsets answered no partition".into(),
            }),
        };
    let log_start =
        offset_at(broker_calls::offsets(leader, one, EARLIEST, CONSUMER_REPLICA_ID).await?)?;
    let high_watermark =
        offset_at(broker_calls::offsets(leader, one, LATEST, CONSUMER_REPLICA_ID).await?)?;
    let start = match query.start {
        ReadFrom::LogStart => Some(log_start),
        ReadFrom::Offset(offset) => {
            if offset < log_start || offset > high_watermark {
                return Err(ConsoleError::BadRequest(format!(
                    "offset {offset} is outside [{log_start}, {high_watermark}] (log start, high watermark)"
                )));
            }
            Some(offset)
        }
        ReadFrom::Timestamp(ts) => {
            let found =
                offset_at(broker_calls::offsets(leader, one, ts, CONSUMER_REPLICA_ID).await?)?;
            (found >= 0).then_some(found)
        }
    };
    let mut view = MessagesView {
        topic: topic.to_owned(),
        partition: query.partition,
        leader: leader.id,
        log_start_offset: log_start,
        high_watermark,
        start_offset: start,
        messages: Vec::new(),
    };
    let Some(start) = start.filter(|s| *s < high_watermark) else {
        return Ok(view);
    };
    let request = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(CONSUMER_REPLICA_ID))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(MAX_READ_BYTES)
        .with_isolation_level(0)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(query.partition)
                        .with_fetch_offset(start)
                        .with_partition_max_bytes(MAX_READ_BYTES),
                ]),
        ]);
    let response: FetchResponse = call(leader, ApiKey::Fetch, 4, &request).await?;
    let Some(answer) = response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .next()
    else {
        return Ok(view);
    };
    if answer.error_code != 0 {
        return Err(ConsoleError::BrokerUnavailable {
            broker: leader.id,
            reason: format!("Fetch: error code {}", answer.error_code),
        });
    }
    let mut records = answer.records.unwrap_or_default();
    let sets = RecordBatchDecoder::decode_all(&mut records).map_err(|e| {
        ConsoleError::BrokerUnavailable {
            broker: leader.id,
            reason: format!("undecodable records: {e}"),
        }
    })?;
    let shown = |b: &Option<bytes::Bytes>| b.as_ref().map(|b| show(b, query.format));
    view.messages = sets
        .into_iter()
        .flat_map(|set| set.records)
        .filter(|r| r.offset >= start && r.offset < high_watermark)
        .take(query.count)
        .map(|r| MessageView {
            offset: r.offset,
            timestamp: r.timestamp,
            key: shown(&r.key),
            value: shown(&r.value),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), shown(v)))
                .collect(),
        })
        .collect();
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_show_as_text_json_or_hex() {
        assert_eq!(show(b"{\"a\":1}", Format::Text), "{\"a\":1}");
        assert_eq!(show(b"{\"a\":1}", Format::Json), "{\n  \"a\": 1\n}");
        assert_eq!(show(b"not json", Format::Json), "not json");
        assert_eq!(show(&[0, 0xab, 0xff], Format::Hex), "00abff");
        assert_eq!(show(&[0x66, 0xff], Format::Text), "f\u{fffd}");
    }
}
