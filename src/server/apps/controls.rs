//! An endpoint's delivery controls, checked before they are stored and shown without secrets:
//! custom headers (a secret one's saved value kept when left blank), the retry schedule within
//! the operator's bounds, the rate limit, and the ed25519 public key.

use crate::model::controls::{
    check_custom_headers, check_rate_per_sec, CustomHeader, DeliveryControls, SignatureScheme,
    MAX_RETRY_ATTEMPTS, MAX_RETRY_DELAY_SECS, RETRY_PRESETS,
};
use crate::model::AppError;
use crate::server::dispatch::{Ed25519Key, RetrySchedule};
use crate::server::error::internal;
use crate::server::store::EndpointRecord;

/// Checked controls, ready to store (headers as JSON, values included).
pub(super) struct CheckedControls {
    pub ordered: bool,
    pub signature_scheme: SignatureScheme,
    pub custom_headers: String,
    pub retry_schedule: Option<String>,
    pub rate_per_sec: Option<i64>,
}

/// Checks `input` against the endpoint's saved controls (`current`, none for a new one).
pub(super) fn check(
    input: Option<DeliveryControls>,
    current: Option<&EndpointRecord>,
) -> Result<CheckedControls, AppError> {
    let saved = match current {
        Some(record) => stored(record)?,
        None => DeliveryControls::default(),
    };
    let input = input.unwrap_or_else(|| saved.clone());
    let headers = with_saved_secrets(input.custom_headers, &saved.custom_headers)?;
    check_custom_headers(&headers)?;
    Ok(CheckedControls {
        ordered: input.ordered,
        signature_scheme: input.signature_scheme,
        custom_headers: serde_json::to_string(&headers)
            .map_err(|err| internal(format!("custom headers to JSON: {err}")))?,
        retry_schedule: check_schedule(input.retry_schedule.as_deref())?,
        rate_per_sec: check_rate_per_sec(input.rate_per_sec)?,
    })
}

/// A secret header submitted blank keeps the value saved under its name.
fn with_saved_secrets(
    headers: Vec<CustomHeader>,
    saved: &[CustomHeader],
) -> Result<Vec<CustomHeader>, AppError> {
    headers
        .into_iter()
        .filter(|h| !(h.name.trim().is_empty() && h.value.trim().is_empty()))
        .map(|mut header| {
            header.name = header.name.trim().to_owned();
            if header.secret && header.value.is_empty() {
                let kept = saved
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(&header.name))
                    .map(|s| s.value.clone());
                header.value = kept.ok_or_else(|| {
                    AppError::invalid("headers", format!("Enter a value for {}.", header.name))
                })?;
            }
            Ok(header)
        })
        .collect()
}

/// `None` (or empty, or `default`): the operator's schedule; a preset's name; or delays like
/// `0s,5s,5m` within `MAX_RETRY_ATTEMPTS` attempts of at most `MAX_RETRY_DELAY_SECS` each.
fn check_schedule(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() || raw.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    if let Some((_, _, delays)) = RETRY_PRESETS.iter().find(|(name, _, _)| *name == raw) {
        return Ok(Some((*delays).to_owned()));
    }
    let invalid = |message: String| AppError::invalid("retry_schedule", message);
    let schedule = RetrySchedule::parse(raw).map_err(|reason| invalid(format!("{reason}.")))?;
    if schedule.attempts() > MAX_RETRY_ATTEMPTS {
        return Err(invalid(format!(
            "A schedule has at most {MAX_RETRY_ATTEMPTS} attempts."
        )));
    }
    if schedule.longest_delay().as_secs() > MAX_RETRY_DELAY_SECS {
        return Err(invalid(
            "Each delay is at most 24h; add steps instead.".to_owned(),
        ));
    }
    let normalised: Vec<&str> = raw.split(',').map(str::trim).collect();
    Ok(Some(normalised.join(",")))
}

/// The controls as saved, secret values included (server side only).
pub(super) fn stored(record: &EndpointRecord) -> Result<DeliveryControls, AppError> {
    let custom_headers: Vec<CustomHeader> = serde_json::from_str(&record.custom_headers)
        .map_err(|err| internal(format!("stored custom headers: {err}")))?;
    Ok(DeliveryControls {
        ordered: record.ordered,
        signature_scheme: record.signature_scheme,
        custom_headers,
        retry_schedule: record.retry_schedule.clone(),
        rate_per_sec: record.rate_per_sec,
    })
}

/// The controls as any page or API reply shows them: secret header values blank.
pub(super) fn shown(record: &EndpointRecord) -> Result<DeliveryControls, AppError> {
    let mut controls = stored(record)?;
    for header in controls.custom_headers.iter_mut().filter(|h| h.secret) {
        header.value.clear();
    }
    Ok(controls)
}

/// The `whpk_…` key of a `whsk_…` one.
pub(super) fn public_key(secret: Option<&str>) -> Option<String> {
    Ed25519Key::from_secret(secret?)
        .ok()
        .map(|k| k.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str, secret: bool) -> CustomHeader {
        CustomHeader {
            name: name.into(),
            value: value.into(),
            secret,
        }
    }

    #[test]
    fn a_blank_secret_keeps_its_saved_value_and_a_new_one_needs_a_value() {
        let saved = [header("X-Key", "s3cret", true)];
        let kept = with_saved_secrets(vec![header("x-key", "", true)], &saved).unwrap();
        assert_eq!(kept[0].value, "s3cret");
        assert!(with_saved_secrets(vec![header("X-Other", "", true)], &saved).is_err());
        let dropped = with_saved_secrets(vec![header(" ", "", false)], &saved).unwrap();
        assert!(dropped.is_empty());
    }

    #[test]
    fn schedules_are_presets_defaults_or_bounded_lists() {
        assert_eq!(check_schedule(None).unwrap(), None);
        assert_eq!(check_schedule(Some("default")).unwrap(), None);
        assert_eq!(
            check_schedule(Some("quick")).unwrap().as_deref(),
            Some(RETRY_PRESETS[0].2)
        );
        assert_eq!(
            check_schedule(Some("0s, 5s ,1m")).unwrap().as_deref(),
            Some("0s,5s,1m")
        );
        assert!(check_schedule(Some("0s,25h")).is_err());
        assert!(check_schedule(Some(&vec!["1s"; 21].join(","))).is_err());
        let err = check_schedule(Some("soon")).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "retry_schedule"));
    }
}
