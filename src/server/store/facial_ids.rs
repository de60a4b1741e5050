//! The facial-ID registry, read side. Writes happen only through `record_event`, so every
//! change to the registry is also an event.

use crate::model::ids::AppId;

use super::{on_db, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FacialIdRecord {
    pub facial_id: String,
    pub payload: Option<String>,
    pub gender: Option<String>,
    pub age: Option<i64>,
    pub enrolled_at: i64,
    pub last_auth_at: Option<i64>,
}

impl Store {
    pub async fn facial_id(
        &self,
        app_id: &AppId,
        facial_id: &str,
    ) -> Result<Option<FacialIdRecord>, StoreError> {
        let row = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, FacialIdRecord>(
                "SELECT facial_id, payload, gender, age, enrolled_at, last_auth_at FROM facial_ids \
                 WHERE app_id = $1 AND facial_id = $2",
            )
            .bind(app_id)
            .bind(facial_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row)
    }
}

impl Store {
    /// One page of an application's facial IDs, newest first, optionally those starting with
    /// `search`. Fetches one extra row so the caller knows whether another page exists.
    pub async fn facial_ids_page(
        &self,
        app_id: &AppId,
        search: Option<&str>,
        after: Option<(i64, &str)>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<FacialIdRecord>, StoreError> {
        // Facial IDs are restricted to [A-Za-z0-9_-]; escape LIKE's wildcard `_` in the prefix.
        let pattern = search.map(|s| {
            format!(
                "{}%",
                s.replace('\\', "\\\\")
                    .replace('_', "\\_")
                    .replace('%', "\\%")
            )
        });
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, FacialIdRecord>(
                "SELECT facial_id, payload, gender, age, enrolled_at, last_auth_at FROM facial_ids \
                 WHERE app_id = $1 AND ($2 IS NULL OR facial_id LIKE $2 ESCAPE '\\') \
                 AND (CAST($5 AS BIGINT) IS NULL OR enrolled_at < $5 \
                      OR (enrolled_at = $5 AND facial_id > $6)) \
                 ORDER BY enrolled_at DESC, facial_id LIMIT $3 OFFSET $4",
            )
            .bind(app_id)
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }

    /// How many events of each kind the application reported since `since_ms`.
    pub async fn event_counts_since(
        &self,
        app_id: &AppId,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = on_db!(self.db(), |pool| {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT event_name, COUNT(*) FROM events WHERE app_id = $1 AND occurred_at >= $2 \
                 GROUP BY event_name",
            )
            .bind(app_id)
            .bind(since_ms)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows)
    }
}
