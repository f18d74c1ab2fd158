//! `GET /api/v1/znodes?path=<path>`: one znode under the broker's chroot,
//! as zkCli's `get -s` and `ls` show it: its data (as text when it is UTF-8,
//! else base64), its stat and its children (sorted, at most
//! [`MAX_CHILDREN`] listed).

use base64::Engine;
use serde::Serialize;

use super::error::ConsoleError;
use super::sources::ConsoleSources;

/// Children listed at most (the count is always given).
pub const MAX_CHILDREN: usize = 1000;

#[derive(Debug, Serialize)]
pub struct ZnodeView {
    pub path: String,
    /// The data as UTF-8 text, if it is.
    pub data: Option<String>,
    /// The data in base64, when it is not text.
    pub data_base64: Option<String>,
    pub stat: StatView,
    pub children: Vec<String>,
    pub children_truncated: bool,
}

/// zkCli's stat fields.
#[derive(Debug, Serialize)]
pub struct StatView {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub ephemeral_owner: String,
    pub data_length: i32,
    pub num_children: i32,
}

pub async fn znode(console: &ConsoleSources, path: &str) -> Result<ZnodeView, ConsoleError> {
    let Some((data, stat)) = console.zk.get_data(path).await? else {
        return Err(ConsoleError::NotFound(format!("znode {path}")));
    };
    let mut children = console.zk.get_children(path).await?.unwrap_or_default();
    children.sort();
    let children_truncated = children.len() > MAX_CHILDREN;
    children.truncate(MAX_CHILDREN);
    let (text, binary) = match String::from_utf8(data) {
        Ok(text) => (Some(text), None),
        Err(e) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
        ),
    };
    Ok(ZnodeView {
        path: path.to_owned(),
        data: text,
        data_base64: binary,
        stat: StatView {
            czxid: stat.czxid,
            mzxid: stat.mzxid,
            ctime: stat.ctime_ms,
            mtime: stat.mtime_ms,
            version: stat.version,
            cversion: stat.cversion,
            ephemeral_owner: format!("{:#x}", stat.ephemeral_owner),
            data_length: stat.data_length,
            num_children: stat.num_children,
        },
        children,
        children_truncated,
    })
}
