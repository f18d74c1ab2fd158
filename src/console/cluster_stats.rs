//! `GET /api/v1/stats`: every live broker's traffic counters
//! ([`BrokerStats`]), for the per-broker charts and the topics' rates.
//! This broker's are read directly; another broker's come from its own
//! `/api/v1/broker-stats`, at the address of its `metrics.listener`, which
//! the console learns by asking that broker over the Kafka protocol
//! (DescribeConfigs of its BROKER resource) and remembers until a read
//! fails. A wildcard host (`0.0.0.0`, `::`, empty) is replaced by the
//! broker's registered host; a port of 0 cannot be found this way (the
//! broker is listed with the reason). Brokers are asked at once, each
//! bounded by the peer timeout.

use std::collections::BTreeMap;

use serde::Serialize;

use super::broker_calls;
use super::broker_stats::{self, BrokerStats, TopicStats};
use super::peer_http;
use super::sources::ConsoleSources;
use crate::metadata::BrokerEndpoint;
use crate::model::BrokerId;
use crate::util::split_http_address;

/// The path every broker's console answers its own counters on.
pub const BROKER_STATS_PATH: &str = "/api/v1/broker-stats";
const METRICS_LISTENER_KEY: &str = "metrics.listener";

#[derive(Debug, Serialize)]
pub struct ClusterStats {
    /// When this answer was put together (ms since the Unix epoch).
    pub time_ms: u64,
    pub brokers: Vec<BrokerStatsAnswer>,
}

/// One broker's counters, or why they are missing.
#[derive(Debug, Serialize)]
pub struct BrokerStatsAnswer {
    pub id: BrokerId,
    pub stats: Option<BrokerStats>,
    pub error: Option<String>,
}

impl ClusterStats {
    /// Each topic's counters summed over the brokers that answered.
    pub fn topic_totals(&self) -> BTreeMap<String, TopicStats> {
        let mut totals: BTreeMap<String, TopicStats> = BTreeMap::new();
        for stats in self.brokers.iter().filter_map(|b| b.stats.as_ref()) {
            for (topic, t) in &stats.topics {
                totals.entry(topic.clone()).or_default().add(t);
            }
        }
        totals
    }
}

pub async fn cluster_stats(console: &ConsoleSources) -> ClusterStats {
    let snapshot = console.metadata.snapshot();
    let mut tasks = tokio::task::JoinSet::new();
    for (id, endpoint) in &snapshot.brokers {
        if *id == console.broker_id {
            continue;
        }
        let endpoint = endpoint.clone();
        let known = console.peers.address(*id);
        tasks.spawn(async move {
            let answer = peer_stats(&endpoint, known.as_deref()).await;
            (endpoint.id, answer)
        });
    }
    let mut brokers = vec![BrokerStatsAnswer {
        id: console.broker_id,
        stats: Some(broker_stats::read(
            console.broker_id,
            crate::metrics::global(),
        )),
        error: None,
    }];
    while let Some(joined) = tasks.join_next().await {
        let Ok((id, answer)) = joined else { continue };
        match answer {
            Ok((address, stats)) => {
                console.peers.remember(id, address);
                brokers.push(BrokerStatsAnswer {
                    id,
                    stats: Some(stats),
                    error: None,
                });
            }
            Err(error) => {
                console.peers.forget(id);
                brokers.push(BrokerStatsAnswer {
                    id,
                    stats: None,
                    error: Some(error),
                });
            }
        }
    }
    brokers.sort_by_key(|b| b.id);
    ClusterStats {
        time_ms: broker_stats::now_ms(),
        brokers,
    }
}

/// `broker`'s counters and the address they were read from.
async fn peer_stats(
    broker: &BrokerEndpoint,
    known: Option<&str>,
) -> Result<(String, BrokerStats), String> {
    let address = match known {
        Some(address) => address.to_owned(),
        None => {
            let value = broker_calls::broker_config(broker, METRICS_LISTENER_KEY)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("broker {} has no {METRICS_LISTENER_KEY}", broker.id))?;
            http_address(&value, &broker.host)?
        }
    };
    let body = peer_http::get(&address, BROKER_STATS_PATH).await?;
    let stats: BrokerStats = serde_json::from_slice(&body)
        .map_err(|e| format!("{address}{BROKER_STATS_PATH}: not its counters: {e}"))?;
    Ok((address, stats))
}

/// The `host:port` to reach a broker's HTTP listener at, from its
/// `metrics.listener` value (`host:port` or `http://host:port[/metrics]`)
/// and its registered host.
pub fn http_address(listener: &str, registered_host: &str) -> Result<String, String> {
    let bad = |why: &str| format!("{METRICS_LISTENER_KEY}={listener:?}: {why}");
    let (host, port) = split_http_address(listener).map_err(|why| bad(&why))?;
    if port == 0 {
        return Err(bad("port 0 (picked at start) cannot be found from outside"));
    }
    let wildcard = matches!(host, "" | "0.0.0.0" | "[::]");
    let host = if wildcard { registered_host } else { host };
    if host.contains(':') && !host.starts_with('[') {
        Ok(format!("[{host}]:{port}"))
    } else {
        Ok(format!("{host}:{port}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_from_metrics_listener_values() {
        let at = |v: &str| http_address(v, "broker-2.example");
        assert_eq!(at("10.0.0.2:9404").unwrap(), "10.0.0.2:9404");
        assert_eq!(at("http://10.0.0.2:9404/metrics").unwrap(), "10.0.0.2:9404");
        assert_eq!(at("http://10.0.0.2:9404/").unwrap(), "10.0.0.2:9404");
        assert_eq!(at("0.0.0.0:9404").unwrap(), "broker-2.example:9404");
        assert_eq!(at(":9404").unwrap(), "broker-2.example:9404");
        assert_eq!(at("[::]:9404").unwrap(), "broker-2.example:9404");
        assert_eq!(at("[::1]:9404").unwrap(), "[::1]:9404");
        assert_eq!(
            http_address("0.0.0.0:9404", "fe80::1").unwrap(),
            "[fe80::1]:9404"
        );
        assert!(at("127.0.0.1:0").unwrap_err().contains("port 0"));
        assert!(at("127.0.0.1").is_err());
        assert!(at("127.0.0.1:x").is_err());
    }

    #[test]
    fn topic_totals_sum_the_brokers_that_answered() {
        let stats = |broker: i32, bytes_in: u64| {
            let mut s = BrokerStats {
                broker: BrokerId(broker),
                ..BrokerStats::default()
            };
            s.topics.insert(
                "t".into(),
                TopicStats {
                    messages_in: 1,
                    bytes_in,
                    bytes_out: 5,
                },
            );
            s
        };
        let cluster = ClusterStats {
            time_ms: 0,
            brokers: vec![
                BrokerStatsAnswer {
                    id: BrokerId(1),
                    stats: Some(stats(1, 100)),
                    error: None,
                },
                BrokerStatsAnswer {
                    id: BrokerId(2),
                    stats: None,
                    error: Some("down".into()),
                },
                BrokerStatsAnswer {
                    id: BrokerId(3),
                    stats: Some(stats(3, 50)),
                    error: None,
                },
            ],
        };
        assert_eq!(
            cluster.topic_totals()["t"],
            TopicStats {
                messages_in: 2,
                bytes_in: 150,
                bytes_out: 10
            }
        );
    }
}
