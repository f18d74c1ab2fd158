//! Kafka's name of an error code as its protocol guide and tools spell it
//! (`TOPIC_ALREADY_EXISTS`), from the `kafka-protocol` crate's
//! `ResponseError` variant (`TopicAlreadyExists`).

use kafka_protocol::ResponseError;

/// `TOPIC_ALREADY_EXISTS` for 36; `error code N` for a code Kafka lacks.
pub fn error_name(code: i16) -> String {
    let error = match ResponseError::try_from_code(code) {
        Some(ResponseError::Unknown(_)) | None => return format!("error code {code}"),
        Some(error) => error,
    };
    let camel = error.to_string();
    let mut name = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kafkas() {
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(40), "INVALID_CONFIG");
        assert_eq!(error_name(84), "ELECTION_NOT_NEEDED");
        assert_eq!(error_name(9999), "error code 9999");
    }
}
