//! Finding 13 of the safety review, the LeaderAndIsr part: applying a
//! LeaderAndIsr opens and creates logs and writes checkpoints with fsync;
//! done inline on a tokio worker it stalls every other request (and the
//! ZooKeeper session's pings) scheduled there. The test makes that file work
//! block for as long as it likes: the partition's `leader-epoch-checkpoint`
//! is a FIFO, so loading the epoch cache waits until the test writes it. The
//! broker runs one worker thread; another request must still be answered.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use common::cluster_view::{controller, controller_epoch};
use common::{Broker, BrokerSpec, RawConn, temp_dir, unique_chroot, wait_until, zk_connect};
use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, LeaderAndIsrRequest,
    LeaderAndIsrResponse,
};

use super::*;

/// How long the other request may take while the LeaderAndIsr is blocked.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
#[allow(unsafe_code)] // mkfifo(3) for a log file that blocks
fn other_requests_are_answered_while_a_leader_and_isr_does_file_work() {
    let chroot = unique_chroot("replica-blocking-lai");
    let data = temp_dir("blocking-lai-");
    let partition_dir = data.path().join("blocked-0");
    std::fs::create_dir_all(&partition_dir).unwrap();
    let fifo = partition_dir.join("leader-epoch-checkpoint");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    let mut spec = BrokerSpec::new(1, zk_connect(&chroot)).env("TOKIO_WORKER_THREADS", 1);
    spec.log_dir = Some(data.path().to_path_buf());
    let broker = Broker::start(spec);
    wait_until("broker 1 to be controller", CLUSTER_TIMEOUT, || {
        (controller(&chroot) == Some(1)).then_some(())
    });

    // The controller's LeaderAndIsr for blocked-0 (leader 1): its epoch
    // cache load waits on the FIFO.
    let mut applying = RawConn::open(broker.port(), CLUSTER_TIMEOUT).unwrap();
    let request = leader_and_isr(broker.port(), controller_epoch(&chroot));
    let correlation_id = applying
        .write_request(ApiKey::LeaderAndIsr, 5, &request)
        .unwrap();
    let mut writer = wait_until("the LeaderAndIsr to read the FIFO", CLUSTER_TIMEOUT, || {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ok()
    });

    // Meanwhile another client asks something simple.
    let answer: Result<ApiVersionsResponse, String> = RawConn::open(broker.port(), ANSWER_TIMEOUT)
        .and_then(|mut c| c.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()));
    // Let the LeaderAndIsr finish either way (an empty epoch checkpoint).
    writer.write_all(b"0\n0\n").unwrap();
    drop(writer);
    let answer = answer.expect("ApiVersions was not answered while a LeaderAndIsr did file work");
    assert_eq!(answer.error_code, 0);

    let response: LeaderAndIsrResponse = applying
        .read_response(ApiKey::LeaderAndIsr, 5, correlation_id)
        .unwrap();
    assert_eq!(response.error_code, 0);
    let errors: Vec<i16> = response
        .topics
        .iter()
        .flat_map(|t| t.partition_errors.iter().map(|p| p.error_code))
        .collect();
    assert_eq!(errors, vec![0]);
}

/// LeaderAndIsr v5 from controller 1: broker 1 leads blocked-0 in epoch 0.
fn leader_and_isr(port: u16, controller_epoch: i32) -> LeaderAndIsrRequest {
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            LeaderAndIsrTopicState::default()
                .with_topic_name(common::topic_name("blocked"))
                .with_partition_states(vec![
                    LeaderAndIsrPartitionState::default()
                        .with_topic_name(common::topic_name("blocked"))
                        .with_partition_index(0)
                        .with_controller_epoch(controller_epoch)
                        .with_leader(BrokerId(1))
                        .with_leader_epoch(0)
                        .with_isr(vec![BrokerId(1)])
                        .with_replicas(vec![BrokerId(1)]),
                ]),
        ])
        .with_live_leaders(vec![
            LeaderAndIsrLiveLeader::default()
                .with_broker_id(BrokerId(1))
                .with_host_name(common::str_bytes("127.0.0.1"))
                .with_port(i32::from(port)),
        ])
}
