//! `WebConsole`: the broker's HTTP listener's answer to every path but
//! `/metrics` (the listener's [`HttpApp`]): a page from `assets.rs`, a
//! JSON answer of the API, or a write action (only when
//! `console.writes.enable` is on, only with a JSON body; logged), errors as
//! `{"error": ...}` with their status.

use serde::Serialize;

use super::error::{ConsoleError, JSON};
use super::routes::{Endpoint, route};
use super::sources::ConsoleSources;
use super::{
    actions, assets, broker_stats, cluster, cluster_stats, groups, messages, topics, znodes,
};
use crate::metrics::{HttpApp, HttpFuture, HttpRequest, HttpResponse};

/// The console on a broker's HTTP listener.
pub struct WebConsole {
    pub sources: ConsoleSources,
}

impl WebConsole {
    async fn answer(&self, request: &HttpRequest) -> Result<HttpResponse, ConsoleError> {
        match route(&request.method, &request.path, &request.query)? {
            Endpoint::Asset(name) => Ok(assets::response(name)),
            Endpoint::Cluster => json(&cluster::cluster(&self.sources).await?),
            Endpoint::Topics => json(&topics::topics(&self.sources).await?),
            Endpoint::Topic(name) => json(&topics::topic(&self.sources, &name).await?),
            Endpoint::Messages(name, query) => {
                json(&messages::messages(&self.sources, &name, &query).await?)
            }
            Endpoint::Groups => json(&groups::groups(&self.sources).await?),
            Endpoint::Group(id) => json(&groups::group(&self.sources, &id).await?),
            Endpoint::Znode(path) => json(&znodes::znode(&self.sources, &path).await?),
            Endpoint::Stats => json(&cluster_stats::cluster_stats(&self.sources).await),
            Endpoint::BrokerStats => json(&broker_stats::read(
                self.sources.broker_id,
                crate::metrics::global(),
            )),
            Endpoint::ConsoleInfo => json(&serde_json::json!({
                "broker": self.sources.broker_id,
                "writes_enabled": self.sources.writes_enabled,
            })),
            Endpoint::Write(action) => {
                if !self.sources.writes_enabled {
                    return Err(ConsoleError::WritesDisabled);
                }
                let is_json = request
                    .content_type
                    .as_deref()
                    .and_then(|t| t.split(';').next())
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(JSON));
                if !is_json {
                    return Err(ConsoleError::UnsupportedMediaType);
                }
                let done = actions::perform(&self.sources, &action, &request.body).await;
                let status = done.as_ref().map_or_else(|e| e.status(), |r| r.status);
                tracing::info!(?action, status, "console write action");
                done
            }
        }
    }
}

fn json(value: &impl Serialize) -> Result<HttpResponse, ConsoleError> {
    let body = serde_json::to_vec(value).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    Ok(HttpResponse::new(200, JSON, body))
}

impl HttpApp for WebConsole {
    fn handle(&self, request: HttpRequest) -> HttpFuture<'_> {
        Box::pin(async move {
            match self.answer(&request).await {
                Ok(response) => response,
                Err(e) => {
                    tracing::debug!(path = %request.path, error = %e, "console request refused");
                    e.to_response()
                }
            }
        })
    }
}
