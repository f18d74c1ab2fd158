//! Every room's settings built from the broker's config, in one place: the
//! rooms never read `BrokerConfig` keys themselves (replication, the
//! controller, controlled shutdown, the group coordinator, the default log
//! config). Every `*.ms` key becomes a `Duration` here, once; the rooms
//! never see a bare millisecond count from config.

use std::time::Duration;

use super::controlled_shutdown::ControlledShutdownSettings;
use crate::admin::dynamic_config;
use crate::config::BrokerConfig;
use crate::controller::ControllerSettings;
use crate::group::GroupSettings;
use crate::log::LogConfig;
use crate::model::BrokerId;
use crate::replica::ReplicationSettings;

/// A millisecond key as a `Duration` (negative counts as 0).
fn millis(ms: impl Into<i64>) -> Duration {
    Duration::from_millis(ms.into().max(0) as u64)
}

/// The `replica.*` keys and the fetch session cache.
pub fn replication_settings(config: &BrokerConfig) -> ReplicationSettings {
    ReplicationSettings {
        num_replica_fetchers: config.num_replica_fetchers.max(1) as usize,
        fetch_max_bytes: config.replica_fetch_max_bytes,
        fetch_response_max_bytes: config.replica_fetch_response_max_bytes,
        fetch_min_bytes: config.replica_fetch_min_bytes.max(1),
        fetch_wait_max: millis(config.replica_fetch_wait_max_ms),
        fetch_backoff: millis(config.replica_fetch_backoff_ms),
        socket_timeout: millis(config.replica_socket_timeout_ms),
        lag_time_max: millis(config.replica_lag_time_max_ms),
        fetch_session_cache_slots: config.max_incremental_fetch_session_cache_slots.max(0) as usize,
    }
}

/// The topic-level log settings that follow from broker config.
pub fn log_config(config: &BrokerConfig) -> LogConfig {
    dynamic_config::topic_log_config(config, &Default::default())
}

/// What the controller acts on, for broker `broker_id`.
pub fn controller_settings(config: &BrokerConfig, broker_id: BrokerId) -> ControllerSettings {
    ControllerSettings {
        broker_id,
        unclean_leader_election_enable: config.unclean_leader_election_enable,
        delete_topic_enable: config.delete_topic_enable,
        socket_timeout: millis(config.controller_socket_timeout_ms),
        auto_leader_rebalance_enable: config.auto_leader_rebalance_enable,
        leader_imbalance_check_interval: Duration::from_secs(
            config.leader_imbalance_check_interval_seconds.max(1) as u64,
        ),
        leader_imbalance_per_broker_percentage: config.leader_imbalance_per_broker_percentage,
        inter_broker_listener_name: config.inter_broker_listener_name.clone(),
    }
}

/// `controlled.shutdown.*`; `None` when controlled.shutdown.enable=false.
pub fn controlled_shutdown_settings(config: &BrokerConfig) -> Option<ControlledShutdownSettings> {
    config
        .controlled_shutdown_enable
        .then(|| ControlledShutdownSettings {
            max_retries: config.controlled_shutdown_max_retries.max(0) as u32,
            retry_backoff: millis(config.controlled_shutdown_retry_backoff_ms),
            attempt_timeout: millis(config.controller_socket_timeout_ms.max(1)),
            inter_broker_listener_name: config.inter_broker_listener_name.clone(),
        })
}

/// The group coordinator's settings.
pub fn group_settings(config: &BrokerConfig) -> GroupSettings {
    GroupSettings {
        min_session_timeout: millis(config.group_min_session_timeout_ms),
        max_session_timeout: millis(config.group_max_session_timeout_ms),
        initial_rebalance_delay: millis(config.group_initial_rebalance_delay_ms),
        max_size: config.group_max_size,
        // offset.metadata.max.bytes is not configurable yet: Kafka's default.
        offset_metadata_max_bytes: 4096,
        offsets_retention: millis(config.offsets_retention_minutes as i64 * 60_000),
        offsets_retention_check_interval: millis(config.offsets_retention_check_interval_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_default_config_gives_kafka_default_replication_settings() {
        let only_zookeeper = [("zookeeper.connect".to_owned(), "localhost:2181".to_owned())];
        let config = BrokerConfig::from_properties(&only_zookeeper.into_iter().collect()).unwrap();
        assert_eq!(
            replication_settings(&config),
            ReplicationSettings::default()
        );
        let controller = controller_settings(&config, BrokerId(7));
        assert_eq!(controller.broker_id, BrokerId(7));
        assert_eq!(controller.socket_timeout, Duration::from_secs(30));
        assert_eq!(
            controller.leader_imbalance_check_interval,
            Duration::from_secs(300)
        );
        let shutdown = controlled_shutdown_settings(&config).expect("enabled by default");
        assert_eq!(shutdown.max_retries, 3);
        assert_eq!(shutdown.retry_backoff, Duration::from_secs(5));
        let groups = group_settings(&config);
        assert_eq!(
            groups.offsets_retention,
            Duration::from_secs(7 * 24 * 60 * 60)
        );
        assert_eq!(groups.min_session_timeout, Duration::from_secs(6));
        assert_eq!(groups.max_session_timeout, Duration::from_secs(1800));
        assert_eq!(groups.initial_rebalance_delay, Duration::from_secs(3));
        assert_eq!(
            groups.offsets_retention_check_interval,
            Duration::from_secs(600)
        );
    }

    #[test]
    fn negative_millisecond_keys_count_as_zero() {
        assert_eq!(millis(-5), Duration::ZERO);
        assert_eq!(millis(1500), Duration::from_millis(1500));
    }
}
