//! Event intake and the facial-ID registry: validates what an application reports, turns it
//! into a registry change plus an event, and records both with their outbox atomically.
//! Knows nothing of HTTP; the REST boundary parses requests into `EventInput`.

use crate::model::ids::{AppId, EventId};

mod rate;

pub use rate::{RateDecision, RateLimiter};

use crate::model::app::EventKind;
use crate::model::registry::{FacialIdPage, FacialIdSummary, FACIAL_IDS_PER_PAGE};
use crate::model::AppError;
use crate::server::auth::hash_secret;
use crate::server::store::{
    FacialIdRecord, IdempotencyKey, NewEvent, RecordOutcome, RecordedEvent, RegistryChange, Store,
    StoredReply,
};
use rand::RngCore;
use std::net::IpAddr;

pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
const MAX_FACIAL_ID_CHARS: usize = 64;

/// A reported event, already parsed from JSON.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub kind: EventKind,
    pub facial_id: Option<String>,
    pub client_ip: IpAddr,
    pub gender: Option<String>,
    pub age: Option<i64>,
    /// The linked payload (enroll, payload_update), as JSON text.
    pub payload: Option<String>,
    pub pincode: Option<String>,
}

impl EventInput {
    /// An event with no details, payload or PIN; set those with struct update syntax.
    pub fn new(kind: EventKind, facial_id: Option<String>, client_ip: IpAddr) -> Self {
        EventInput {
            kind,
            facial_id,
            client_ip,
            gender: None,
            age: None,
            payload: None,
            pincode: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    Recorded {
        event_id: EventId,
        facial_id: String,
        deliveries: u64,
    },
    Replayed(StoredReply),
}

#[derive(Clone)]
pub struct Ingest {
    store: Store,
}

impl Ingest {
    pub fn new(store: Store) -> Self {
        Ingest { store }
    }

    /// Records an event for `app_id`. With an idempotency key, `reply` renders the response
    /// that later repeats of the key get; it is stored in the event's transaction.
    pub async fn submit(
        &self,
        app_id: &AppId,
        input: EventInput,
        idempotency: Option<IdempotencyKey<'_>>,
        reply: impl Fn(&RecordedEvent, &str) -> (i64, String) + Send + Sync + 'static,
    ) -> Result<Submitted, AppError> {
        let facial_id = match (&input.facial_id, input.kind) {
            (Some(id), _) => check_facial_id(id)?,
            (None, EventKind::Enroll) => new_facial_id(),
            (None, _) => {
                return Err(AppError::invalid(
                    "facialId",
                    "facialId is required for this event.",
                ))
            }
        };
        if let Some(payload) = &input.payload {
            check_payload(payload)?;
        }
        // Checked for every kind, though only an enrollment keeps them: bad input is refused.
        let gender = check_gender(input.gender)?;
        let age = check_age(input.age)?;
        if input.pincode.is_some() {
            check_pincode(input.pincode.clone())?;
        }
        let change = match input.kind {
            EventKind::Enroll => RegistryChange::Enroll {
                payload: input.payload,
                gender,
                age,
            },
            EventKind::Auth => RegistryChange::Authenticate,
            EventKind::Deletion => RegistryChange::Delete,
            EventKind::PayloadUpdate => RegistryChange::ReplacePayload {
                payload: input.payload,
            },
            EventKind::PincodeUpdate => {
                let pincode = check_pincode(input.pincode)?;
                RegistryChange::SetPincode {
                    pincode_hash: hash_secret(pincode).await?,
                }
            }
        };
        let client_ip = input.client_ip.to_string();
        let event = NewEvent {
            app_id,
            event_name: input.kind.as_str(),
            facial_id: &facial_id,
            client_ip: &client_ip,
            change,
        };
        let outcome = self
            .store
            .record_event(event, idempotency, {
                let facial_id = facial_id.clone();
                Box::new(move |recorded| reply(recorded, &facial_id))
            })
            .await?;
        match outcome {
            RecordOutcome::Recorded(recorded) => Ok(Submitted::Recorded {
                event_id: recorded.event_id,
                facial_id,
                deliveries: recorded.deliveries,
            }),
            RecordOutcome::Replayed(reply) => Ok(Submitted::Replayed(reply)),
            RecordOutcome::FacialIdUnknown => Err(AppError::NotFound),
            RecordOutcome::FacialIdTaken => Err(AppError::Conflict {
                field: "facialId".to_owned(),
                message: "This facial ID is already enrolled in this application.".to_owned(),
            }),
        }
    }

    pub async fn facial_id(
        &self,
        app_id: &AppId,
        facial_id: &str,
    ) -> Result<FacialIdRecord, AppError> {
        let facial_id = check_facial_id(facial_id).map_err(|_| AppError::NotFound)?;
        self.store
            .facial_id(app_id, &facial_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Up to `limit` facial IDs listed after the position `after` (an enrolment time and a
    /// facial ID; from the newest when `None`), and the position after the last one when more
    /// follow: the management API's cursor, which needs no row to still exist.
    pub async fn facial_ids_after(
        &self,
        app_id: &AppId,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<(Vec<FacialIdRecord>, Option<(i64, String)>), AppError> {
        let mut rows = self
            .store
            .facial_ids_page(app_id, None, after, i64::from(limit) + 1, 0)
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = more
            .then(|| rows.last().map(|r| (r.enrolled_at, r.facial_id.clone())))
            .flatten();
        Ok((rows, next))
    }

    /// A page of the registry for the console, with the last day's event counts.
    pub async fn facial_id_page(
        &self,
        app_id: &AppId,
        search: Option<&str>,
        page: u32,
    ) -> Result<FacialIdPage, AppError> {
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        let per_page = i64::from(FACIAL_IDS_PER_PAGE);
        let mut rows = self
            .store
            .facial_ids_page(
                app_id,
                search,
                None,
                per_page + 1,
                i64::from(page) * per_page,
            )
            .await?;
        let has_more = rows.len() as i64 > per_page;
        rows.truncate(FACIAL_IDS_PER_PAGE as usize);
        let since = crate::server::clock::now_ms() - 24 * 60 * 60 * 1000;
        let counted = self.store.event_counts_since(app_id, since).await?;
        let counts_24h = EventKind::ALL
            .into_iter()
            .map(|kind| {
                let n = counted
                    .iter()
                    .find(|(name, _)| name == kind.as_str())
                    .map_or(0, |(_, n)| *n);
                (kind, n)
            })
            .collect();
        Ok(FacialIdPage {
            items: rows.into_iter().map(summary).collect(),
            page,
            has_more,
            counts_24h,
        })
    }

    pub async fn stored_reply(
        &self,
        app_id: &AppId,
        key: &str,
    ) -> Result<Option<StoredReply>, AppError> {
        Ok(self.store.stored_reply(app_id, key).await?)
    }
}

fn summary(record: FacialIdRecord) -> FacialIdSummary {
    let payload = record.payload.map(|text| {
        serde_json::from_str::<serde_json::Value>(&text)
            .and_then(|value| serde_json::to_string_pretty(&value))
            .unwrap_or(text)
    });
    FacialIdSummary {
        facial_id: record.facial_id,
        enrolled_at_ms: record.enrolled_at,
        last_auth_at_ms: record.last_auth_at,
        gender: record.gender,
        age: record.age,
        payload,
    }
}

/// A new facial ID: 32 lowercase hex characters, like FACEIO's.
fn new_facial_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_facial_id(raw: &str) -> Result<String, AppError> {
    let valid = !raw.is_empty()
        && raw.chars().count() <= MAX_FACIAL_ID_CHARS
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(AppError::invalid(
            "facialId",
            "facialId must be 1 to 64 letters, digits, '-' or '_'.",
        ))
    }
}

fn check_payload(json: &str) -> Result<(), AppError> {
    if json.len() > MAX_PAYLOAD_BYTES {
        return Err(AppError::invalid(
            "payload",
            format!(
                "payload is {} bytes; at most {MAX_PAYLOAD_BYTES} bytes (16 KiB) are allowed.",
                json.len()
            ),
        ));
    }
    Ok(())
}

fn check_gender(gender: Option<String>) -> Result<Option<String>, AppError> {
    match gender {
        Some(g) if g.trim().is_empty() || g.chars().count() > 32 => Err(AppError::invalid(
            "details.gender",
            "gender must be 1 to 32 characters.",
        )),
        other => Ok(other.map(|g| g.trim().to_owned())),
    }
}

fn check_age(age: Option<i64>) -> Result<Option<i64>, AppError> {
    match age {
        Some(a) if !(0..=150).contains(&a) => Err(AppError::invalid(
            "details.age",
            "age must be a whole number from 0 to 150.",
        )),
        other => Ok(other),
    }
}

fn check_pincode(pincode: Option<String>) -> Result<String, AppError> {
    match pincode {
        Some(pin) if (4..=16).contains(&pin.len()) && pin.chars().all(|c| c.is_ascii_digit()) => {
            Ok(pin)
        }
        Some(_) => Err(AppError::invalid(
            "pincode",
            "pincode must be 4 to 16 digits.",
        )),
        None => Err(AppError::invalid(
            "pincode",
            "pincode is required for this event.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facial_ids_are_generated_and_checked() {
        let id = new_facial_id();
        assert_eq!(id.len(), 32);
        assert!(check_facial_id(&id).is_ok());
        assert!(check_facial_id("").is_err());
        assert!(check_facial_id("has space").is_err());
        assert!(check_facial_id(&"a".repeat(65)).is_err());
    }

    #[test]
    fn details_and_pincodes_are_bounded() {
        assert!(check_age(Some(151)).is_err());
        assert!(check_age(Some(-1)).is_err());
        assert_eq!(check_age(Some(42)).unwrap(), Some(42));
        assert!(check_gender(Some(" ".into())).is_err());
        assert!(check_pincode(Some("123".into())).is_err());
        assert!(check_pincode(Some("12a4".into())).is_err());
        assert!(check_pincode(Some("1234".into())).is_ok());
        assert!(check_payload(&"x".repeat(MAX_PAYLOAD_BYTES + 1)).is_err());
    }
}
