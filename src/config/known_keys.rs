//! Keys Kafka's broker knows that Sluice accepts but does not act on (yet):
//! thread pools, socket buffers, internal topics, transactions, security,
//! quotas, metrics reporters. A Kafka `server.properties` using them starts
//! without an "unknown key" warning; their values are still type-checked as
//! Kafka would, so a bad value fails start-up with the key named. When Sluice
//! starts acting on one of them, move it from here to a typed read in `build.rs`
//! (a test fails if a key is in both).

use super::reader::Kind::{self, Bool, Double, Int, Long, Short, Text};

/// Prefixes Kafka accepts whole families of keys under.
const PREFIXES: &[&str] = &["listener.name."];

/// Kafka broker keys (2.8 and 3.x, ZooKeeper mode) with their Kafka types.
const KEYS: &[(&str, Kind)] = &[
    // Threads and request handling
    ("background.threads", Int),
    ("num.io.threads", Int),
    ("num.network.threads", Int),
    ("num.recovery.threads.per.data.dir", Int),
    ("num.replica.alter.log.dirs.threads", Int),
    ("queued.max.request.bytes", Long),
    ("fetch.max.bytes", Int),
    ("max.incremental.fetch.session.cache.slots", Int),
    ("fetch.purgatory.purge.interval.requests", Int),
    ("producer.purgatory.purge.interval.requests", Int),
    ("delete.records.purgatory.purge.interval.requests", Int),
    // Sockets and connections
    ("socket.send.buffer.bytes", Int),
    ("socket.receive.buffer.bytes", Int),
    ("socket.listen.backlog.size", Int),
    ("socket.connection.setup.timeout.ms", Long),
    ("socket.connection.setup.timeout.max.ms", Long),
    ("max.connections.per.ip.overrides", Text),
    ("max.connection.creation.rate", Int),
    ("connection.failed.authentication.delay.ms", Int),
    ("control.plane.listener.name", Text),
    // ZooKeeper client details
    ("zookeeper.set.acl", Bool),
    ("zookeeper.sync.time.ms", Int),
    ("zookeeper.clientCnxnSocket", Text),
    ("zookeeper.ssl.client.enable", Bool),
    ("zookeeper.ssl.keystore.location", Text),
    ("zookeeper.ssl.keystore.password", Text),
    ("zookeeper.ssl.keystore.type", Text),
    ("zookeeper.ssl.truststore.location", Text),
    ("zookeeper.ssl.truststore.password", Text),
    ("zookeeper.ssl.truststore.type", Text),
    ("zookeeper.ssl.protocol", Text),
    ("zookeeper.ssl.enabled.protocols", Text),
    ("zookeeper.ssl.cipher.suites", Text),
    ("zookeeper.ssl.endpoint.identification.algorithm", Text),
    ("zookeeper.ssl.crl.enable", Bool),
    ("zookeeper.ssl.ocsp.enable", Bool),
    // Protocol versions
    ("inter.broker.protocol.version", Text),
    ("log.message.format.version", Text),
    // Log cleaner (compaction) and other log details
    ("log.cleaner.io.max.bytes.per.second", Double),
    ("log.cleaner.io.buffer.size", Int),
    ("log.cleaner.io.buffer.load.factor", Double),
    ("log.message.timestamp.before.max.ms", Long),
    ("log.message.timestamp.after.max.ms", Long),
    ("replica.socket.receive.buffer.bytes", Int),
    ("replica.selector.class", Text),
    // Internal topics: consumer offsets and transactions
    ("offset.metadata.max.bytes", Int),
    ("offsets.load.buffer.size", Int),
    ("offsets.topic.replication.factor", Short),
    ("offsets.topic.num.partitions", Int),
    ("offsets.topic.segment.bytes", Int),
    ("offsets.topic.compression.codec", Int),
    ("offsets.commit.timeout.ms", Int),
    ("offsets.commit.required.acks", Short),
    ("transaction.state.log.replication.factor", Short),
    ("transaction.state.log.min.isr", Int),
    ("transaction.state.log.num.partitions", Int),
    ("transaction.state.log.segment.bytes", Int),
    ("transaction.state.log.load.buffer.size", Int),
    ("transactional.id.expiration.ms", Int),
    ("transaction.max.timeout.ms", Int),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Int,
    ),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Int,
    ),
    // Quotas
    ("quota.window.num", Int),
    ("quota.window.size.seconds", Int),
    ("quota.producer.default", Long),
    ("quota.consumer.default", Long),
    ("replication.quota.window.num", Int),
    ("replication.quota.window.size.seconds", Int),
    ("alter.log.dirs.replication.quota.window.num", Int),
    ("alter.log.dirs.replication.quota.window.size.seconds", Int),
    ("controller.quota.window.num", Int),
    ("controller.quota.window.size.seconds", Int),
    ("client.quota.callback.class", Text),
    // Metrics reporters (Sluice's own endpoint is `metrics.listener`)
    ("metric.reporters", Text),
    ("metrics.num.samples", Int),
    ("metrics.sample.window.ms", Long),
    ("metrics.recording.level", Text),
    ("kafka.metrics.reporters", Text),
    ("kafka.metrics.polling.interval.secs", Int),
    ("auto.include.jmx.reporter", Bool),
    // Policies and pluggable classes
    ("create.topic.policy.class.name", Text),
    ("alter.config.policy.class.name", Text),
    ("authorizer.class.name", Text),
    ("principal.builder.class", Text),
    ("super.users", Text),
    ("allow.everyone.if.no.acl.found", Bool),
    ("security.providers", Text),
    // Delegation tokens and password encoding
    ("delegation.token.master.key", Text),
    ("delegation.token.secret.key", Text),
    ("delegation.token.max.lifetime.ms", Long),
    ("delegation.token.expiry.time.ms", Long),
    ("delegation.token.expiry.check.interval.ms", Long),
    ("password.encoder.secret", Text),
    ("password.encoder.old.secret", Text),
    ("password.encoder.keyfactory.algorithm", Text),
    ("password.encoder.cipher.algorithm", Text),
    ("password.encoder.key.length", Int),
    ("password.encoder.iterations", Int),
    // SASL
    ("sasl.enabled.mechanisms", Text),
    ("sasl.mechanism.inter.broker.protocol", Text),
    ("sasl.jaas.config", Text),
    ("sasl.kerberos.service.name", Text),
    ("sasl.kerberos.kinit.cmd", Text),
    ("sasl.kerberos.ticket.renew.window.factor", Double),
    ("sasl.kerberos.ticket.renew.jitter", Double),
    ("sasl.kerberos.min.time.before.relogin", Long),
    ("sasl.kerberos.principal.to.local.rules", Text),
    ("sasl.client.callback.handler.class", Text),
    ("sasl.server.callback.handler.class", Text),
    ("sasl.login.class", Text),
    ("sasl.login.callback.handler.class", Text),
    ("sasl.login.refresh.window.factor", Double),
    ("sasl.login.refresh.window.jitter", Double),
    ("sasl.login.refresh.min.period.seconds", Short),
    ("sasl.login.refresh.buffer.seconds", Short),
    ("sasl.server.max.receive.size", Int),
    ("connections.max.reauth.ms", Long),
    // SSL
    ("ssl.protocol", Text),
    ("ssl.provider", Text),
    ("ssl.enabled.protocols", Text),
    ("ssl.cipher.suites", Text),
    ("ssl.client.auth", Text),
    ("ssl.keystore.type", Text),
    ("ssl.keystore.location", Text),
    ("ssl.keystore.password", Text),
    ("ssl.keystore.key", Text),
    ("ssl.keystore.certificate.chain", Text),
    ("ssl.key.password", Text),
    ("ssl.truststore.type", Text),
    ("ssl.truststore.location", Text),
    ("ssl.truststore.password", Text),
    ("ssl.truststore.certificates", Text),
    ("ssl.keymanager.algorithm", Text),
    ("ssl.trustmanager.algorithm", Text),
    ("ssl.endpoint.identification.algorithm", Text),
    ("ssl.secure.random.implementation", Text),
    ("ssl.principal.mapping.rules", Text),
    ("ssl.engine.factory.class", Text),
];

/// The Kafka type of a key Sluice accepts but ignores, or `None` if Sluice
/// does not know the key at all.
pub(super) fn ignored_kind(key: &str) -> Option<Kind> {
    if PREFIXES.iter().any(|prefix| key.starts_with(prefix)) {
        return Some(Text);
    }
    KEYS.iter()
        .find(|(name, _)| *name == key)
        .map(|(_, kind)| *kind)
}

/// Every ignored key with its type (for tests).
#[cfg(test)]
pub(super) fn all() -> &'static [(&'static str, Kind)] {
    KEYS
}
