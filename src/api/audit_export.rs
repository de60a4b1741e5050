//! `GET /org/{org_id}/audit/export?format=csv|json`: the audit log as a file, with the same
//! filters as its page, for members whose role may read it.

use super::context::session_account;
use crate::model::ids::OrgId;
use crate::model::org::AuditEntry;
use crate::model::AppError;
use crate::server::orgs::{Actor, AuditQuery};
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new().route("/org/{org_id}/audit/export", get(export))
}

#[derive(Debug, serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(org_id): Path<OrgId>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let entries = async {
        let ip = peer.ip().to_string();
        let account = session_account(&state, &session, &ip)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        state.auth.ensure_console_use(&account)?;
        let actor = Actor::account(account.id, account.email, ip);
        let member = state.orgs.member(actor, &org_id).await?;
        let filter = AuditQuery {
            actor: query.actor.clone(),
            action: query.action.clone(),
            from: query.from.clone(),
            to: query.to.clone(),
        };
        state.orgs.audit().export(&member, &filter).await
    };
    let entries = match entries.await {
        Ok(entries) => entries,
        Err(err) => return refusal(&err),
    };
    match query.format.as_deref().unwrap_or("csv") {
        "json" => file(
            "application/json",
            "json",
            serde_json::to_vec_pretty(&entries).map_err(|e| e.to_string()),
        ),
        "csv" => file("text/csv; charset=utf-8", "csv", csv_bytes(&entries)),
        other => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("format: expected csv or json, got {other:?}"),
        )
            .into_response(),
    }
}

fn file(content_type: &'static str, extension: &str, body: Result<Vec<u8>, String>) -> Response {
    match body {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"facehook-audit.{extension}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(err) => refusal(&crate::server::error::internal(err)),
    }
}

fn csv_bytes(entries: &[AuditEntry]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "time_utc",
        "actor",
        "action",
        "object_kind",
        "object_id",
        "ip",
        "details",
    ];
    writer.write_record(header).map_err(|e| e.to_string())?;
    for entry in entries {
        let time = crate::model::time::utc_time(entry.at_ms);
        let row = [
            time.as_str(),
            &entry.actor,
            &entry.action,
            &entry.object_kind,
            &entry.object_id,
            &entry.ip,
            entry.details.as_deref().unwrap_or(""),
        ];
        writer
            .write_record(row.map(spreadsheet_safe))
            .map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// A cell a spreadsheet would run as a formula (a URL or a name typed by a member could
/// start with `=`) gets a leading apostrophe, so opening the export runs nothing.
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn refusal(err: &AppError) -> Response {
    let status =
        StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, err.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("-1+2"), "'-1+2");
        assert_eq!(spreadsheet_safe("alice@example.com"), "alice@example.com");
    }
}
