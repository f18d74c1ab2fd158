//! `AtomicOffset`: a `Offset` shared between threads (a log's end, start,
//! recovery point), an `AtomicI64` underneath with the same orderings.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::model::Offset;

#[derive(Debug)]
pub struct AtomicOffset(AtomicI64);

impl AtomicOffset {
    pub fn new(offset: Offset) -> Self {
        AtomicOffset(AtomicI64::new(offset.value()))
    }

    pub fn load(&self, order: Ordering) -> Offset {
        Offset::new(self.0.load(order))
    }

    pub fn store(&self, offset: Offset, order: Ordering) {
        self.0.store(offset.value(), order);
    }

    /// Raises the offset to `offset`; returns the previous one.
    pub fn fetch_max(&self, offset: Offset, order: Ordering) -> Offset {
        Offset::new(self.0.fetch_max(offset.value(), order))
    }

    /// Lowers the offset to `offset`; returns the previous one.
    pub fn fetch_min(&self, offset: Offset, order: Ordering) -> Offset {
        Offset::new(self.0.fetch_min(offset.value(), order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn moves_like_the_number_it_holds() {
        let at = AtomicOffset::new(off(5));
        assert_eq!(at.fetch_max(off(3), Ordering::AcqRel), off(5));
        assert_eq!(at.load(Ordering::Acquire), off(5));
        assert_eq!(at.fetch_max(off(9), Ordering::AcqRel), off(5));
        assert_eq!(at.fetch_min(off(7), Ordering::AcqRel), off(9));
        at.store(Offset::UNKNOWN, Ordering::Release);
        assert_eq!(at.load(Ordering::Acquire), Offset::UNKNOWN);
    }
}
