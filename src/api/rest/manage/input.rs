//! What a management request carries besides its body: list windows and cursors, IDs from
//! the path, the query, and values that must be exactly as documented.

use super::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;

/// `?limit=&after=` of a list ordered by ID (applications, endpoints, members,
/// invitations): up to `limit` items after the item whose ID is `after`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Listing {
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    pub(super) limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub(super) after: Option<String>,
}

/// `?limit=&after=` of a list ordered newest first (deliveries, facial IDs, the audit
/// log): `after` is the previous page's `next`, a position that needs no row to still exist.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// 1 to 100; default 20.
    #[param(minimum = 1, maximum = 100)]
    pub(super) limit: Option<u32>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,15}\\.[A-Za-z0-9_-]{1,64}$")]
    pub(super) after: Option<String>,
}

pub(super) fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(20),
        Some(limit @ 1..=100) => Ok(limit),
        Some(_) => Err(ApiError::invalid("limit", "limit must be from 1 to 100.")),
    }
}

pub(super) fn is_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(super) fn bad_cursor() -> ApiError {
    ApiError::invalid(
        "after",
        "after must be the `next` of the previous page of this list.",
    )
}

impl Window {
    pub(super) fn limit(&self) -> Result<u32, ApiError> {
        limit(self.limit)
    }

    /// The position `after` names: a time in milliseconds and an ID.
    pub(super) fn after(&self) -> Result<Option<(i64, String)>, ApiError> {
        let Some(raw) = self.after.as_deref() else {
            return Ok(None);
        };
        let (ms, id) = raw.split_once('.').ok_or_else(bad_cursor)?;
        let digits = (1..=15).contains(&ms.len()) && ms.bytes().all(|b| b.is_ascii_digit());
        match ms.parse::<i64>() {
            Ok(ms) if digits && is_id(id) => Ok(Some((ms, id.to_owned()))),
            _ => Err(bad_cursor()),
        }
    }
}

/// `raw` if it is exactly one of `allowed` (JSON values are not trimmed or re-cased).
pub(super) fn one_of<'a>(field: &str, raw: &'a str, allowed: &[&str]) -> Result<&'a str, ApiError> {
    if allowed.contains(&raw) {
        Ok(raw)
    } else {
        Err(ApiError::invalid(
            field,
            format!(
                "{field} must be one of {}; got {:?}.",
                allowed.join(", "),
                raw.chars().take(40).collect::<String>()
            ),
        ))
    }
}

/// The roles' names, as the API spells them.
pub(super) fn role_names() -> Vec<&'static str> {
    crate::model::org::Role::ALL.map(|r| r.as_str()).to_vec()
}

/// The event types an endpoint may subscribe to.
pub(super) fn event_kind_names() -> Vec<&'static str> {
    crate::model::app::EventKind::ALL
        .map(|k| k.as_str())
        .to_vec()
}

/// The latest time the API takes, in Unix seconds (9999-12-31T23:59:59Z).
pub(super) const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// A time given in Unix seconds, as milliseconds.
pub(super) fn unix_secs(field: &str, raw: Option<i64>) -> Result<Option<i64>, ApiError> {
    match raw {
        None => Ok(None),
        Some(secs @ 0..=MAX_UNIX_SECS) => Ok(Some(secs * 1000)),
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} is a time in Unix seconds, from 0 to {MAX_UNIX_SECS}."),
        )),
    }
}

/// The cursor of a position, as `next` gives it.
pub(super) fn cursor(position: Option<(i64, String)>) -> Option<String> {
    position.map(|(ms, id)| format!("{ms}.{id}"))
}

impl Listing {
    /// One page of a list already held whole (it is short), in ID order, after the item
    /// `after`: an item added while a client pages never shifts the cursor.
    pub(super) fn page<T>(
        &self,
        mut items: Vec<T>,
        id: impl Fn(&T) -> &str,
    ) -> Result<Page<T>, ApiError> {
        let limit = limit(self.limit)? as usize;
        items.sort_by(|a, b| id(a).cmp(id(b)));
        if let Some(after) = self.after.as_deref() {
            if !is_id(after) {
                return Err(bad_cursor());
            }
            items.retain(|item| id(item) > after);
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = more
            .then(|| items.last().map(|item| id(item).to_owned()))
            .flatten();
        Ok(Page { data: items, next })
    }
}

/// An ID from the path; one no object can have (a NUL, undecodable bytes) is not found.
pub struct Ids<T>(pub T);

impl<T, S> FromRequestParts<S> for Ids<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_found = || ApiError::from(crate::model::AppError::NotFound);
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(ids)| Ids(ids))
            .map_err(|_| not_found())
    }
}

/// A list's items and the cursor to the next page.
pub struct Page<T> {
    pub(super) data: Vec<T>,
    pub(super) next: Option<String>,
}

/// Reads `?…` into `T`, answering a bad query in the API's error shape.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        if query.contains("%00") {
            return Err(ApiError::invalid("query", "Query values cannot hold NUL."));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|err| {
                let text = err.body_text();
                ApiError::invalid(
                    &query_field(&text),
                    format!("The query is not valid: {text}"),
                )
            })
    }
}

/// The query parameter a deserialization error is about: `unknown field `x``, or the name
/// before the first `: ` of the reason; `query` when neither names one.
pub(super) fn query_field(text: &str) -> String {
    let reason = text.split_once("query string: ").map_or(text, |(_, r)| r);
    let named = reason
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .or_else(|| reason.split_once(": ").map(|(name, _)| name));
    match named {
        Some(name) if is_id(name) => name.to_owned(),
        _ => "query".to_owned(),
    }
}
