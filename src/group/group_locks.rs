//! The per-group async locks that serialise a group's claim, commits and
//! membership writes (held from the checks through the ZooKeeper write).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

/// The per-group async locks, created on demand and dropped when unused.
#[derive(Default)]
pub struct GroupLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl GroupLocks {
    /// The lock of `group`; everyone who holds an `Arc` of it shares it.
    pub fn get(&self, group: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock();
        if let Some(lock) = locks.get(group).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(group.to_string(), Arc::downgrade(&lock));
        lock
    }

    /// Forgets locks nobody holds (bounds the map by the groups in use).
    pub fn prune(&self) {
        self.locks.lock().retain(|_, lock| lock.strong_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_locks_are_shared_while_held_and_pruned_after() {
        let locks = GroupLocks::default();
        let a = locks.get("g");
        let b = locks.get("g");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &locks.get("h")));
        locks.prune();
        assert_eq!(locks.locks.lock().len(), 1, "only g is held");
        drop((a, b));
        locks.prune();
        assert!(locks.locks.lock().is_empty());
    }
}
