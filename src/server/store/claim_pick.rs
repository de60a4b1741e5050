//! Which scanned rows a SQLite claim takes: the scan reads the oldest due rows, and the choice
//! of how many from each endpoint is made here (SQLite sorted the scan again for a window
//! function, which cost more than the rest of the claim).

use super::ClaimLimits;
use std::collections::HashMap;

/// How many due rows a claim of `limit` looks at. Saturated endpoints are left out by the
/// scan itself, so only the rows of endpoints that fill up during this pick are passed over;
/// once full, the next claim leaves them out too. Scanning twice the limit read, built and
/// parsed hundreds of rows per claim that a lone endpoint could never take.
pub(super) fn claim_scan(limit: i64) -> i64 {
    (limit + 32).clamp(64, 1000)
}

/// The `(id, endpoint_id, due time)` rows of `SQLITE_SCAN`'s text, in scan order.
pub(super) fn scanned_rows(text: &str) -> impl Iterator<Item = (&str, &str, i64)> {
    let mut words = text.split(' ').filter(|word| !word.is_empty());
    std::iter::from_fn(move || {
        let (id, endpoint_id, due) = (words.next()?, words.next()?, words.next()?);
        // SQLite wrote the number; were it not one, the row still counts, as due long ago.
        Some((id, endpoint_id, due.parse().unwrap_or(0)))
    })
}

/// The deliveries a claim takes from `scanned` (oldest first, as `(id, endpoint_id)`), with
/// the rounds each waits through: from each endpoint only what fits under `per_endpoint` next
/// to what the claimer holds there, and at most `limit` in all.
pub(super) fn pick<'s>(
    scanned: impl IntoIterator<Item = (&'s str, &'s str)>,
    held: &[(String, i64)],
    limits: &ClaimLimits,
) -> Vec<(&'s str, i64)> {
    let held: HashMap<&str, i64> = held.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    let mut places: HashMap<&str, i64> = HashMap::new();
    let mut picked = Vec::new();
    let on_wire = limits.on_wire_per_endpoint.max(1);
    for (id, endpoint_id) in scanned {
        if picked.len() as i64 >= limits.limit {
            break;
        }
        let busy = held.get(endpoint_id).copied().unwrap_or(0);
        let place = places.entry(endpoint_id).or_insert(0);
        *place += 1;
        let waits_behind = *place + busy;
        if waits_behind <= limits.per_endpoint {
            picked.push((id, (waits_behind + on_wire - 1) / on_wire));
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned<'a>(rows: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        rows.to_vec()
    }

    #[test]
    fn pick_keeps_each_endpoint_under_its_cap_and_counts_rounds() {
        let limits = ClaimLimits {
            limit: 10,
            per_endpoint: 4,
            on_wire_per_endpoint: 2,
            lease_margin_ms: 0,
        };
        let rows = scanned(&[
            ("d1", "a"),
            ("d2", "b"),
            ("d3", "a"),
            ("d4", "a"),
            ("d5", "a"),
            ("d6", "b"),
        ]);
        // `a` holds 1 already: 3 more fit, waiting 1, 2 and 2 rounds; `b` holds none.
        let picked = pick(rows, &[("a".to_owned(), 1)], &limits);
        assert_eq!(
            picked,
            [("d1", 1), ("d2", 1), ("d3", 2), ("d4", 2), ("d6", 1)]
        );
    }

    #[test]
    fn scanned_text_splits_into_rows_in_order() {
        let rows: Vec<_> = scanned_rows("del_1 ep_a 5 del_2 ep_b 7").collect();
        assert_eq!(rows, [("del_1", "ep_a", 5), ("del_2", "ep_b", 7)]);
        assert_eq!(scanned_rows("").count(), 0);
    }

    #[test]
    fn pick_stops_at_the_limit_in_scan_order() {
        let limits = ClaimLimits {
            limit: 2,
            per_endpoint: 8,
            on_wire_per_endpoint: 8,
            lease_margin_ms: 0,
        };
        let picked = pick(
            scanned(&[("d1", "a"), ("d2", "b"), ("d3", "c")]),
            &[],
            &limits,
        );
        let ids: Vec<&str> = picked.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["d1", "d2"]);
    }
}
