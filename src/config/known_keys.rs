//! Keys Kafka's broker knows that Sluice accepts but does not act on (yet):
//! thread pools, socket buffers, internal topics, transactions, security,
//! quotas, metrics reporters. A Kafka `server.properties` using them starts
//! without an "unknown key" warning; their values are still type-checked as
//! Kafka would, so a bad value fails start-up with the key named. When Sluice
//! starts acting on one of them, move it from here to a typed read in `build.rs`
//! (a test fails if a key is in both).

use super::reader::Kind::{self, Bool, Class, Double, Int, List, Long, Password, Short, Text};

/// Prefixes Kafka accepts whole families of keys under.
const PREFIXES: &[&str] = &["listener.name."];

/// Kafka broker keys (2.8 and 3.x, ZooKeeper mode) with their Kafka types and
/// `KafkaConfig` defaults (3.x; `None`: no default), which DescribeConfigs reports.
const KEYS: &[(&str, Kind, Option<&str>)] = &[
    // Threads and request handling
    ("background.threads", Int, Some("10")),
    ("num.io.threads", Int, Some("8")),
    ("num.network.threads", Int, Some("3")),
    ("num.replica.alter.log.dirs.threads", Int, None),
    ("queued.max.request.bytes", Long, Some("-1")),
    ("fetch.purgatory.purge.interval.requests", Int, Some("1000")),
    (
        "producer.purgatory.purge.interval.requests",
        Int,
        Some("1000"),
    ),
    (
        "delete.records.purgatory.purge.interval.requests",
        Int,
        Some("1"),
    ),
    // Sockets and connections
    ("socket.send.buffer.bytes", Int, Some("102400")),
    ("socket.receive.buffer.bytes", Int, Some("102400")),
    ("socket.listen.backlog.size", Int, Some("50")),
    ("socket.connection.setup.timeout.ms", Long, Some("10000")),
    (
        "socket.connection.setup.timeout.max.ms",
        Long,
        Some("30000"),
    ),
    ("max.connections.per.ip.overrides", Text, Some("")),
    ("max.connection.creation.rate", Int, Some("2147483647")),
    (
        "connection.failed.authentication.delay.ms",
        Int,
        Some("100"),
    ),
    ("control.plane.listener.name", Text, None),
    // ZooKeeper client details
    ("zookeeper.set.acl", Bool, Some("false")),
    ("zookeeper.sync.time.ms", Int, Some("2000")),
    ("zookeeper.clientCnxnSocket", Text, None),
    ("zookeeper.ssl.client.enable", Bool, Some("false")),
    ("zookeeper.ssl.keystore.location", Text, None),
    ("zookeeper.ssl.keystore.password", Password, None),
    ("zookeeper.ssl.keystore.type", Text, None),
    ("zookeeper.ssl.truststore.location", Text, None),
    ("zookeeper.ssl.truststore.password", Password, None),
    ("zookeeper.ssl.truststore.type", Text, None),
    ("zookeeper.ssl.protocol", Text, Some("TLSv1.2")),
    ("zookeeper.ssl.enabled.protocols", List, None),
    ("zookeeper.ssl.cipher.suites", List, None),
    (
        "zookeeper.ssl.endpoint.identification.algorithm",
        Text,
        Some("HTTPS"),
    ),
    ("zookeeper.ssl.crl.enable", Bool, Some("false")),
    ("zookeeper.ssl.ocsp.enable", Bool, Some("false")),
    // Protocol versions
    ("inter.broker.protocol.version", Text, Some("3.0-IV1")),
    ("log.message.format.version", Text, Some("3.0-IV1")),
    // Log cleaner (compaction) and other log details
    (
        "log.cleaner.io.max.bytes.per.second",
        Double,
        Some("1.7976931348623157E308"),
    ),
    ("log.cleaner.io.buffer.size", Int, Some("524288")),
    ("log.cleaner.io.buffer.load.factor", Double, Some("0.9")),
    (
        "log.message.timestamp.before.max.ms",
        Long,
        Some("9223372036854775807"),
    ),
    (
        "log.message.timestamp.after.max.ms",
        Long,
        Some("9223372036854775807"),
    ),
    ("replica.socket.receive.buffer.bytes", Int, Some("65536")),
    ("replica.selector.class", Class, None),
    // Internal topics: consumer offsets and transactions
    ("offset.metadata.max.bytes", Int, Some("4096")),
    ("offsets.load.buffer.size", Int, Some("5242880")),
    ("offsets.topic.replication.factor", Short, Some("3")),
    ("offsets.topic.num.partitions", Int, Some("50")),
    ("offsets.topic.segment.bytes", Int, Some("104857600")),
    ("offsets.topic.compression.codec", Int, Some("0")),
    ("offsets.commit.timeout.ms", Int, Some("5000")),
    ("offsets.commit.required.acks", Short, Some("-1")),
    ("transaction.state.log.replication.factor", Short, Some("3")),
    ("transaction.state.log.min.isr", Int, Some("2")),
    ("transaction.state.log.num.partitions", Int, Some("50")),
    (
        "transaction.state.log.segment.bytes",
        Int,
        Some("104857600"),
    ),
    (
        "transaction.state.log.load.buffer.size",
        Int,
        Some("5242880"),
    ),
    ("transactional.id.expiration.ms", Int, Some("604800000")),
    ("transaction.max.timeout.ms", Int, Some("900000")),
    (
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        Int,
        Some("10000"),
    ),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Int,
        Some("3600000"),
    ),
    // Quotas
    ("quota.window.num", Int, Some("11")),
    ("quota.window.size.seconds", Int, Some("1")),
    ("quota.producer.default", Long, Some("9223372036854775807")),
    ("quota.consumer.default", Long, Some("9223372036854775807")),
    ("replication.quota.window.num", Int, Some("11")),
    ("replication.quota.window.size.seconds", Int, Some("1")),
    (
        "alter.log.dirs.replication.quota.window.num",
        Int,
        Some("11"),
    ),
    (
        "alter.log.dirs.replication.quota.window.size.seconds",
        Int,
        Some("1"),
    ),
    ("controller.quota.window.num", Int, Some("11")),
    ("controller.quota.window.size.seconds", Int, Some("1")),
    ("client.quota.callback.class", Class, None),
    // Metrics reporters (Sluice's own endpoint is `metrics.listener`)
    ("metric.reporters", List, Some("")),
    ("metrics.num.samples", Int, Some("2")),
    ("metrics.sample.window.ms", Long, Some("30000")),
    ("metrics.recording.level", Text, Some("INFO")),
    ("kafka.metrics.reporters", List, Some("")),
    ("kafka.metrics.polling.interval.secs", Int, Some("10")),
    ("auto.include.jmx.reporter", Bool, Some("true")),
    // Policies and pluggable classes
    ("create.topic.policy.class.name", Class, None),
    ("alter.config.policy.class.name", Class, None),
    ("authorizer.class.name", Text, Some("")),
    (
        "principal.builder.class",
        Class,
        Some("org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"),
    ),
    ("super.users", Text, None),
    ("allow.everyone.if.no.acl.found", Bool, Some("false")),
    ("security.providers", Text, None),
    // Delegation tokens and password encoding
    ("delegation.token.master.key", Password, None),
    ("delegation.token.secret.key", Password, None),
    ("delegation.token.max.lifetime.ms", Long, Some("604800000")),
    ("delegation.token.expiry.time.ms", Long, Some("86400000")),
    (
        "delegation.token.expiry.check.interval.ms",
        Long,
        Some("3600000"),
    ),
    ("password.encoder.secret", Password, None),
    ("password.encoder.old.secret", Password, None),
    ("password.encoder.keyfactory.algorithm", Text, None),
    (
        "password.encoder.cipher.algorithm",
        Text,
        Some("AES/CBC/PKCS5Padding"),
    ),
    ("password.encoder.key.length", Int, Some("128")),
    ("password.encoder.iterations", Int, Some("4096")),
    // SASL
    ("sasl.enabled.mechanisms", List, Some("GSSAPI")),
    ("sasl.mechanism.inter.broker.protocol", Text, Some("GSSAPI")),
    ("sasl.jaas.config", Password, None),
    ("sasl.kerberos.service.name", Text, None),
    ("sasl.kerberos.kinit.cmd", Text, Some("/usr/bin/kinit")),
    (
        "sasl.kerberos.ticket.renew.window.factor",
        Double,
        Some("0.8"),
    ),
    ("sasl.kerberos.ticket.renew.jitter", Double, Some("0.05")),
    ("sasl.kerberos.min.time.before.relogin", Long, Some("60000")),
    (
        "sasl.kerberos.principal.to.local.rules",
        List,
        Some("DEFAULT"),
    ),
    ("sasl.client.callback.handler.class", Class, None),
    ("sasl.server.callback.handler.class", Class, None),
    ("sasl.login.class", Class, None),
    ("sasl.login.callback.handler.class", Class, None),
    ("sasl.login.refresh.window.factor", Double, Some("0.8")),
    ("sasl.login.refresh.window.jitter", Double, Some("0.05")),
    ("sasl.login.refresh.min.period.seconds", Short, Some("60")),
    ("sasl.login.refresh.buffer.seconds", Short, Some("300")),
    ("sasl.server.max.receive.size", Int, Some("524288")),
    ("connections.max.reauth.ms", Long, Some("0")),
    // SSL
    ("ssl.protocol", Text, Some("TLSv1.3")),
    ("ssl.provider", Text, None),
    ("ssl.enabled.protocols", List, Some("TLSv1.2,TLSv1.3")),
    ("ssl.cipher.suites", List, Some("")),
    ("ssl.client.auth", Text, Some("none")),
    ("ssl.keystore.type", Text, Some("JKS")),
    ("ssl.keystore.location", Text, None),
    ("ssl.keystore.password", Password, None),
    ("ssl.keystore.key", Password, None),
    ("ssl.keystore.certificate.chain", Password, None),
    ("ssl.key.password", Password, None),
    ("ssl.truststore.type", Text, Some("JKS")),
    ("ssl.truststore.location", Text, None),
    ("ssl.truststore.password", Password, None),
    ("ssl.truststore.certificates", Password, None),
    ("ssl.keymanager.algorithm", Text, Some("SunX509")),
    ("ssl.trustmanager.algorithm", Text, Some("PKIX")),
    ("ssl.endpoint.identification.algorithm", Text, Some("https")),
    ("ssl.secure.random.implementation", Text, None),
    ("ssl.principal.mapping.rules", Text, Some("DEFAULT")),
    ("ssl.engine.factory.class", Class, None),
];

/// The Kafka type of a key Sluice accepts but ignores, or `None` if Sluice
/// does not know the key at all.
pub(super) fn ignored_kind(key: &str) -> Option<Kind> {
    if PREFIXES.iter().any(|prefix| key.starts_with(prefix)) {
        return Some(Text);
    }
    KEYS.iter()
        .find(|(name, _, _)| *name == key)
        .map(|(_, kind, _)| *kind)
}

/// Every ignored key with its type and Kafka's default.
pub(super) fn all() -> &'static [(&'static str, Kind, Option<&'static str>)] {
    KEYS
}
