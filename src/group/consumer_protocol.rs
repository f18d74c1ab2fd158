//! Just enough of the consumer embedded protocol (ConsumerProtocol's
//! Subscription and Assignment) to know which topics a group uses: OffsetDelete
//! refuses topics a member is subscribed to, and the consumer-groups tool
//! shows which partitions each member owns.

use bytes::Buf;

fn read_string(buf: &mut &[u8]) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_i16();
    if len < 0 {
        return Some(String::new());
    }
    let len = len as usize;
    if buf.remaining() < len {
        return None;
    }
    let s = String::from_utf8_lossy(&buf[..len]).into_owned();
    buf.advance(len);
    Some(s)
}

/// The topics of a Subscription (any version: the topic list comes first).
pub fn subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut buf = metadata;
    if buf.remaining() < 6 {
        return None;
    }
    let _version = buf.get_i16();
    let count = buf.get_i32();
    let mut topics = Vec::new();
    for _ in 0..count.max(0) {
        topics.push(read_string(&mut buf)?);
    }
    Some(topics)
}

/// The partitions of an Assignment: (topic, partitions) pairs.
pub fn assignment_partitions(assignment: &[u8]) -> Option<Vec<(String, Vec<i32>)>> {
    let mut buf = assignment;
    if buf.remaining() < 6 {
        return None;
    }
    let _version = buf.get_i16();
    let count = buf.get_i32();
    let mut out = Vec::new();
    for _ in 0..count.max(0) {
        let topic = read_string(&mut buf)?;
        if buf.remaining() < 4 {
            return None;
        }
        let n = buf.get_i32();
        let mut partitions = Vec::new();
        for _ in 0..n.max(0) {
            if buf.remaining() < 4 {
                return None;
            }
            partitions.push(buf.get_i32());
        }
        out.push((topic, partitions));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subscription_and_assignment() {
        let mut sub = vec![0, 1, 0, 0, 0, 2];
        for t in ["a", "bc"] {
            sub.extend((t.len() as i16).to_be_bytes());
            sub.extend(t.as_bytes());
        }
        sub.extend([0xff, 0xff, 0xff, 0xff]); // null user data
        assert_eq!(
            subscription_topics(&sub),
            Some(vec!["a".into(), "bc".into()])
        );

        let mut asg = vec![0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 2];
        asg.extend(3i32.to_be_bytes());
        asg.extend(5i32.to_be_bytes());
        assert_eq!(
            assignment_partitions(&asg),
            Some(vec![("t".to_string(), vec![3, 5])])
        );
        assert_eq!(assignment_partitions(&[0]), None);
    }
}
