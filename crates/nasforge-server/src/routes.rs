//! The dashboard's routes: HTML pages for people, JSON for the pages' live refresh. Every handler reads the
//! store on a blocking thread.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::Value;

use crate::error::ServerError;
use crate::pages;
use crate::studies::{Studies, VersionedReport};

/// `?page=N` of a study's trial table (from 0).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: usize,
}

pub(crate) fn router(studies: Arc<Studies>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/studies", get(studies_json))
        .route("/api/study/{name}", get(study_json))
        .route("/study/{name}", get(study_page))
        .route("/study/{name}/views", get(study_views))
        .with_state(studies)
}

/// Runs `read` on a blocking thread and turns its error into a 500 page.
async fn reading<T: Send + 'static>(
    studies: Arc<Studies>,
    read: impl FnOnce(&Studies) -> Result<T, ServerError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(move || read(&studies)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!("{error}");
            Err((StatusCode::INTERNAL_SERVER_ERROR, Html(pages::problem("Cannot read the store", &error.to_string())))
                .into_response())
        }
        Err(panic) => {
            Err((StatusCode::INTERNAL_SERVER_ERROR, Html(pages::problem("Internal error", &panic.to_string())))
                .into_response())
        }
    }
}

fn no_such_study(studies: &Studies, name: &str) -> Response {
    let message = format!("The store {} has no study '{name}'.", studies.location());
    (StatusCode::NOT_FOUND, Html(pages::problem("No such study", &message))).into_response()
}

async fn index(State(studies): State<Arc<Studies>>) -> Response {
    match reading(studies, |studies| Ok((studies.location().to_string(), studies.summaries()?))).await {
        Ok((location, summaries)) => Html(pages::index(&location, &summaries)).into_response(),
        Err(response) => response,
    }
}

async fn studies_json(State(studies): State<Arc<Studies>>) -> Response {
    match reading(studies, |studies| studies.summaries()).await {
        Ok(summaries) => Json(Value::Array(summaries)).into_response(),
        Err(response) => response,
    }
}

async fn study_json(State(studies): State<Arc<Studies>>, Path(name): Path<String>) -> Response {
    let asked = name.clone();
    match reading(studies.clone(), move |studies| studies.summary(&asked)).await {
        Ok(Some(summary)) => Json(summary).into_response(),
        Ok(None) => no_such_study(&studies, &name),
        Err(response) => response,
    }
}

async fn study_page(
    State(studies): State<Arc<Studies>>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    with_report(studies, name, move |now| pages::study_page(&now.report, now.version, query.page)).await
}

async fn study_views(
    State(studies): State<Arc<Studies>>,
    Path(name): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    with_report(studies, name, move |now| pages::study_views(&now.report, query.page)).await
}

/// The HTML `render` makes of study `name`'s report as it is now, or a 404 page.
async fn with_report(studies: Arc<Studies>, name: String, render: impl FnOnce(&VersionedReport) -> String) -> Response {
    let asked = name.clone();
    match reading(studies.clone(), move |studies| studies.report(&asked)).await {
        Ok(Some(now)) => Html(render(&now)).into_response(),
        Ok(None) => no_such_study(&studies, &name),
        Err(response) => response,
    }
}
