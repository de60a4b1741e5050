//! SQL the queue's statements share on both backends: the due condition, the columns a
//! claimed delivery is read from, and statements written with named parameters.

/// Rows a claim may lease: new or retrying, and due at `:now`. Matches the partial index
/// `deliveries_waiting`, so the oldest due rows are read in index order.
pub(super) const DUE: &str = "d.status IN ('pending', 'retrying') AND d.next_attempt_at <= :now";

/// The timeout, in seconds, of the endpoint of the `deliveries` row being updated.
pub(super) const ENDPOINT_TIMEOUT: &str =
    "(SELECT e.timeout_secs FROM endpoints e WHERE e.id = deliveries.endpoint_id)";

/// Each field of `ClaimedDelivery` and the column it is read from.
pub(super) const CLAIMED_FIELDS: [(&str, &str); 28] = [
    ("delivery_id", "d.id"),
    ("lease_token", LEASE_TOKEN),
    ("event_id", "d.event_id"),
    ("attempts", "d.attempts"),
    // A test event goes out as the type it was sent as.
    ("event_name", "COALESCE(ev.test_kind, ev.event_name)"),
    ("facial_id", "ev.facial_id"),
    ("client_ip", "ev.client_ip"),
    ("gender", "ev.gender"),
    ("age", "ev.age"),
    ("payload", "ev.payload"),
    ("occurred_at", "ev.occurred_at"),
    ("app_id", "a.id"),
    ("plan", "a.plan"),
    ("webhook_token", "a.webhook_token"),
    ("endpoint_id", "e.id"),
    ("url", "e.url"),
    ("timeout_secs", "e.timeout_secs"),
    ("include_payload", "e.include_payload"),
    ("signing_secret", "e.signing_secret"),
    ("previous_signing_secret", "e.previous_signing_secret"),
    ("previous_secret_expires_at", "e.previous_secret_expires_at"),
    ("order_key", "d.order_key"),
    ("signature_scheme", "e.signature_scheme"),
    ("ed25519_secret_key", "e.ed25519_secret_key"),
    (
        "previous_ed25519_secret_key",
        "e.previous_ed25519_secret_key",
    ),
    ("custom_headers", "e.custom_headers"),
    ("retry_schedule", "e.retry_schedule"),
    ("rate_per_sec", "e.rate_per_sec"),
];

/// The lease token of a leased delivery.
const LEASE_TOKEN: &str = "d.lease_token";

/// Which lease token a `ClaimedDelivery` is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lease {
    /// The delivery's own: it is leased.
    Held,
    /// Any delivery, leased or not (an empty token when not): what it would send now.
    Any,
}

/// The select list of a `ClaimedDelivery` read from `deliveries d`, `events ev`, `endpoints e`
/// and `applications a` (`CLAIMED_JOINS`).
pub(crate) fn claimed_columns(lease: Lease) -> String {
    CLAIMED_FIELDS
        .iter()
        .map(|(field, column)| match (*field, lease) {
            ("lease_token", Lease::Any) => format!("COALESCE({LEASE_TOKEN}, '') AS {field}"),
            _ => format!("{column} AS {field}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) const CLAIMED_JOINS: &str = "JOIN events ev ON ev.id = d.event_id \
     JOIN endpoints e ON e.id = d.endpoint_id JOIN applications a ON a.id = d.app_id";

/// The delivery $2, if it is leased under the token $1, with everything needed to send it.
pub(crate) fn leased_one_sql() -> String {
    format!(
        "SELECT {} FROM deliveries d {CLAIMED_JOINS} WHERE d.id = $2 AND d.lease_token = $1",
        claimed_columns(Lease::Held)
    )
}

/// The deliveries of event $1 leased under the token $2 as intake wrote them, with
/// everything needed to send them: what intake hands to its own dispatcher.
pub(crate) fn leased_of_event_sql() -> String {
    format!(
        "SELECT {} FROM deliveries d {CLAIMED_JOINS} WHERE d.event_id = $1 AND d.lease_token = $2",
        claimed_columns(Lease::Held)
    )
}

/// `template` with each `:name` replaced by its place in `names` (`$1` for the first), so a
/// statement reads by name and is bound in the order of `names`. `::type` casts are kept; a
/// name not in the list is left as written, which the database refuses (a test reads every
/// statement for those).
pub(super) fn numbered(template: &str, names: &[&str]) -> String {
    let mut sql = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(colon) = rest.find(':') {
        sql.push_str(&rest[..colon]);
        let after = &rest[colon + 1..];
        if let Some(cast) = after.strip_prefix(':') {
            sql.push_str("::");
            rest = cast;
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match names.iter().position(|known| *known == name) {
            Some(place) => sql.push_str(&format!("${}", place + 1)),
            None => {
                sql.push(':');
                sql.push_str(name);
            }
        }
        rest = &after[len..];
    }
    sql.push_str(rest);
    sql
}

/// Fails if any of `statements` still holds a `:name` its list did not number.
#[cfg(test)]
pub(super) fn assert_every_name_bound(statements: &[&str]) {
    for sql in statements {
        assert!(unresolved(sql).is_empty(), "{:?} in {sql}", unresolved(sql));
    }
}

/// The `:name`s a numbered statement still holds (none, when its list was complete).
#[cfg(test)]
fn unresolved(sql: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = sql;
    while let Some(colon) = rest.find(':') {
        let after = &rest[colon + 1..];
        if let Some(cast) = after.strip_prefix(':') {
            rest = cast.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        names.push(after[..len].to_owned());
        rest = &after[len..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_places_and_casts_stay() {
        let sql = numbered(
            "SELECT :b::jsonb, :a, :ab FROM t WHERE x <= :a",
            &["a", "b", "ab"],
        );
        assert_eq!(sql, "SELECT $2::jsonb, $1, $3 FROM t WHERE x <= $1");
        assert!(unresolved(&sql).is_empty());
        assert_eq!(unresolved(&numbered(":a :c", &["a"])), ["c"]);
    }

    #[test]
    fn a_delivery_read_as_sent_has_a_token_even_when_not_leased() {
        assert!(claimed_columns(Lease::Held).contains("d.lease_token AS lease_token"));
        assert!(claimed_columns(Lease::Any).contains("COALESCE(d.lease_token, '') AS lease_token"));
    }
}
