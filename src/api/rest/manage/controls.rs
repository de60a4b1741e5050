//! An endpoint's delivery controls in the REST API: the fields a create or an update may carry
//! (each left out keeps its value), merged onto what is saved and checked by the same service
//! as the console's.

use super::endpoints::whole_number;
use crate::api::rest::ApiError;
use crate::model::controls::{CustomHeader, DeliveryControls, SignatureScheme};
use crate::model::AppError;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A header sent with every delivery to the endpoint.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderBody {
    /// An HTTP header name; `Content-Type`, `User-Agent`, `WWW-Authenticate`, `Host`,
    /// `Content-Length`, `webhook-*` and hop-by-hop headers are refused.
    #[schema(max_length = 64)]
    name: String,
    /// Visible ASCII. Empty in replies when `secret`; sent empty, a secret header keeps its
    /// saved value.
    #[schema(max_length = 1024)]
    value: String,
    /// Masked after saving, in every page and reply.
    #[serde(default)]
    secret: bool,
}

/// The delivery controls a create or an update carried (each `None` when left out).
pub struct ControlsBody {
    pub ordered: Option<bool>,
    pub signature: Option<String>,
    pub headers: Option<Vec<HeaderBody>>,
    pub retry_schedule: Option<Option<String>>,
    pub rate_per_sec: Option<Option<i64>>,
}

/// The controls fields of a create or an update body, which both declare.
macro_rules! controls {
    ($body:expr) => {
        $crate::api::rest::manage::controls::ControlsBody {
            ordered: $body.ordered,
            signature: $body.signature,
            headers: $body.headers,
            retry_schedule: $body.retry_schedule,
            rate_per_sec: $body.rate_per_sec,
        }
    };
}
pub(super) use controls;

pub(super) fn present_whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<i64>>, D::Error> {
    whole_number(deserializer).map(Some)
}

impl ControlsBody {
    /// `saved` with what this body changes.
    pub fn merged(self, saved: DeliveryControls) -> Result<DeliveryControls, ApiError> {
        let signature_scheme = match self.signature {
            None => saved.signature_scheme,
            Some(raw) => SignatureScheme::parse(&raw).map_err(|err| field("signature", err))?,
        };
        Ok(DeliveryControls {
            ordered: self.ordered.unwrap_or(saved.ordered),
            signature_scheme,
            custom_headers: match self.headers {
                None => saved.custom_headers,
                Some(headers) => headers
                    .into_iter()
                    .map(|h| CustomHeader {
                        name: h.name,
                        value: h.value,
                        secret: h.secret,
                    })
                    .collect(),
            },
            retry_schedule: self.retry_schedule.unwrap_or(saved.retry_schedule),
            rate_per_sec: self.rate_per_sec.unwrap_or(saved.rate_per_sec),
        })
    }
}

/// A saved header as replies show it.
pub fn header_reply(header: CustomHeader) -> HeaderBody {
    HeaderBody {
        name: header.name,
        value: header.value,
        secret: header.secret,
    }
}

/// A model error named after the API's field rather than the console's.
pub fn field(name: &str, err: AppError) -> ApiError {
    match err {
        AppError::Invalid { message, .. } => ApiError::invalid(name, message),
        other => other.into(),
    }
}
