//! ProducerIdManager: the producer ids InitProducerId hands out, taken in
//! blocks of 1000 claimed in ZooKeeper at `/latest_producer_id_block`
//! (Kafka's ZkProducerIdManager). Ids of a block go out in order; when the
//! block is used up the next one is claimed (a conditional update, so two
//! brokers never get the same block). If ZooKeeper does not answer, callers
//! get a retriable error and the client asks again.

use std::time::Duration;

use tokio::sync::Mutex;

use crate::model::BrokerId;
use crate::zk::{ProducerIdBlock, ZkClient, ZkError};

/// How long one InitProducerId may wait for a block (ZooKeeper may be
/// unreachable; the client retries on the retriable error it then gets).
const BLOCK_CLAIM_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ProducerIdError {
    /// ZooKeeper refused or failed the block claim.
    #[error("claiming a producer id block in ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    /// ZooKeeper did not answer in time (or others held the claim).
    #[error("no producer id block within {0:?}")]
    TimedOut(Duration),
}

/// The unused rest of the block this broker holds.
#[derive(Debug, Clone, Copy)]
struct Remaining {
    next_id: i64,
    block_end: i64,
}

pub struct ProducerIdManager {
    broker_id: BrokerId,
    zk: ZkClient,
    block_size: i64,
    current: Mutex<Option<Remaining>>,
}

impl ProducerIdManager {
    /// A manager for `broker_id` claiming blocks of Kafka's size (1000).
    pub fn new(broker_id: BrokerId, zk: ZkClient) -> ProducerIdManager {
        Self::with_block_size(broker_id, zk, ProducerIdBlock::DEFAULT_BLOCK_SIZE)
    }

    pub fn with_block_size(
        broker_id: BrokerId,
        zk: ZkClient,
        block_size: i64,
    ) -> ProducerIdManager {
        ProducerIdManager {
            broker_id,
            zk,
            block_size: block_size.max(1),
            current: Mutex::new(None),
        }
    }

    /// The next producer id (Kafka's `generateProducerId`): from the held
    /// block, or from a newly claimed one when that is used up. Concurrent
    /// callers wait for one claim rather than each claiming a block.
    pub async fn generate_producer_id(&self) -> Result<i64, ProducerIdError> {
        tokio::time::timeout(BLOCK_CLAIM_TIMEOUT, self.next_id())
            .await
            .map_err(|_| ProducerIdError::TimedOut(BLOCK_CLAIM_TIMEOUT))?
    }

    async fn next_id(&self) -> Result<i64, ProducerIdError> {
        let mut current = self.current.lock().await;
        let remaining = match *current {
            Some(r) if r.next_id <= r.block_end => r,
            _ => {
                let block = self
                    .zk
                    .allocate_producer_id_block(self.broker_id, self.block_size)
                    .await?;
                Remaining {
                    next_id: block.block_start,
                    block_end: block.block_end,
                }
            }
        };
        *current = Some(Remaining {
            next_id: remaining.next_id + 1,
            block_end: remaining.block_end,
        });
        Ok(remaining.next_id)
    }
}
