//! The management API's objects: the console's model types as JSON clients read them
//! (camelCase, RFC 3339 UTC times). Built from the same values the console shows.

use crate::model::app::{AppSummary, EndpointView, TestDeliveryResult};
use crate::model::delivery::{AttemptView, DeliveryDetail, DeliverySummary, ReplayProgress};
use crate::model::org::{AuditEntry, InvitationView, MemberView};
use crate::server::clock::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: `next` is the `after` that fetches the following page, `null` at the end.
macro_rules! list_type {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `after` for the next page; `null` when this is the last.
            pub next: Option<String>,
        }
    };
}

list_type!(
    ApplicationList,
    Application,
    "A page of applications, oldest first."
);
list_type!(
    EndpointList,
    Endpoint,
    "A page of an application's endpoints, oldest first."
);
list_type!(
    DeliveryList,
    Delivery,
    "A page of deliveries, newest first."
);
list_type!(
    FacialIdList,
    super::super::FacialIdReply,
    "A page of facial IDs, newest first."
);
list_type!(
    MemberList,
    Member,
    "A page of the organization's members, oldest first."
);
list_type!(
    InvitationList,
    Invitation,
    "A page of pending invitations, oldest first."
);
list_type!(
    AuditList,
    AuditLogEntry,
    "A page of the audit log, newest first."
);
list_type!(
    EventTypeList,
    EventType,
    "Every event type receivers can get."
);

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The public application ID, as in event bodies' `appId`.
    pub id: String,
    pub name: String,
    /// `free`, `premium`, `business` or `enterprise`.
    pub plan: String,
    pub endpoint_count: i64,
    pub last_event_at: Option<String>,
    pub created_at: String,
}

impl From<AppSummary> for Application {
    fn from(app: AppSummary) -> Self {
        Application {
            id: app.public_id.into(),
            name: app.name,
            plan: app.plan.as_str().to_owned(),
            endpoint_count: app.endpoint_count,
            last_event_at: app.last_event_at_ms.map(rfc3339),
            created_at: rfc3339(app.created_at_ms),
        }
    }
}

/// A new application with its API key, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApplication {
    #[serde(flatten)]
    pub application: Application,
    /// `fhk_live_…`: reports events through `/api/v1/events`. Not shown again.
    pub api_key: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyReply {
    /// The new key; the previous one stopped working.
    pub api_key: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTokenReply {
    /// Sent to receivers as `WWW-Authenticate: Bearer <token>`.
    pub webhook_token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    /// The event types sent; `null` means every type, including types added later.
    pub events: Option<Vec<String>>,
    /// Whether bodies carry the linked `payload` (Business plan and up).
    pub include_payload: bool,
    pub timeout_secs: i64,
    /// Why it is disabled (by its owner, a 410 Gone, or failing for days); `null` while enabled.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<String>,
    /// Deliveries of the last 24 hours (test events aside).
    pub deliveries_24h: i64,
    pub delivered_24h: i64,
    pub consecutive_failures: i64,
    pub last_delivery_at: Option<String>,
    /// A facial ID's deliveries go one at a time, in event order.
    pub ordered: bool,
    /// `hmac`, `ed25519` or `both`.
    pub signature: String,
    /// `whpk_…`: verifies `v1a` signatures; `null` unless ed25519 signs.
    pub public_key: Option<String>,
    /// Secret values are empty.
    pub headers: Vec<super::controls::HeaderBody>,
    /// The endpoint's own delays; `null` is the operator's schedule.
    pub retry_schedule: Option<String>,
    pub rate_per_sec: Option<i64>,
}

impl From<EndpointView> for Endpoint {
    fn from(endpoint: EndpointView) -> Self {
        Endpoint {
            id: endpoint.id.into(),
            url: endpoint.url,
            description: endpoint.description,
            enabled: endpoint.enabled,
            events: endpoint
                .events
                .map(|kinds| kinds.iter().map(|k| k.as_str().to_owned()).collect()),
            include_payload: endpoint.include_payload,
            timeout_secs: endpoint.timeout_secs,
            disabled_reason: endpoint.disabled_reason,
            disabled_at: endpoint.disabled_at_ms.map(rfc3339),
            deliveries_24h: endpoint.health.recent_total,
            delivered_24h: endpoint.health.recent_delivered,
            consecutive_failures: endpoint.health.consecutive_failures,
            last_delivery_at: endpoint.health.last_delivery_at_ms.map(rfc3339),
            ordered: endpoint.controls.ordered,
            signature: endpoint.controls.signature_scheme.as_str().to_owned(),
            public_key: endpoint.public_key,
            headers: endpoint
                .controls
                .custom_headers
                .into_iter()
                .map(super::controls::header_reply)
                .collect(),
            retry_schedule: endpoint.controls.retry_schedule,
            rate_per_sec: endpoint.controls.rate_per_sec,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningSecretReply {
    /// `whsec_…`: verifies `webhook-signature` (Standard Webhooks).
    pub current: String,
    /// The secret before the last rotation, valid until `previousExpiresAt`.
    pub previous: Option<String>,
    pub previous_expires_at: Option<String>,
    /// `whpk_…`: verifies `v1a` (ed25519) signatures.
    pub public_key: Option<String>,
    /// The public key before the last rotation, valid until `previousExpiresAt`.
    pub previous_public_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub delivery_id: String,
    pub delivered: bool,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub http_version: Option<String>,
    pub response_excerpt: Option<String>,
    /// `dns`, `connect`, `tls`, `timeout`, `policy` or `http_status`, when not delivered.
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

impl From<TestDeliveryResult> for TestResult {
    fn from(result: TestDeliveryResult) -> Self {
        TestResult {
            delivery_id: result.delivery_id.into(),
            delivered: result.delivered,
            status_code: result.status_code,
            latency_ms: result.latency_ms,
            http_version: result.http_version,
            response_excerpt: result.response_excerpt,
            error_class: result.error_class,
            error_message: result.error_message,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    /// An event type's name, or `test`.
    pub event_name: String,
    pub facial_id: String,
    pub endpoint_id: String,
    /// `pending`, `delivering`, `delivered`, `retrying` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i64>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at: String,
    pub completed_at: Option<String>,
}

impl From<DeliverySummary> for Delivery {
    fn from(d: DeliverySummary) -> Self {
        Delivery {
            id: d.id.into(),
            event_id: d.event_id.into(),
            event_name: d.event_name,
            facial_id: d.facial_id,
            endpoint_id: d.endpoint_id.into(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at_ms.map(rfc3339),
            last_status_code: d.last_status_code,
            last_error_class: d.last_error_class,
            last_error_message: d.last_error_message,
            last_latency_ms: d.last_latency_ms,
            created_at: rfc3339(d.created_at_ms),
            completed_at: d.completed_at_ms.map(rfc3339),
        }
    }
}

/// A delivery with its request as sent (secrets masked) and every attempt.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryWithAttempts {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub request: SentRequest,
    pub attempt_log: Vec<Attempt>,
}

#[derive(Serialize, ToSchema)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// Name and value pairs; the bearer token and signatures are masked.
    pub headers: Vec<(String, String)>,
    /// The body byte for byte as signed and sent.
    pub body: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub number: i64,
    pub started_at: String,
    pub duration_ms: i64,
    pub http_version: Option<String>,
    pub remote_addr: Option<String>,
    pub status_code: Option<i64>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub response_headers: Vec<(String, String)>,
    pub response_excerpt: Option<String>,
}

impl From<DeliveryDetail> for DeliveryWithAttempts {
    fn from(detail: DeliveryDetail) -> Self {
        DeliveryWithAttempts {
            delivery: detail.summary.into(),
            request: SentRequest {
                method: detail.request.method,
                url: detail.request.url,
                headers: detail.request.headers,
                body: detail.request.body,
            },
            attempt_log: detail.attempts.into_iter().map(attempt).collect(),
        }
    }
}

fn attempt(a: AttemptView) -> Attempt {
    Attempt {
        number: a.number,
        started_at: rfc3339(a.started_at_ms),
        duration_ms: a.duration_ms,
        http_version: a.http_version,
        remote_addr: a.remote_addr,
        status_code: a.status_code,
        error_class: a.error_class,
        error_message: a.error_message,
        response_headers: a.response_headers,
        response_excerpt: a.response_excerpt,
    }
}

/// A replay of failed deliveries: a job whose counts move as the deliveries are sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayJob {
    pub id: String,
    pub total: i64,
    pub delivered: i64,
    pub failed: i64,
    pub waiting: i64,
    pub finished: bool,
}

impl From<ReplayProgress> for ReplayJob {
    fn from(p: ReplayProgress) -> Self {
        ReplayJob {
            waiting: p.waiting(),
            finished: p.finished(),
            id: p.replay_id,
            total: p.total,
            delivered: p.delivered,
            failed: p.failed,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    /// The `eventName` receivers get.
    pub name: String,
    pub label: String,
    pub fires_when: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub account_id: String,
    pub email: String,
    /// `owner`, `admin`, `developer` or `viewer`.
    pub role: String,
    pub joined_at: String,
}

impl From<MemberView> for Member {
    fn from(m: MemberView) -> Self {
        Member {
            account_id: m.account_id.into(),
            email: m.email,
            role: m.role.as_str().to_owned(),
            joined_at: rfc3339(m.joined_at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
}

impl From<InvitationView> for Invitation {
    fn from(i: InvitationView) -> Self {
        Invitation {
            id: i.id,
            email: i.email,
            role: i.role.as_str().to_owned(),
            invited_by: i.invited_by,
            created_at: rfc3339(i.created_at_ms),
            expires_at: rfc3339(i.expires_at_ms),
        }
    }
}

/// An invitation just sent; `link` is set when this server sends no mail, to pass on.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    pub link: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogEntry {
    pub id: String,
    pub at: String,
    /// The account's email, `operator`, or `API token “name”`.
    pub actor: String,
    /// `object.verb`, e.g. `endpoint.update`.
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub ip: String,
    /// Before and after values, never a secret.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl From<AuditEntry> for AuditLogEntry {
    fn from(e: AuditEntry) -> Self {
        AuditLogEntry {
            details: e
                .details
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            id: e.id,
            at: rfc3339(e.at_ms),
            actor: e.actor,
            action: e.action,
            object_kind: e.object_kind,
            object_id: e.object_id,
            ip: e.ip,
        }
    }
}
