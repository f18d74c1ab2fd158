//! Every znode path Sluice reads or writes, one function per path, exactly as
//! Kafka 2.8/3.x lays them out under the chroot of `zookeeper.connect`
//! (Kafka's `ZkData.scala`). No other file formats a path: callers ask here.
//!
//! Paths are relative to the chroot; the ZooKeeper client adds the chroot.

use std::borrow::Cow;
use std::fmt::Display;

use crate::model::BrokerId;

/// The entity name of the cluster-wide default broker config (`/config/brokers/<default>`).
pub const DEFAULT_BROKER_ENTITY: &str = "<default>";

/// Prefix of the sequential children of `/isr_change_notification`.
pub const ISR_CHANGE_PREFIX: &str = "isr_change_";

/// Prefix of the sequential children of `/config/changes`.
pub const CONFIG_CHANGE_PREFIX: &str = "config_change_";

/// Config entity types Kafka keeps under `/config/<type>`.
pub const CONFIG_TYPE_TOPICS: &str = "topics";
pub const CONFIG_TYPE_CLIENTS: &str = "clients";
pub const CONFIG_TYPE_USERS: &str = "users";
pub const CONFIG_TYPE_BROKERS: &str = "brokers";
pub const CONFIG_TYPE_IPS: &str = "ips";

/// `/consumers`: the old (0.8) consumer root; committed offsets live below it.
pub fn consumers() -> String {
    "/consumers".to_string()
}

/// `/brokers`
pub fn brokers() -> String {
    "/brokers".to_string()
}

/// `/brokers/ids`: one ephemeral child per live broker.
pub fn brokers_ids() -> String {
    "/brokers/ids".to_string()
}

/// `/brokers/ids/<id>`: a live broker's registration (ephemeral).
pub fn broker_id(id: BrokerId) -> String {
    format!("/brokers/ids/{id}")
}

/// `/brokers/seqid`: its data version is the sequence for generated broker ids.
pub fn broker_seqid() -> String {
    "/brokers/seqid".to_string()
}

/// `/brokers/topics`: one child per topic.
pub fn brokers_topics() -> String {
    "/brokers/topics".to_string()
}

/// `/brokers/topics/<t>`: the topic's replica assignment and topic id.
pub fn topic(topic: &str) -> String {
    format!("/brokers/topics/{topic}")
}

/// `/brokers/topics/<t>/partitions`
pub fn topic_partitions(topic: &str) -> String {
    format!("/brokers/topics/{topic}/partitions")
}

/// `/brokers/topics/<t>/partitions/<p>`
pub fn partition(topic: &str, partition: i32) -> String {
    format!("/brokers/topics/{topic}/partitions/{partition}")
}

/// `/brokers/topics/<t>/partitions/<p>/state`: leader, ISR and epochs.
pub fn partition_state(topic: &str, partition: i32) -> String {
    format!("/brokers/topics/{topic}/partitions/{partition}/state")
}

/// `/controller`: the elected controller (ephemeral).
pub fn controller() -> String {
    "/controller".to_string()
}

/// `/controller_epoch`: a decimal integer bumped by every new controller.
pub fn controller_epoch() -> String {
    "/controller_epoch".to_string()
}

/// `/cluster/id`
pub fn cluster_id() -> String {
    "/cluster/id".to_string()
}

/// `/admin/delete_topics`: one child per topic whose deletion was requested.
pub fn admin_delete_topics() -> String {
    "/admin/delete_topics".to_string()
}

/// `/admin/delete_topics/<t>`
pub fn admin_delete_topic(topic: &str) -> String {
    format!("/admin/delete_topics/{topic}")
}

/// `/admin/reassign_partitions`
pub fn admin_reassign_partitions() -> String {
    "/admin/reassign_partitions".to_string()
}

/// `/admin/preferred_replica_election`
pub fn admin_preferred_replica_election() -> String {
    "/admin/preferred_replica_election".to_string()
}

/// `/isr_change_notification`
pub fn isr_change_notification() -> String {
    "/isr_change_notification".to_string()
}

/// `/isr_change_notification/isr_change_`: the prefix for sequential creates.
pub fn isr_change_prefix() -> String {
    format!("/isr_change_notification/{ISR_CHANGE_PREFIX}")
}

/// `/isr_change_notification/<name>` for a child name as listed.
pub fn isr_change(name: &str) -> String {
    format!("/isr_change_notification/{name}")
}

/// `/log_dir_event_notification`
pub fn log_dir_event_notification() -> String {
    "/log_dir_event_notification".to_string()
}

/// `/config/<type>`
pub fn config_type(entity_type: &str) -> String {
    format!("/config/{entity_type}")
}

/// `/config/<type>/<name>`
pub fn config_entity(entity_type: &str, name: &str) -> String {
    format!("/config/{entity_type}/{name}")
}

/// `/config/topics`
pub fn config_topics() -> String {
    config_type(CONFIG_TYPE_TOPICS)
}

/// `/config/topics/<t>`
pub fn config_topic(topic: &str) -> String {
    config_entity(CONFIG_TYPE_TOPICS, topic)
}

/// `/config/brokers`
pub fn config_brokers() -> String {
    config_type(CONFIG_TYPE_BROKERS)
}

/// `/config/brokers/<entity>`: a broker id, or [`DEFAULT_BROKER_ENTITY`].
pub fn config_broker(entity: &str) -> String {
    config_entity(CONFIG_TYPE_BROKERS, entity)
}

/// `topics/<t>`: the `entity_path` a config change notification names.
pub fn config_entity_path(entity_type: &str, name: &str) -> String {
    format!("{entity_type}/{name}")
}

/// `/config/changes`
pub fn config_changes() -> String {
    "/config/changes".to_string()
}

/// `/config/changes/config_change_`: the prefix for sequential creates.
pub fn config_change_prefix() -> String {
    format!("/config/changes/{CONFIG_CHANGE_PREFIX}")
}

/// `/consumers/<group>`: its data is the group's persisted state (Sluice).
pub fn consumer_group(group: &str) -> String {
    format!("/consumers/{}", encode_name(group))
}

/// `/consumers/<group>/owner`: which broker coordinates the group (Sluice);
/// its data version fences every write of the group.
pub fn consumer_group_owner(group: &str) -> String {
    format!("/consumers/{}/owner", encode_name(group))
}

/// `/consumers/<group>/ids`: one child per member (0.8's place).
pub fn consumer_group_ids(group: &str) -> String {
    format!("/consumers/{}/ids", encode_name(group))
}

/// `/consumers/<group>/ids/<member>`
pub fn consumer_group_member(group: &str, member: &str) -> String {
    format!(
        "/consumers/{}/ids/{}",
        encode_name(group),
        encode_name(member)
    )
}

/// `/consumers/<group>/owners`: one child per assigned topic (0.8's place).
pub fn consumer_group_owners(group: &str) -> String {
    format!("/consumers/{}/owners", encode_name(group))
}

/// `/consumers/<group>/owners/<t>`
pub fn consumer_topic_owners(group: &str, topic: &str) -> String {
    format!("/consumers/{}/owners/{topic}", encode_name(group))
}

/// `/consumers/<group>/owners/<t>/<p>`: the member id owning the partition.
pub fn consumer_partition_owner(group: &str, topic: &str, partition: i32) -> String {
    format!(
        "/consumers/{}/owners/{topic}/{partition}",
        encode_name(group)
    )
}

/// `/consumers/<group>/offsets`
pub fn consumer_group_offsets(group: &str) -> String {
    format!("/consumers/{}/offsets", encode_name(group))
}

/// `/consumers/<group>/offsets/<t>`
pub fn consumer_topic_offsets(group: &str, topic: &str) -> String {
    format!("/consumers/{}/offsets/{topic}", encode_name(group))
}

/// `/consumers/<group>/offsets/<t>/<p>`: a committed offset as a decimal string.
pub fn consumers_offsets(group: &str, topic: &str, partition: i32) -> String {
    format!(
        "/consumers/{}/offsets/{topic}/{partition}",
        encode_name(group)
    )
}

/// A group or member id as one znode name: `%`, `/`, the characters
/// ZooKeeper refuses in paths (NUL, C0 and C1 controls, U+E000-U+F8FF,
/// U+FFF0-U+FFFF, and everything outside the BMP, which Java sees as
/// surrogates) become `%XX` per UTF-8 byte, and the ids `.` and `..` become
/// `%2E` and `%2E%2E`. Every other id is its own name, so plain ids look as
/// Kafka and 0.8 consumers write them.
pub fn encode_name(name: &str) -> Cow<'_, str> {
    if name == "." || name == ".." {
        return Cow::Owned("%2E".repeat(name.len()));
    }
    if !name.chars().any(needs_escape) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    let mut buf = [0u8; 4];
    for c in name.chars() {
        if needs_escape(c) {
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The id a znode name written by [`encode_name`] stands for. A name that is
/// not a valid encoding (a `%` without two hex digits, or bytes that are not
/// UTF-8: an old consumer's group named so) is taken as it is.
pub fn decode_name(name: &str) -> String {
    if !name.contains('%') {
        return name.to_string();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return name.to_string(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_string())
}

fn needs_escape(c: char) -> bool {
    matches!(c as u32,
        0x00..=0x1f | 0x7f..=0x9f | 0xe000..=0xf8ff | 0xfff0..=0xffff | 0x1_0000..)
        || c == '%'
        || c == '/'
}

/// `/latest_producer_id_block`
pub fn latest_producer_id_block() -> String {
    "/latest_producer_id_block".to_string()
}

/// The persistent paths Kafka makes sure exist at start-up (`ZkData.PersistentZkPaths`).
pub fn persistent_paths() -> Vec<String> {
    let mut paths = vec![
        consumers(),
        brokers_ids(),
        brokers_topics(),
        config_changes(),
        admin_delete_topics(),
        broker_seqid(),
        isr_change_notification(),
        latest_producer_id_block(),
        log_dir_event_notification(),
    ];
    for entity_type in [
        CONFIG_TYPE_TOPICS,
        CONFIG_TYPE_CLIENTS,
        CONFIG_TYPE_USERS,
        CONFIG_TYPE_BROKERS,
        CONFIG_TYPE_IPS,
    ] {
        paths.push(config_type(entity_type));
    }
    paths
}

/// `<parent>/<name>` for a child name as returned by a children listing.
pub fn child(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The full path of a sequential node: the create prefix followed by the
/// server's 10-digit counter.
pub fn with_sequence(prefix: &str, sequence: impl Display) -> String {
    format!("{prefix}{sequence}")
}

/// The parent of an absolute path, or `None` for `/` and top-level nodes' parent `/`.
pub fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

/// Whether `name` can be a single path segment (no `/`, not empty, not `.` or `..`).
pub fn is_valid_segment(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_kafka() {
        assert_eq!(broker_id(BrokerId(3)), "/brokers/ids/3");
        assert_eq!(
            partition_state("t", 10),
            "/brokers/topics/t/partitions/10/state"
        );
        assert_eq!(
            config_broker(DEFAULT_BROKER_ENTITY),
            "/config/brokers/<default>"
        );
        assert_eq!(config_change_prefix(), "/config/changes/config_change_");
        assert_eq!(isr_change_prefix(), "/isr_change_notification/isr_change_");
        assert_eq!(consumers_offsets("g", "t", 2), "/consumers/g/offsets/t/2");
        assert_eq!(config_entity_path(CONFIG_TYPE_TOPICS, "t"), "topics/t");
        assert!(persistent_paths().contains(&"/config/brokers".to_string()));
    }

    #[test]
    fn parent_and_child() {
        assert_eq!(parent("/a/b/c"), Some("/a/b"));
        assert_eq!(parent("/a"), None);
        assert_eq!(parent("/"), None);
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert!(!is_valid_segment("a/b"));
        assert!(!is_valid_segment(".."));
        assert!(is_valid_segment("group-1"));
    }

    #[test]
    fn group_ids_are_encoded_reversibly_and_plain_ids_are_unchanged() {
        for plain in ["g", "my-group.v2", "team_app", "a b", "caf\u{e9}", "x:y=z"] {
            assert_eq!(encode_name(plain), plain);
            assert_eq!(decode_name(plain), plain);
        }
        let cases = [
            ("team/app", "team%2Fapp"),
            ("50%", "50%25"),
            (".", "%2E"),
            ("..", "%2E%2E"),
            ("...", "..."),
            ("a\u{0}b", "a%00b"),
            ("tab\t", "tab%09"),
            ("\u{7f}", "%7F"),
            ("\u{1F600}", "%F0%9F%98%80"),
            ("\u{e000}", "%EE%80%80"),
            ("/a/../b/", "%2Fa%2F..%2Fb%2F"),
        ];
        for (id, name) in cases {
            assert_eq!(encode_name(id), name, "{id:?}");
            assert_eq!(decode_name(name), id, "{name:?}");
            assert!(is_valid_segment(&encode_name(id)));
        }
        assert_eq!(
            consumers_offsets("team/app", "t", 0),
            "/consumers/team%2Fapp/offsets/t/0"
        );
        assert_eq!(
            consumer_group_member("g", "c/1-x"),
            "/consumers/g/ids/c%2F1-x"
        );
        // Not an encoding: taken as written (an old consumer's group).
        assert_eq!(decode_name("100%"), "100%");
        assert_eq!(decode_name("%zz"), "%zz");
        assert_eq!(decode_name("%FF"), "%FF");
    }
}
