//! The controller's deletions in ZooKeeper, each fenced on `/controller_epoch`'s
//! zkVersion like its partition state writes (Kafka's KafkaZkClient deletes
//! with `expectedControllerEpochZkVersion`): topic znodes of a deleted topic,
//! handled admin requests and ISR change notifications. A deposed controller
//! gets `ZkError::ControllerMoved` and resigns.

use super::Controller;
use crate::zk::{ZkError, ZkOp, paths};

impl Controller {
    /// Deletes each of `paths` (a missing one is fine), fenced.
    pub(super) async fn delete_fenced(&self, paths: &[String]) -> Result<(), ZkError> {
        for path in paths {
            let op = ZkOp::Delete {
                path: path.clone(),
                expected_version: None,
            };
            match self
                .zk
                .controller_fenced_multi(self.ctx.epoch_zk_version, vec![op])
                .await
            {
                Ok(_) | Err(ZkError::NoNode { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes `path` and everything below it, children first, fenced.
    async fn delete_recursive_fenced(&self, path: &str) -> Result<(), ZkError> {
        let mut order = Vec::new();
        let mut pending = vec![path.to_owned()];
        while let Some(next) = pending.pop() {
            if let Some(children) = self.zk.get_children(&next).await? {
                pending.extend(children.into_iter().map(|c| format!("{next}/{c}")));
            }
            order.push(next);
        }
        // Parents were listed before their children: delete in reverse.
        order.reverse();
        self.delete_fenced(&order).await
    }

    /// A deleted topic's znodes: `/brokers/topics/<t>` with its partition
    /// states, `/config/topics/<t>`, then the request `/admin/delete_topics/<t>`.
    pub(super) async fn delete_topic_znodes_fenced(&self, topic: &str) -> Result<(), ZkError> {
        if !paths::is_valid_segment(topic) {
            return Err(ZkError::InvalidPath {
                path: paths::topic(topic),
                detail: "invalid topic name".to_string(),
            });
        }
        self.delete_recursive_fenced(&paths::topic(topic)).await?;
        self.delete_recursive_fenced(&paths::config_topic(topic))
            .await?;
        self.delete_recursive_fenced(&paths::admin_delete_topic(topic))
            .await?;
        tracing::info!(topic, "deleted topic znodes");
        Ok(())
    }
}
