//! The controller's channel to each live broker (Kafka's
//! ControllerChannelManager): one bounded queue (`channel_queue.rs`) and one
//! sender task per broker, sending LeaderAndIsr, UpdateMetadata and
//! StopReplica (`control_request.rs`, queued encoded: `encoded_request.rs`)
//! over `crate::client` in order, retrying each request until
//! it is answered or the broker is removed. A request is sent again only on
//! a new connection after the old one failed, never while the broker may
//! still be working on it. The controller never waits on a broker; what it
//! must learn (StopReplica answers for topic deletion, a dropped queue's
//! broker answering again) comes back as `ChannelReport`s through a bounded
//! channel into its event loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::channel_queue::{QUEUE_CAPACITY, Queued, RequestQueue};
use super::control_request::Answer;
use super::encoded_request::EncodedRequest;
use crate::client::{BrokerConnection, ConnectionError, ConnectionOptions};
use crate::model::{BrokerId, TopicPartition};

/// Larger answers fail the connection.
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// What a sender task tells the controller's event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelReport {
    /// A StopReplica queued with a report was answered: each partition's
    /// error code (a top-level error counts for every partition).
    StopReplicaAnswered {
        broker: BrokerId,
        partitions: Vec<(TopicPartition, i16)>,
    },
    /// The broker's queue had overflowed and was dropped; the broker has
    /// answered again since: send it its full state.
    Resync { broker: BrokerId },
}

/// How many reports may wait for the controller's event loop (the senders
/// wait when it is full; the controller never waits on them).
pub const REPORT_CAPACITY: usize = 256;

struct BrokerChannel {
    queue: Arc<RequestQueue>,
    stop: CancellationToken,
}

/// The controller's side: one queue and sender task per live broker. Never
/// waits: a broker that does not keep up has its queue dropped (see
/// `channel_queue.rs`).
pub struct ControllerChannelManager {
    controller_id: BrokerId,
    socket_timeout: Duration,
    brokers: HashMap<BrokerId, BrokerChannel>,
    reports: mpsc::Sender<ChannelReport>,
}

impl ControllerChannelManager {
    pub fn new(
        controller_id: BrokerId,
        socket_timeout: Duration,
        reports: mpsc::Sender<ChannelReport>,
    ) -> ControllerChannelManager {
        ControllerChannelManager {
            controller_id,
            socket_timeout,
            brokers: HashMap::new(),
            reports,
        }
    }

    pub fn add_broker(&mut self, id: BrokerId, host: String, port: u16) {
        self.remove_broker(id);
        let queue = Arc::new(RequestQueue::new(QUEUE_CAPACITY));
        let stop = CancellationToken::new();
        let sender_task = BrokerSender {
            broker_id: id,
            address: format!("{host}:{port}"),
            client_id: format!("sluice-controller-{}", self.controller_id),
            socket_timeout: self.socket_timeout,
            stop: stop.clone(),
            queue: queue.clone(),
            reports: self.reports.clone(),
        };
        tokio::spawn(sender_task.run());
        self.brokers.insert(id, BrokerChannel { queue, stop });
    }

    pub fn remove_broker(&mut self, id: BrokerId) {
        if let Some(channel) = self.brokers.remove(&id) {
            channel.stop.cancel();
        }
    }

    /// Queues a request for a broker registered with `broker_epoch` (the
    /// same encoded request may be queued for many brokers); never waits.
    pub fn send(&self, broker: BrokerId, broker_epoch: i64, request: Arc<EncodedRequest>) {
        self.queue(broker, broker_epoch, request, false);
    }

    /// Queues a request whose answer is reported back (`ChannelReport`).
    /// A broker without a channel (not live) gets nothing, and nothing is reported.
    pub fn send_reported(&self, broker: BrokerId, broker_epoch: i64, request: Arc<EncodedRequest>) {
        self.queue(broker, broker_epoch, request, true);
    }

    fn queue(
        &self,
        broker: BrokerId,
        broker_epoch: i64,
        request: Arc<EncodedRequest>,
        report: bool,
    ) {
        let Some(channel) = self.brokers.get(&broker) else {
            tracing::debug!(
                %broker,
                request = request.name(),
                "no channel to broker; dropped"
            );
            return;
        };
        let dropped = channel.queue.push(request, broker_epoch, report);
        if dropped > 0 {
            tracing::warn!(
                %broker,
                dropped,
                capacity = QUEUE_CAPACITY,
                "broker does not keep up with the controller: its queued requests were dropped; \
                 it gets its full state once it answers again"
            );
        }
    }

    pub fn shutdown(&mut self) {
        for (_, channel) in self.brokers.drain() {
            channel.stop.cancel();
        }
    }
}

impl Drop for ControllerChannelManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct BrokerSender {
    broker_id: BrokerId,
    address: String,
    client_id: String,
    socket_timeout: Duration,
    stop: CancellationToken,
    queue: Arc<RequestQueue>,
    reports: mpsc::Sender<ChannelReport>,
}

impl BrokerSender {
    async fn run(self) {
        // Connecting is bounded by controller.socket.timeout.ms; so is a
        // peer that stops acknowledging at the TCP level. A live broker that
        // is slow to answer is waited for (`send_once`).
        let mut connection = BrokerConnection::new(
            self.address.clone(),
            self.client_id.clone(),
            ConnectionOptions::default()
                .with_connect_timeout(self.socket_timeout)
                .with_liveness_timeout(self.socket_timeout)
                .with_max_response_bytes(MAX_RESPONSE_BYTES),
        );
        loop {
            let entry = tokio::select! {
                _ = self.stop.cancelled() => return,
                e = self.queue.pop() => e,
            };
            let report = match entry {
                Queued::Resync => ChannelReport::Resync {
                    broker: self.broker_id,
                },
                Queued::Request {
                    request,
                    broker_epoch,
                    report,
                } => {
                    let Some(answer) = self.deliver(&mut connection, &request, broker_epoch).await
                    else {
                        return;
                    };
                    if !report || !request.is_stop_replica() {
                        continue;
                    }
                    ChannelReport::StopReplicaAnswered {
                        broker: self.broker_id,
                        partitions: answer.stop_replica_errors(request.stop_replica_partitions()),
                    }
                }
            };
            tokio::select! {
                _ = self.stop.cancelled() => return,
                sent = self.reports.send(report) => if sent.is_err() { return },
            }
        }
    }

    /// Sends `request` until the broker answers (`None`: stopped first).
    /// A request is sent again only on a new connection, after the old one
    /// failed: never while the
    /// broker may still be working on it (a large LeaderAndIsr can take
    /// longer than controller.socket.timeout.ms, and sending it again would
    /// only double the broker's work).
    async fn deliver(
        &self,
        connection: &mut BrokerConnection,
        request: &EncodedRequest,
        broker_epoch: i64,
    ) -> Option<Answer> {
        let mut backoff = Duration::from_millis(50);
        loop {
            let started = std::time::Instant::now();
            let attempt = tokio::select! {
                _ = self.stop.cancelled() => return None,
                r = self.send_once(connection, request, broker_epoch) => r,
            };
            match attempt {
                Ok(answer) => {
                    if answer.error_code != 0 {
                        tracing::warn!(
                            broker = %self.broker_id,
                            request = request.name(),
                            error_code = answer.error_code,
                            "broker answered controller request with an error"
                        );
                    }
                    tracing::debug!(
                        broker = %self.broker_id,
                        request = request.name(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "controller request answered"
                    );
                    return Some(answer);
                }
                Err(e) => {
                    tracing::debug!(broker = %self.broker_id, request = request.name(), error = %e, "controller request failed; reconnecting to send it again");
                }
            }
            connection.disconnect();
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// One attempt on the current connection (a new one if there is none):
    /// the answer, or why the connection is unusable. A live broker that is
    /// slow to answer is waited for, with a warning each
    /// controller.socket.timeout.ms.
    async fn send_once(
        &self,
        connection: &mut BrokerConnection,
        request: &EncodedRequest,
        broker_epoch: i64,
    ) -> Result<Answer, ConnectionError> {
        let started = std::time::Instant::now();
        let answer = request.send_on(connection, broker_epoch);
        tokio::pin!(answer);
        loop {
            tokio::select! {
                answer = &mut answer => return answer,
                _ = tokio::time::sleep(self.socket_timeout) => tracing::warn!(
                    broker = %self.broker_id,
                    request = request.name(),
                    waited_ms = started.elapsed().as_millis() as u64,
                    "controller request not answered yet; still waiting on the live connection"
                ),
            }
        }
    }
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;
