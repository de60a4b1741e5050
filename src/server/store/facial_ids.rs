//! The facial-ID registry, read side. Writes happen only through `record_event`, so every
//! change to the registry is also an event.

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
        app_id: &str,
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
