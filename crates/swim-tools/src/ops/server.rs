//! The HTTP server on `--metrics-addr`: `/metrics` (Prometheus, OpenMetrics text),
//! `/members` (JSON) and `/` (the status page). It only reads the member's state, and only
//! when asked: a member nobody scrapes does no work for it.

use std::future::Future;
use std::io;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use swim_protocol::Cluster;
use tokio::net::TcpListener;

use super::members::MembersDoc;
use super::page;

/// The routes, reading `cluster`.
pub fn router(cluster: Cluster) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/members", get(members))
        .route("/metrics", get(metrics))
        .with_state(cluster)
}

/// Serves the routes on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    cluster: Cluster,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(cluster))
        .with_graceful_shutdown(stop)
        .await
}

async fn metrics(State(cluster): State<Cluster>) -> impl IntoResponse {
    let text = swim_protocol::metrics::encode(&cluster);
    ([(CONTENT_TYPE, swim_protocol::metrics::CONTENT_TYPE)], text)
}

async fn members(State(cluster): State<Cluster>) -> impl IntoResponse {
    let doc = MembersDoc::of(&cluster);
    let json = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    ([(CONTENT_TYPE, "application/json")], json + "\n")
}

async fn status_page(State(cluster): State<Cluster>) -> Html<String> {
    Html(page::render(&MembersDoc::of(&cluster)))
}
