//! An alert's words and shapes: the sentence the console lists, the mail, and the
//! operational webhook's JSON body (`{"type", "timestamp", "data"}`, as Standard Webhooks
//! suggests).

use crate::model::alert::AlertKind;
use crate::model::ids::OrgId;
use crate::server::clock::rfc3339;
use crate::server::mail::templates;
use crate::server::store::{new_id, EndpointFacts, NewAlert};
use serde_json::json;

/// What an alert is about.
pub struct Subject<'a> {
    pub org_id: Option<&'a OrgId>,
    pub endpoint: Option<&'a EndpointFacts>,
    pub episode_id: Option<&'a str>,
}

/// Builds the alert `kind` saying `message`, unique by `dedupe_key`.
pub fn alert(
    kind: AlertKind,
    subject: Subject<'_>,
    message: String,
    dedupe_key: String,
    deliveries_affected: i64,
    raised_at: i64,
    settings: &super::AlertSettings,
) -> NewAlert {
    let console_url = &settings.console_url;
    let id = new_id("alr");
    let endpoint = subject.endpoint;
    let link = match endpoint {
        Some(e) => format!("{console_url}/apps/{}/webhooks/{}", e.app_id, e.id),
        None => format!("{console_url}/alerts"),
    };
    let body = json!({
        "type": kind.as_str(),
        "timestamp": rfc3339(raised_at),
        "data": {
            "alertId": id,
            "episodeId": subject.episode_id,
            "organizationId": subject.org_id,
            "applicationId": endpoint.map(|e| &e.app_id),
            "endpointId": endpoint.map(|e| &e.id),
            "endpointUrl": endpoint.map(|e| &e.url),
            "message": message,
            "deliveriesAffected": deliveries_affected,
            "consoleUrl": link,
        }
    });
    NewAlert {
        mail: settings
            .mail_on
            .then(|| templates::alert(kind.as_str(), &message, Some(&link))),
        webhook_body: body.to_string(),
        id,
        dedupe_key,
        kind: kind.as_str(),
        org_id: subject.org_id.cloned(),
        episode_id: subject.episode_id.map(str::to_owned),
        app_id: endpoint.map(|e| e.app_id.clone()),
        endpoint_id: endpoint.map(|e| e.id.clone()),
        endpoint_url: endpoint.map(|e| e.url.clone()),
        message,
        deliveries_affected,
        raised_at,
    }
}

/// "12 consecutive attempts failed" or "3 of 40 attempts succeeded in the last hour".
pub fn failing_reason(consecutive: i64, rate: Option<(u64, u64)>) -> String {
    match rate {
        Some((attempts, failures)) => format!(
            "only {} of its last {attempts} attempts in the past hour succeeded",
            attempts - failures
        ),
        None => format!("its last {consecutive} attempts failed"),
    }
}

/// Days as people say them: "5 days", "12 hours", "30 minutes".
pub fn span(ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let (n, unit) = if ms >= DAY {
        (ms / DAY, "day")
    } else if ms >= HOUR {
        (ms / HOUR, "hour")
    } else if ms >= MINUTE {
        (ms / MINUTE, "minute")
    } else {
        ((ms / 1000).max(1), "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(5 * 86_400_000), "5 days");
        assert_eq!(span(3_600_000), "1 hour");
        assert_eq!(span(90_000), "1 minute");
        assert_eq!(span(200), "1 second");
    }

    #[test]
    fn the_reason_names_the_rule_that_fired() {
        assert_eq!(failing_reason(7, None), "its last 7 attempts failed");
        assert_eq!(
            failing_reason(0, Some((40, 30))),
            "only 10 of its last 40 attempts in the past hour succeeded"
        );
    }
}
