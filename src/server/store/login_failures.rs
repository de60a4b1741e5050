//! Sign-in and sign-up attempts, kept in the database so throttling holds across replicas.
//! An attempt is reserved before its password is hashed, in one atomic step per backend, so
//! concurrent guesses cannot all pass a check made before any of them was counted.

use super::{on_db, Db, Store, StoreError};
use crate::server::clock::now_ms;

/// How many attempts a throttle key (an email, an IP) may make within a window.
#[derive(Debug, Clone, Copy)]
pub struct AttemptLimit {
    pub since_ms: i64,
    pub max: i64,
}

/// A value bound to a throttle statement.
enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

impl Store {
    /// Counts one sign-in attempt for `email` from `ip`, unless either has reached its limit
    /// since `since_ms`: then `None`. The row stands as a failure until `release_login_attempt`
    /// (or a successful sign-in clears the email's rows).
    pub async fn reserve_login_attempt(
        &self,
        email: &str,
        ip: &str,
        by_email: AttemptLimit,
        by_ip: AttemptLimit,
    ) -> Result<Option<i64>, StoreError> {
        const RESERVE: &str = "INSERT INTO login_failures (email, ip, failed_at) \
             SELECT $1, $2, $3 \
             WHERE (SELECT COUNT(*) FROM login_failures WHERE email = $1 AND failed_at > $4) < $5 \
             AND (SELECT COUNT(*) FROM login_failures WHERE ip = $2 AND failed_at > $6) < $7 \
             RETURNING id";
        let now = now_ms();
        let keys = [format!("login-email:{email}"), format!("login-ip:{ip}")];
        let params = [
            Param::Text(email),
            Param::Text(ip),
            Param::Int(now),
            Param::Int(by_email.since_ms),
            Param::Int(by_email.max),
            Param::Int(by_ip.since_ms),
            Param::Int(by_ip.max),
        ];
        let reserved = self.serialized(&keys, RESERVE, &params).await?;
        if reserved.is_some() {
            self.forget_attempts_before(
                "login_failures",
                "failed_at",
                by_email.since_ms.min(by_ip.since_ms),
            )
            .await?;
        }
        Ok(reserved)
    }

    /// Takes back a reserved attempt that was never judged (the server failed meanwhile).
    pub async fn release_login_attempt(&self, attempt: i64) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM login_failures WHERE id = $1")
                .bind(attempt)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Counts one sign-up from `ip` unless it has reached `limit`: then `false`.
    pub async fn reserve_signup(&self, ip: &str, limit: AttemptLimit) -> Result<bool, StoreError> {
        const RESERVE: &str = "INSERT INTO signup_attempts (ip, attempted_at) \
             SELECT $1, $2 \
             WHERE (SELECT COUNT(*) FROM signup_attempts WHERE ip = $1 AND attempted_at > $3) < $4 \
             RETURNING id";
        self.reserve_counted(
            RESERVE,
            "signup_attempts",
            &format!("signup-ip:{ip}"),
            ip,
            limit,
        )
        .await
    }

    /// Counts one request in `scope` (e.g. `reset-ip:203.0.113.7`) unless it has reached
    /// `limit`: then `false`.
    pub async fn reserve_rate(&self, scope: &str, limit: AttemptLimit) -> Result<bool, StoreError> {
        const RESERVE: &str = "INSERT INTO rate_attempts (scope, attempted_at) \
             SELECT $1, $2 \
             WHERE (SELECT COUNT(*) FROM rate_attempts WHERE scope = $1 AND attempted_at > $3) < $4 \
             RETURNING id";
        self.reserve_counted(
            RESERVE,
            "rate_attempts",
            &format!("rate:{scope}"),
            scope,
            limit,
        )
        .await
    }

    /// Runs `reserve` (an insert of `key` counted against `limit`) under the lock `lock_key`;
    /// after a success, forgets `table`'s attempts that left the window.
    async fn reserve_counted(
        &self,
        reserve: &'static str,
        table: &'static str,
        lock_key: &str,
        key: &str,
        limit: AttemptLimit,
    ) -> Result<bool, StoreError> {
        let params = [
            Param::Text(key),
            Param::Int(now_ms()),
            Param::Int(limit.since_ms),
            Param::Int(limit.max),
        ];
        let reserved = self
            .serialized(&[lock_key.to_owned()], reserve, &params)
            .await?;
        if reserved.is_some() {
            self.forget_attempts_before(table, "attempted_at", limit.since_ms)
                .await?;
        }
        Ok(reserved.is_some())
    }

    /// Runs `statement` (an insert that returns the new row's id, or nothing) so that no other
    /// statement for the same `keys` runs beside it. SQLite runs one write statement at a time,
    /// reading under its write lock; PostgreSQL takes a transaction-scoped advisory lock per
    /// key, always in the order given, so two such transactions never wait on each other in a
    /// circle.
    async fn serialized(
        &self,
        keys: &[String],
        statement: &'static str,
        params: &[Param<'_>],
    ) -> Result<Option<i64>, StoreError> {
        macro_rules! bound {
            () => {{
                let mut query = sqlx::query_scalar::<_, i64>(statement);
                for param in params {
                    query = match param {
                        Param::Text(text) => query.bind(*text),
                        Param::Int(number) => query.bind(*number),
                    };
                }
                query
            }};
        }
        match self.db() {
            Db::Sqlite(pool) => Ok(bound!().fetch_optional(pool).await?),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for key in keys {
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                }
                let id = bound!().fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }

    /// When the `limit`-th most recent failure since `since_ms` happened, if there were that
    /// many: the moment that failure leaves the window is when the key may try again.
    pub async fn nth_recent_failure_for_email(
        &self,
        email: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.nth_recent_failure("email", email, since_ms, limit)
            .await
    }

    pub async fn nth_recent_failure_for_ip(
        &self,
        ip: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        self.nth_recent_failure("ip", ip, since_ms, limit).await
    }

    async fn nth_recent_failure(
        &self,
        column: &'static str,
        value: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT failed_at FROM login_failures WHERE {column} = $1 AND failed_at > $2 \
             ORDER BY failed_at DESC LIMIT 1 OFFSET $3"
        );
        let found: Option<i64> = on_db!(self.db(), |pool| {
            sqlx::query_scalar(&sql)
                .bind(value)
                .bind(since_ms)
                .bind(limit - 1)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found)
    }

    pub async fn clear_login_failures_for_email(&self, email: &str) -> Result<(), StoreError> {
        on_db!(self.db(), |pool| {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(email)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Drops attempts no window reads any more.
    async fn forget_attempts_before(
        &self,
        table: &'static str,
        column: &'static str,
        before_ms: i64,
    ) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {table} WHERE {column} < $1");
        on_db!(self.db(), |pool| {
            sqlx::query(&sql)
                .bind(before_ms)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}
