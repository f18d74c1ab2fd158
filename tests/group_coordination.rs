//! Group coordination under faults and at the edges (issue 11): the settle
//! bug of kafka-python consumers polled in turn (`settle.rs`).

mod common;
#[path = "group_coordination/settle.rs"]
mod settle;
