//! Claims: lease the oldest due deliveries to one dispatcher, within its per-endpoint caps,
//! and read back everything needed to send them. A claim commits at once; nothing here holds
//! a transaction across an HTTP call.

use super::claim_cursor::{advance_on_postgres, SQLITE_PASSED};
use super::claim_pick::{claim_scan, pick, scanned_rows};
use super::{new_id, ClaimCursor, QueueDb, Store, StoreError};
use crate::server::clock::now_ms;
use sqlx::{FromRow, Row};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A leased delivery with everything needed to send it, read when it was claimed (send time).
/// SQLite's read-back lists the fields as a JSON array in `CLAIMED_FIELDS` order, which is
/// this declaration order.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ClaimedDelivery {
    pub delivery_id: String,
    pub lease_token: String,
    pub event_id: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub event_name: String,
    pub facial_id: String,
    pub client_ip: String,
    pub gender: Option<String>,
    pub age: Option<i64>,
    /// The linked payload (JSON text) as it was when the event happened.
    pub payload: Option<String>,
    pub occurred_at: i64,
    pub app_id: String,
    pub plan: String,
    pub webhook_token: String,
    pub endpoint_id: String,
    pub url: String,
    pub timeout_secs: i64,
    pub include_payload: bool,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
}

/// What a dispatcher asks of one claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimLimits {
    /// Most deliveries leased.
    pub limit: i64,
    /// Most deliveries the dispatcher may hold per endpoint, counting those it holds already.
    pub per_endpoint: i64,
    /// Attempts on the wire at once per endpoint: a delivery held behind others waits one
    /// round of that many attempts per place, and its lease covers one timeout per round.
    pub on_wire_per_endpoint: i64,
    /// Added to every lease, for the body read and the write of the outcome.
    pub lease_margin_ms: i64,
}

/// Rows a claim may lease: new or retrying, and due. Matches the partial index
/// `deliveries_waiting`, so the oldest due rows are read in index order.
const DUE: &str = "d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $1";

/// The timeout, in seconds, of the endpoint of the `deliveries` row being updated.
const ENDPOINT_TIMEOUT: &str =
    "(SELECT e.timeout_secs FROM endpoints e WHERE e.id = deliveries.endpoint_id)";

/// PostgreSQL's claim in one round trip. Candidates: the oldest due rows, skipping disabled
/// endpoints and the claimer's saturated ones ($8, a JSON array), and taking from each
/// endpoint only what fits under the cap ($2) next to what the claimer already holds there
/// ($7, a JSON object of counts), each with the rounds it waits through at $9 attempts on the
/// wire per endpoint; the scan starts at the claimer's cursor ($10) and returns at most $3
/// rows (the rows of left-out endpoints it walks past are not bounded: the cursor keeps them
/// few); before the cursor it reads only the rows of the endpoints probed there ($12), from
/// $11. Each row also says its due time and whether the scan was full and reached the cursor.
/// Rows another replica's claim has locked are skipped; the outer query sees the rows as they
/// were before the update, so the leased values come from RETURNING. SQLite makes the same
/// choice in `pick`. Built once: the text never changes with the inputs.
static POSTGRES_CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH walk AS ( \
           SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
           JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled \
           WHERE {DUE} AND d.next_attempt_at >= $11 \
           AND (d.next_attempt_at >= $10 \
                OR d.endpoint_id IN (SELECT jsonb_array_elements_text($12::jsonb))) \
           AND d.endpoint_id NOT IN (SELECT jsonb_array_elements_text($8::jsonb)) \
           ORDER BY d.next_attempt_at LIMIT $3), \
         k AS ( \
           SELECT c.id, (c.place + COALESCE(b.busy, 0) + $9 - 1) / $9 AS rounds FROM ( \
             SELECT s.id, s.endpoint_id, s.next_attempt_at, \
                    ROW_NUMBER() OVER (PARTITION BY s.endpoint_id ORDER BY s.next_attempt_at, s.id) AS place \
             FROM walk s \
           ) c LEFT JOIN (SELECT key AS endpoint_id, value::bigint AS busy \
                          FROM jsonb_each_text($7::jsonb)) b ON b.endpoint_id = c.endpoint_id \
           WHERE c.place + COALESCE(b.busy, 0) <= $2 \
           ORDER BY c.next_attempt_at LIMIT $4), \
         claimable AS (SELECT d.id, k.rounds FROM deliveries d JOIN k ON k.id = d.id \
                       WHERE {DUE} FOR UPDATE OF d SKIP LOCKED), \
         d AS (UPDATE deliveries SET status = 'delivering', lease_token = $6, \
               lease_until = $5 + c.rounds * 1000 * {ENDPOINT_TIMEOUT} \
               FROM claimable c WHERE deliveries.id = c.id \
               RETURNING deliveries.id, deliveries.lease_token, deliveries.event_id, \
               deliveries.attempts, deliveries.endpoint_id, deliveries.app_id, \
               deliveries.next_attempt_at) \
         SELECT {}, d.next_attempt_at AS due_at, \
                (SELECT count(*) >= $3 AND coalesce(max(next_attempt_at) >= $10, false) \
                 FROM walk) AS full_past_cursor \
         FROM d {CLAIMED_JOINS} ORDER BY d.next_attempt_at",
        claimed_columns()
    )
});

/// SQLite's scan: the oldest due rows as one text of space-separated `id endpoint_id due_time`
/// triples (ids never hold spaces; JSON cost more to build, and to parse into owned strings),
/// read from the covering index alone in creation order among equals (ids are time-ordered,
/// so rows leased together share pages instead of being one endpoint's rows, scattered),
/// skipping the claimer's saturated endpoints ($2) and disabled endpoints (few, so listed once
/// rather than joined per row), at most $3 of them: from the claimer's cursor ($4) on, and
/// before it only the rows of the endpoints probed there ($6), from $5 (one walk: a union of
/// the two cost a half more). Then, for the cursor: the due time of the first row from the
/// cursor on (or the cursor, if the rows before it filled the scan; or now, $1, if nothing
/// did), whether the scan was full and reached the cursor, and the saturated endpoints passed
/// on the way.
static SQLITE_SCAN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT scanned, first_at, full_past_cursor, {} FROM ( \
           SELECT group_concat(id || ' ' || endpoint_id || ' ' || next_attempt_at, ' ') AS scanned, \
                  coalesce(min(CASE WHEN next_attempt_at >= $4 THEN next_attempt_at END), \
                           CASE WHEN count(*) >= $3 THEN $4 ELSE $1 END) AS first_at, \
                  count(*) >= $3 AND max(next_attempt_at) >= $4 AS full_past_cursor FROM ( \
             SELECT d.id, d.endpoint_id, d.next_attempt_at FROM deliveries d \
             WHERE {DUE} AND d.next_attempt_at >= $5 \
             AND (d.next_attempt_at >= $4 OR d.endpoint_id IN (SELECT value FROM json_each($6))) \
             AND d.endpoint_id NOT IN (SELECT value FROM json_each($2)) \
             AND d.endpoint_id NOT IN (SELECT id FROM endpoints WHERE NOT enabled) \
             ORDER BY d.next_attempt_at, d.id LIMIT $3))",
        SQLITE_PASSED.as_str()
    )
});

/// SQLite's lease of the picked rows ($3, a JSON array of `[id, rounds]`), each still
/// waiting (a console action may have changed it since the scan).
static SQLITE_LEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries SET status = 'delivering', lease_token = $1, \
         lease_until = $2 + (p.value ->> 1) * 1000 * {ENDPOINT_TIMEOUT} \
         FROM json_each($3) p \
         WHERE deliveries.id = p.value ->> 0 AND deliveries.status IN ('pending', 'retrying')"
    )
});

/// Each field of `ClaimedDelivery` and the column it is read from.
const CLAIMED_FIELDS: [(&str, &str); 21] = [
    ("delivery_id", "d.id"),
    ("lease_token", "d.lease_token"),
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
];

/// The select list of a `ClaimedDelivery` read from `deliveries d`, `events ev`,
/// `endpoints e` and `applications a`.
pub(super) fn claimed_columns() -> String {
    CLAIMED_FIELDS
        .iter()
        .map(|(field, column)| format!("{column} AS {field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) const CLAIMED_JOINS: &str = "JOIN events ev ON ev.id = d.event_id \
     JOIN endpoints e ON e.id = d.endpoint_id JOIN applications a ON a.id = d.app_id";

/// The delivery $2, if it is leased under the token $1, with everything needed to send it.
pub(super) fn leased_one_sql() -> String {
    format!(
        "SELECT {} FROM deliveries d {CLAIMED_JOINS} WHERE d.id = $2 AND d.lease_token = $1",
        claimed_columns()
    )
}

/// SQLite's read-back of the rows leased under $1 among the picks ($2), as one JSON array of
/// arrays in one row: SQLite hands each result row from its thread to the runtime separately,
/// waking a task per row, and building keyed objects cost a third more than arrays. Found by
/// primary key, so the lease token needs no index.
static SQLITE_LEASED: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = CLAIMED_FIELDS
        .iter()
        .map(|(field, _)| match *field {
            // Stored as 0 or 1; the struct wants a JSON boolean.
            "include_payload" => {
                format!("json(CASE WHEN l.{field} THEN 'true' ELSE 'false' END)")
            }
            _ => format!("l.{field}"),
        })
        .collect();
    format!(
        "SELECT json_group_array(json_array({})) FROM ( \
           SELECT {} FROM json_each($2) p \
           JOIN deliveries d ON d.id = p.value ->> 0 {CLAIMED_JOINS} \
           WHERE d.lease_token = $1 ORDER BY p.key) l",
        values.join(", "),
        claimed_columns()
    )
});

impl Store {
    /// Leases up to `limits.limit` due deliveries, keeping the deliveries the caller holds
    /// per endpoint (`held`: endpoint id and count) at most `limits.per_endpoint`. Each lease
    /// lasts as many of its endpoint's timeouts as rounds of attempts it may wait through (a
    /// delivery held deep behind others waits longer), plus the margin. On PostgreSQL,
    /// replicas skip rows another claim has locked, so a delivery is never leased twice;
    /// SQLite has one writer, which gives the same guarantee. The walk of the due order starts
    /// at `cursor`, which the claim moves past the rows of the caller's saturated endpoints.
    pub async fn claim_deliveries(
        &self,
        held: &[(String, i64)],
        limits: ClaimLimits,
        cursor: &mut ClaimCursor,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now = now_ms();
        let token = new_id("lease");
        let scan = claim_scan(limits.limit);
        let saturated: Vec<&str> = held
            .iter()
            .filter(|(_, count)| *count >= limits.per_endpoint)
            .map(|(id, _)| id.as_str())
            .collect();
        // Strings only: serialising cannot fail.
        let saturated_json = serde_json::to_string(&saturated).unwrap_or_else(|_| "[]".to_owned());
        match self.queue_db() {
            QueueDb::Postgres(pool) => {
                let start =
                    advance_on_postgres(pool, cursor, &saturated, &saturated_json, now).await?;
                let busy: serde_json::Map<String, serde_json::Value> = held
                    .iter()
                    .map(|(id, count)| (id.clone(), (*count).into()))
                    .collect();
                let rows = sqlx::query(POSTGRES_CLAIM.as_str())
                    .bind(now)
                    .bind(limits.per_endpoint)
                    .bind(scan)
                    .bind(limits.limit)
                    .bind(now + limits.lease_margin_ms)
                    .bind(&token)
                    .bind(serde_json::Value::Object(busy).to_string())
                    .bind(&saturated_json)
                    .bind(limits.on_wire_per_endpoint)
                    .bind(start.from_ms)
                    .bind(start.probe_from_ms)
                    .bind(start.probed_json())
                    .fetch_all(pool)
                    .await?;
                cursor.walk_was_full = match rows.first() {
                    Some(row) => row.try_get("full_past_cursor")?,
                    None => false,
                };
                let claimed = rows
                    .iter()
                    .map(ClaimedDelivery::from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                // Oldest first, and each endpoint's oldest is taken while it has room.
                let mut fronts: HashMap<&str, i64> = HashMap::new();
                for (row, delivery) in rows.iter().zip(&claimed) {
                    fronts
                        .entry(delivery.endpoint_id.as_str())
                        .or_insert(row.try_get("due_at")?);
                }
                cursor.saw_fronts(fronts);
                if claimed.is_empty() {
                    cursor.took_nothing(&saturated);
                }
                Ok(claimed)
            }
            QueueDb::Sqlite {
                writer: pool,
                readers,
            } => {
                // One writer, so nothing to lock. Three small statements: a scan of the
                // covering index, the choice made in Rust (`claim_pick`), the lease of
                // the chosen rows by primary key, and their read-back. Only the lease writes:
                // the scan and the read-back run on the shared pool, beside an outcome batch
                // rather than queued behind it on the queue's one connection. A stale scan
                // only leases fewer rows (the lease checks each is still waiting), and the
                // read-back starts after the lease committed, so it sees it.
                let start = cursor.start(&saturated);
                let (scanned, first_at, full_past_cursor, passed): (
                    Option<String>,
                    i64,
                    bool,
                    Option<String>,
                ) = sqlx::query_as(SQLITE_SCAN.as_str())
                    .bind(now)
                    .bind(&saturated_json)
                    .bind(scan)
                    .bind(start.from_ms)
                    .bind(start.probe_from_ms)
                    .bind(start.probed_json())
                    .fetch_one(readers)
                    .await?;
                if !saturated.is_empty() {
                    // Otherwise only disabled endpoints' rows were passed: few, not worth it.
                    cursor.advance(first_at, passed.as_deref(), now);
                }
                cursor.walk_was_full = full_past_cursor;
                let scanned = scanned.unwrap_or_default();
                let rows: Vec<(&str, &str, i64)> = scanned_rows(&scanned).collect();
                let mut fronts: HashMap<&str, i64> = HashMap::new();
                for (_, endpoint_id, due) in &rows {
                    fronts.entry(endpoint_id).or_insert(*due);
                }
                cursor.saw_fronts(fronts);
                let pairs = rows.iter().map(|(id, endpoint_id, _)| (*id, *endpoint_id));
                let picked = pick(pairs, held, &limits);
                if picked.is_empty() {
                    cursor.took_nothing(&saturated);
                    return Ok(Vec::new());
                }
                let picked = serde_json::to_string(&picked).unwrap_or_else(|_| "[]".to_owned());
                let leased = sqlx::query(SQLITE_LEASE.as_str())
                    .bind(&token)
                    .bind(now + limits.lease_margin_ms)
                    .bind(&picked)
                    .execute(pool)
                    .await?
                    .rows_affected();
                if leased == 0 {
                    return Ok(Vec::new());
                }
                let json: String = sqlx::query_scalar(SQLITE_LEASED.as_str())
                    .bind(&token)
                    .bind(&picked)
                    .fetch_one(readers)
                    .await?;
                let claimed =
                    serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(err.into()))?;
                Ok(claimed)
            }
        }
    }
}
