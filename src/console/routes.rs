//! What a console request asks for: an [`Endpoint`] from its method, path and
//! query string. Pure, so every path and bad input is tested here.
//!
//! Pages: `/` (the single-page console), `/console.js`, `/console.css`.
//! API (JSON), under `/api/v1`: `cluster`, `topics`, `topics/<name>`,
//! `topics/<name>/messages?partition=&offset=|timestamp=&count=&format=`,
//! `groups`, `groups/<id>` (percent-encoded), `znodes?path=<znode path>`
//! (default `/`), `stats` (every broker's traffic counters), `broker-stats`
//! (this broker's), `console` (this broker's id and whether writes are on).
//! Writes (`POST`, see `actions.rs`): `topics`,
//! `topics/<name>/configs`, `topics/<name>/delete-records`,
//! `topics/<name>/preferred-election`, `groups/<id>/reset-offsets`.

use super::actions::WriteAction;
use super::error::ConsoleError;
use super::messages::{Format, MAX_COUNT, MessageQuery, ReadFrom};

/// The longest query string looked at.
const MAX_QUERY_BYTES: usize = 4096;
/// Kafka's longest topic name.
const MAX_TOPIC_NAME: usize = 249;
/// The longest group id looked up.
const MAX_GROUP_ID: usize = 1000;
/// Records the message browser shows when the query does not say.
const DEFAULT_COUNT: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An embedded file, by its name in `assets.rs`.
    Asset(&'static str),
    Cluster,
    Topics,
    Topic(String),
    Messages(String, MessageQuery),
    Groups,
    Group(String),
    Znode(String),
    Stats,
    BrokerStats,
    /// What the page needs to know of the console itself.
    ConsoleInfo,
    Write(WriteAction),
}

/// The endpoint `method path?query` asks for.
pub fn route(method: &str, path: &str, query: &str) -> Result<Endpoint, ConsoleError> {
    if method == "POST" {
        return write_route(path);
    }
    if method != "GET" {
        return Err(ConsoleError::MethodNotAllowed);
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(ConsoleError::BadRequest("query string too long".into()));
    }
    match path {
        "/" | "/index.html" => return Ok(Endpoint::Asset("index.html")),
        "/console.js" => return Ok(Endpoint::Asset("console.js")),
        "/console.css" => return Ok(Endpoint::Asset("console.css")),
        _ => {}
    }
    let Some(api) = path.strip_prefix("/api/v1/") else {
        return Err(ConsoleError::NotFound(path.to_owned()));
    };
    let parts: Vec<&str> = api.split('/').collect();
    match parts.as_slice() {
        ["cluster"] => Ok(Endpoint::Cluster),
        ["topics"] => Ok(Endpoint::Topics),
        ["topics", name] => Ok(Endpoint::Topic(topic_name(name)?)),
        ["topics", name, "messages"] => {
            Ok(Endpoint::Messages(topic_name(name)?, message_query(query)?))
        }
        ["stats"] => Ok(Endpoint::Stats),
        ["broker-stats"] => Ok(Endpoint::BrokerStats),
        ["console"] => Ok(Endpoint::ConsoleInfo),
        ["groups"] => Ok(Endpoint::Groups),
        ["groups", id] => Ok(Endpoint::Group(group_id(id)?)),
        ["znodes"] => {
            let path = query_param(query, "path")?.unwrap_or_else(|| "/".to_owned());
            Ok(Endpoint::Znode(znode_path(&path)?))
        }
        _ => Err(ConsoleError::NotFound(path.to_owned())),
    }
}

/// The write a `POST` to `path` asks for.
fn write_route(path: &str) -> Result<Endpoint, ConsoleError> {
    let Some(api) = path.strip_prefix("/api/v1/") else {
        return Err(ConsoleError::MethodNotAllowed);
    };
    let parts: Vec<&str> = api.split('/').collect();
    let action = match parts.as_slice() {
        ["topics"] => WriteAction::CreateTopic,
        ["topics", name, "configs"] => WriteAction::AlterTopicConfigs(topic_name(name)?),
        ["topics", name, "delete-records"] => WriteAction::DeleteRecords(topic_name(name)?),
        ["topics", name, "preferred-election"] => WriteAction::PreferredElection(topic_name(name)?),
        ["groups", id, "reset-offsets"] => WriteAction::ResetOffsets(group_id(id)?),
        _ => return Err(ConsoleError::MethodNotAllowed),
    };
    Ok(Endpoint::Write(action))
}

/// The value of `key` in a query string (`a=1&b=2`, percent-decoded).
pub fn query_param(query: &str, key: &str) -> Result<Option<String>, ConsoleError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(ConsoleError::BadRequest("query string too long".into()));
    }
    Ok(form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned()))
}

/// A non-negative integer query parameter, `None` when absent.
fn number<T: std::str::FromStr + PartialOrd + Default>(
    query: &str,
    key: &str,
) -> Result<Option<T>, ConsoleError> {
    let Some(text) = query_param(query, key)? else {
        return Ok(None);
    };
    match text.parse::<T>() {
        Ok(n) if n >= T::default() => Ok(Some(n)),
        _ => Err(ConsoleError::BadRequest(format!(
            "{key} must be a non-negative integer, not {:?}",
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// The message browser's query: `partition` (0), `offset` or `timestamp`
/// (ms; neither: the log start), `count` (1 to 100, default 20), `format`
/// (`text`, `json` or `hex`).
fn message_query(query: &str) -> Result<MessageQuery, ConsoleError> {
    let partition = number::<i32>(query, "partition")?.unwrap_or(0);
    let start = match (
        number::<i64>(query, "offset")?,
        number::<i64>(query, "timestamp")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ConsoleError::BadRequest(
                "give an offset or a timestamp, not both".into(),
            ));
        }
        (Some(offset), None) => ReadFrom::Offset(offset),
        (None, Some(ts)) => ReadFrom::Timestamp(ts),
        (None, None) => ReadFrom::LogStart,
    };
    let count = number::<usize>(query, "count")?.unwrap_or(DEFAULT_COUNT);
    if count == 0 || count > MAX_COUNT {
        return Err(ConsoleError::BadRequest(format!(
            "count must be 1 to {MAX_COUNT}"
        )));
    }
    let format = match query_param(query, "format")?.as_deref() {
        None | Some("text") => Format::Text,
        Some("json") => Format::Json,
        Some("hex") => Format::Hex,
        Some(other) => {
            return Err(ConsoleError::BadRequest(format!(
                "format must be text, json or hex, not {:?}",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    Ok(MessageQuery {
        partition,
        start,
        count,
        format,
    })
}

/// A group id from a percent-encoded path segment.
fn group_id(segment: &str) -> Result<String, ConsoleError> {
    let id = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| ConsoleError::BadRequest("group id is not UTF-8".into()))?;
    if id.is_empty() || id.len() > MAX_GROUP_ID || id.contains('\0') {
        return Err(ConsoleError::BadRequest("not a group id".into()));
    }
    Ok(id.into_owned())
}

/// A topic name as Kafka allows it (letters, digits, `.`, `_`, `-`).
fn topic_name(name: &str) -> Result<String, ConsoleError> {
    let legal = !name.is_empty()
        && name.len() <= MAX_TOPIC_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if legal {
        Ok(name.to_owned())
    } else {
        Err(ConsoleError::BadRequest(format!(
            "not a topic name: {:?}",
            name.chars().take(64).collect::<String>()
        )))
    }
}

/// An absolute znode path without empty, `.` or `..` components.
fn znode_path(path: &str) -> Result<String, ConsoleError> {
    let bad = |why: &str| ConsoleError::BadRequest(format!("znode path {why}"));
    if !path.starts_with('/') {
        return Err(bad("must start with /"));
    }
    if path == "/" {
        return Ok(path.to_owned());
    }
    if path.ends_with('/') || path.contains('\0') {
        return Err(bad("must not end with / or hold NUL"));
    }
    if path[1..]
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("has an empty, . or .. component"));
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: &str) -> Result<Endpoint, ConsoleError> {
        route("GET", path, query)
    }

    #[test]
    fn pages_and_api_paths() {
        assert_eq!(get("/", "").unwrap(), Endpoint::Asset("index.html"));
        assert_eq!(
            get("/console.js", "").unwrap(),
            Endpoint::Asset("console.js")
        );
        assert_eq!(get("/api/v1/cluster", "").unwrap(), Endpoint::Cluster);
        assert_eq!(get("/api/v1/topics", "").unwrap(), Endpoint::Topics);
        assert_eq!(
            get("/api/v1/topics/orders.v2-x_1", "").unwrap(),
            Endpoint::Topic("orders.v2-x_1".into())
        );
        assert_eq!(
            get("/api/v1/znodes", "path=%2Fbrokers%2Fids%2F1").unwrap(),
            Endpoint::Znode("/brokers/ids/1".into())
        );
        assert_eq!(
            get("/api/v1/znodes", "").unwrap(),
            Endpoint::Znode("/".into())
        );
    }

    #[test]
    fn bad_input_is_refused_with_its_status() {
        let status = |r: Result<Endpoint, ConsoleError>| r.unwrap_err().status();
        assert_eq!(status(route("POST", "/api/v1/cluster", "")), 405);
        assert_eq!(status(route("PUT", "/api/v1/topics", "")), 405);
        assert_eq!(
            status(route("POST", "/api/v1/topics/a%20b/configs", "")),
            400
        );
        assert_eq!(status(get("/nope", "")), 404);
        assert_eq!(status(get("/api/v1/topics/a/b", "")), 404);
        assert_eq!(status(get("/api/v1/topics/a%20b", "")), 400);
        assert_eq!(
            status(get(&format!("/api/v1/topics/{}", "t".repeat(250)), "")),
            400
        );
        for bad in [
            "brokers",
            "/brokers/",
            "/a//b",
            "/a/../b",
            "/a/./b",
            "/a%00b",
        ] {
            let query = format!("path={}", bad.replace('/', "%2F"));
            assert_eq!(status(get("/api/v1/znodes", &query)), 400, "{bad}");
        }
        assert_eq!(status(get("/api/v1/znodes", &"x".repeat(5000))), 400);
    }

    #[test]
    fn writes_are_posts_to_their_paths() {
        let post = |path: &str| route("POST", path, "").unwrap();
        assert_eq!(
            post("/api/v1/topics"),
            Endpoint::Write(WriteAction::CreateTopic)
        );
        assert_eq!(
            post("/api/v1/topics/t/configs"),
            Endpoint::Write(WriteAction::AlterTopicConfigs("t".into()))
        );
        assert_eq!(
            post("/api/v1/topics/t/delete-records"),
            Endpoint::Write(WriteAction::DeleteRecords("t".into()))
        );
        assert_eq!(
            post("/api/v1/topics/t/preferred-election"),
            Endpoint::Write(WriteAction::PreferredElection("t".into()))
        );
        assert_eq!(
            post("/api/v1/groups/g%201/reset-offsets"),
            Endpoint::Write(WriteAction::ResetOffsets("g 1".into()))
        );
        assert_eq!(get("/api/v1/stats", "").unwrap(), Endpoint::Stats);
        assert_eq!(
            get("/api/v1/broker-stats", "").unwrap(),
            Endpoint::BrokerStats
        );
    }

    #[test]
    fn message_and_group_queries() {
        let messages = |q: &str| get("/api/v1/topics/t/messages", q);
        assert_eq!(
            messages("").unwrap(),
            Endpoint::Messages(
                "t".into(),
                MessageQuery {
                    partition: 0,
                    start: ReadFrom::LogStart,
                    count: 20,
                    format: Format::Text
                }
            )
        );
        assert_eq!(
            messages("partition=2&offset=17&count=100&format=json").unwrap(),
            Endpoint::Messages(
                "t".into(),
                MessageQuery {
                    partition: 2,
                    start: ReadFrom::Offset(17),
                    count: 100,
                    format: Format::Json
                }
            )
        );
        assert!(matches!(
            messages("timestamp=1700000000000&format=hex").unwrap(),
            Endpoint::Messages(
                _,
                MessageQuery {
                    start: ReadFrom::Timestamp(1_700_000_000_000),
                    format: Format::Hex,
                    ..
                }
            )
        ));
        for bad in [
            "offset=-1",
            "offset=x",
            "offset=99999999999999999999",
            "partition=-3",
            "count=0",
            "count=101",
            "format=xml",
            "offset=1&timestamp=2",
        ] {
            assert_eq!(messages(bad).unwrap_err().status(), 400, "{bad}");
        }
        assert_eq!(get("/api/v1/groups", "").unwrap(), Endpoint::Groups);
        assert_eq!(
            get("/api/v1/groups/my%20group%2Fx", "").unwrap(),
            Endpoint::Group("my group/x".into())
        );
        assert_eq!(get("/api/v1/groups/%ff", "").unwrap_err().status(), 400);
    }

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(
            query_param("a=1&b=x+y%21", "b").unwrap().as_deref(),
            Some("x y!")
        );
        assert_eq!(query_param("a=1", "b").unwrap(), None);
        assert_eq!(query_param("%zz=%", "a").unwrap(), None);
    }
}
