//! The only place components are built. Start-up and shutdown order, top to
//! bottom (Kafka's KafkaServer): ZooKeeper session, cluster id and broker id,
//! logs (with recovery), replica manager, the listener, the broker's
//! registration, the controller election, background tasks. Shutdown runs in
//! reverse: stop accepting, finish in-flight requests, flush and checkpoint
//! logs, close the ZooKeeper session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admin::AdminManager;
use crate::admin::dynamic_config::{self, DynamicConfigManager, DynamicConfigs};
use crate::admin::producer_ids::ProducerIdManager;
use crate::config::BrokerConfig;
use crate::controller::{self, ControllerHandle};
use crate::group::GroupCoordinator;
use crate::log::{LogError, LogManager};
use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::replica::ReplicaManager;
use crate::server::{self, BrokerServices};
use crate::zk::{BrokerRegistration, ZkClient, ZkConfig, ZkError};

mod controlled_shutdown;
mod listeners;
mod log_cleaner_task;
mod log_maintenance;
mod metrics_state;
mod registration;
mod settings;
use controlled_shutdown::ControlledShutdownSettings;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("log storage: {0}")]
    Log(#[from] LogError),
    #[error(
        "broker.id {0} is already registered in ZooKeeper by another live broker; give this broker a different broker.id"
    )]
    BrokerIdTaken(BrokerId),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("invalid advertised listener: {0}")]
    Listener(String),
    #[error("loading the logs: {0}")]
    LogLoading(String),
    #[error("shutting down the logs: {0}")]
    Shutdown(String),
}

/// A started broker; `shutdown` stops it cleanly.
pub struct Broker {
    pub broker_id: BrokerId,
    pub bound_port: u16,
    zk: ZkClient,
    log_manager: Arc<LogManager>,
    replica_manager: Arc<ReplicaManager>,
    shutdown: CancellationToken,
    connections: TaskTracker,
    background: TaskTracker,
    /// `None` when controlled.shutdown.enable=false.
    controlled_shutdown: Option<ControlledShutdownSettings>,
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Broker, BrokerError> {
        let config = Arc::new(config);

        // 1. ZooKeeper: session, persistent paths, cluster id, broker id.
        let zk = ZkClient::connect(ZkConfig {
            connect: config.zookeeper_connect.clone(),
            session_timeout_ms: config.zookeeper_session_timeout_ms as u64,
            connection_timeout_ms: config.zookeeper_connection_timeout_ms as u64,
        })
        .await?;
        zk.ensure_persistent_paths().await?;
        let cluster_id = zk.get_or_create_cluster_id().await?;
        // broker.id -1 (the default is an explicit id) asks ZooKeeper for one.
        let broker_id = if config.broker_id >= 0 {
            BrokerId(config.broker_id)
        } else {
            zk.generate_broker_id(config.reserved_broker_max_id).await?
        };
        tracing::info!(%broker_id, %cluster_id, "connected to ZooKeeper");

        // 2. Logs, recovered from the last run.
        let default_log_config = settings::log_config(&config);
        //    Blocking disk work, with num.recovery.threads.per.data.dir
        //    threads per dir, off the async workers.
        let log_manager = {
            let dirs = config.log_dirs.clone();
            let threads = config.num_recovery_threads_per_data_dir.max(1) as usize;
            let loading = tokio::task::spawn_blocking(move || {
                LogManager::startup_with_threads(&dirs, default_log_config, threads)
            });
            Arc::new(match loading.await {
                Ok(loaded) => loaded?,
                Err(e) => return Err(BrokerError::LogLoading(e.to_string())),
            })
        };
        log_manager.read_or_write_meta_properties(broker_id.0, &cluster_id)?;
        let high_watermarks: HashMap<_, _> = log_manager.read_replication_checkpoints()?;

        // 3. Partitions and the cluster view.
        let metadata = Arc::new(MetadataCache::new(cluster_id));
        let replica_manager = Arc::new(ReplicaManager::new(
            broker_id,
            log_manager.clone(),
            default_log_config,
            config.min_insync_replicas as usize,
            settings::replication_settings(&config),
            high_watermarks,
        ));

        // 4. Every listener, bound before we announce ourselves (Kafka's
        //    SocketServer: one acceptor per listener).
        let bound = listeners::bind_all(&config).await?;
        let bound_port = bound.first().map_or(0, |b| b.port);
        let advertised_listeners = listeners::advertised(&config, &bound, &local_hostname());
        let inter_broker = advertised_listeners
            .iter()
            .find(|l| l.listener == config.inter_broker_listener_name)
            .or_else(|| advertised_listeners.first())
            .cloned()
            .ok_or_else(|| BrokerError::Listener("no advertised listener".into()))?;
        let (advertised_host, advertised_port) = (inter_broker.host, inter_broker.port);
        let controller_handle = ControllerHandle::new();
        let group_coordinator = Arc::new(GroupCoordinator::new(
            broker_id,
            settings::group_settings(&config),
            metadata.clone(),
            zk.clone(),
        ));
        let dynamic_configs = Arc::new(DynamicConfigs::new(config.clone()));
        let admin = AdminManager::new(
            broker_id,
            zk.clone(),
            metadata.clone(),
            dynamic_configs.clone(),
            replica_manager.clone(),
        );
        let services = Arc::new(BrokerServices {
            config: config.clone(),
            broker_id,
            advertised_host: advertised_host.clone(),
            advertised_port,
            advertised_listeners: advertised_listeners.clone(),
            metadata,
            replica_manager: replica_manager.clone(),
            admin,
            producer_ids: ProducerIdManager::new(broker_id, zk.clone()),
            controller: controller_handle.clone(),
            groups: group_coordinator.clone(),
            dynamic_configs,
            auto_creations: Default::default(),
            fetch_budget: server::fetch_budget::FetchBudget::new(
                usize::try_from(config.fetch_inflight_max_bytes).unwrap_or(usize::MAX),
            ),
        });
        dynamic_config::load_broker_configs(
            &zk,
            broker_id,
            &services.dynamic_configs,
            &replica_manager,
        )
        .await;
        let shutdown = CancellationToken::new();
        let connections = TaskTracker::new();
        let background = TaskTracker::new();
        if let Some(metrics_address) = &config.metrics_listener {
            let metrics_listener =
                TcpListener::bind(metrics_address)
                    .await
                    .map_err(|source| BrokerError::Bind {
                        address: format!("{metrics_address} (metrics.listener)"),
                        source,
                    })?;
            let source = Arc::new(metrics_state::BrokerStateSource {
                replica_manager: replica_manager.clone(),
                metadata: services.metadata.clone(),
                controller: services.controller.clone(),
                zk: zk.clone(),
            });
            let bound = metrics_listener
                .local_addr()
                .map_err(|source| BrokerError::Bind {
                    address: format!("{metrics_address} (metrics.listener)"),
                    source,
                })?;
            let console: Option<Arc<dyn crate::metrics::HttpApp>> = if config.console_enable {
                Some(Arc::new(crate::console::WebConsole {
                    sources: crate::console::ConsoleSources {
                        broker_id,
                        metadata: services.metadata.clone(),
                        zk: zk.clone(),
                        writes_enabled: config.console_writes_enable,
                        peers: crate::console::PeerConsoles::default(),
                    },
                }))
            } else {
                None
            };
            tracing::info!(
                address = %bound,
                console = config.console_enable,
                console_writes = config.console_writes_enable,
                "metrics endpoint listening (GET /metrics; the web console at /)"
            );
            background.spawn(crate::metrics::run_metrics_server(
                metrics_listener,
                source,
                console,
                shutdown.clone(),
                connections.clone(),
            ));
        }
        background.spawn(group_coordinator.run_timers(shutdown.clone()));
        let dynamic_config_manager = DynamicConfigManager {
            broker_id,
            zk: zk.clone(),
            configs: services.dynamic_configs.clone(),
            replica_manager: replica_manager.clone(),
            metadata: services.metadata.clone(),
            controller: controller_handle.clone(),
        };
        background.spawn(dynamic_config_manager.run(shutdown.clone()));
        let permits = server::connection_permits(config.max_connections.max(1) as usize);
        for b in bound {
            tracing::info!(listener = %b.name, address = %b.address, "listening");
            background.spawn(server::run_acceptor(
                b.socket,
                b.name.as_str().into(),
                services.clone(),
                permits.clone(),
                shutdown.clone(),
                connections.clone(),
            ));
        }

        // 5. Registration: the ephemeral /brokers/ids/<id>.
        let endpoints: Vec<String> = advertised_listeners
            .iter()
            .map(|l| {
                crate::config::Listener {
                    name: l.listener.clone(),
                    host: l.host.clone(),
                    port: l.port,
                }
                .to_string()
            })
            .collect();
        let registration = BrokerRegistration::with_protocol_map(
            &endpoints,
            &config.listener_security_protocol_map,
            config.broker_rack.as_deref(),
        )
        .map_err(|e| BrokerError::Listener(e.to_string()))?;
        let registered = registration::register(
            &zk,
            broker_id,
            &registration,
            Duration::from_millis(config.zookeeper_session_timeout_ms.max(0) as u64),
            &controller_handle,
        )
        .await;
        if let Err(e) = registered {
            shutdown.cancel();
            return Err(e);
        }
        tracing::info!(%broker_id, "registered in ZooKeeper");
        background.spawn(registration::reregister_on_new_session(
            zk.clone(),
            broker_id,
            registration,
            controller_handle.clone(),
            shutdown.clone(),
        ));

        // 6. The controller election.
        background.spawn(controller::run_election_loop(
            zk.clone(),
            settings::controller_settings(&config, broker_id),
            controller_handle,
            shutdown.clone(),
        ));

        // 7. ISR maintenance: shrink and expand the ISRs of led partitions.
        background.spawn(crate::replica::run_isr_maintenance(
            replica_manager.clone(),
            zk.clone(),
            shutdown.clone(),
        ));

        // 7b. Idle idempotent producers are forgotten (producer.id.expiration.ms).
        background.spawn(crate::replica::run_producer_expiration(
            replica_manager.clone(),
            i64::from(config.producer_id_expiration_ms),
            Duration::from_millis(config.producer_id_expiration_check_interval_ms.max(1) as u64),
            shutdown.clone(),
        ));

        // 8. Log maintenance: retention, time-based flush, checkpoints; the log cleaner.
        if config.log_cleaner_enable && config.log_cleaner_threads > 0 {
            let cleaner = Arc::new(crate::log::LogCleaner::new(
                log_manager.clone(),
                config.log_cleaner_dedupe_buffer_size.max(0) as u64,
            ));
            background.spawn(log_cleaner_task::run_log_cleaner(
                cleaner,
                replica_manager.clone(),
                Duration::from_millis(config.log_cleaner_backoff_ms.max(0) as u64),
                shutdown.clone(),
            ));
        }
        background.spawn(crate::malloc_tuning::release_periodically(shutdown.clone()));
        background.spawn(log_maintenance::run_log_maintenance(
            log_manager.clone(),
            replica_manager.clone(),
            config.clone(),
            shutdown.clone(),
        ));

        Ok(Broker {
            broker_id,
            bound_port,
            zk,
            log_manager,
            replica_manager,
            shutdown,
            connections,
            background,
            controlled_shutdown: settings::controlled_shutdown_settings(&config),
        })
    }

    /// Clean shutdown: controlled shutdown (the controller moves our
    /// leaderships away while we still serve; skipped when the ZooKeeper
    /// session is not connected), stop accepting, let in-flight
    /// requests finish, flush and checkpoint the logs, close the ZooKeeper
    /// session (our ephemerals vanish; not waited for when ZooKeeper is
    /// unreachable).
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        tracing::info!(broker_id = %self.broker_id, "shutting down");
        if let Some(settings) = &self.controlled_shutdown {
            controlled_shutdown::controlled_shutdown(&self.zk, self.broker_id, settings).await;
        }
        self.shutdown.cancel();
        self.background.close();
        self.connections.close();
        if tokio::time::timeout(Duration::from_secs(30), self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish within 30 s");
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.background.wait()).await;
        // Disk work (snapshots, fsyncs, checkpoints) on a blocking thread.
        let (log_manager, replica_manager) =
            (self.log_manager.clone(), self.replica_manager.clone());
        tokio::task::spawn_blocking(move || {
            replica_manager.shutdown();
            log_maintenance::checkpoint_high_watermarks(&log_manager, &replica_manager);
            log_manager.shutdown()
        })
        .await
        .map_err(|e| BrokerError::Shutdown(e.to_string()))??;
        self.zk.close().await;
        tracing::info!(broker_id = %self.broker_id, "shut down cleanly");
        Ok(())
    }
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
