//! Sign-in and sign-up throttling: an attempt is counted before its password is hashed, so
//! too many recent attempts for one email or from one IP block further tries at once, however
//! many arrive together.

use crate::model::AppError;
use crate::server::clock::now_ms;
use crate::server::store::{AttemptLimit, Store};

#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    pub window_ms: i64,
    pub max_failures_per_email: i64,
    pub max_failures_per_ip: i64,
    pub signup_window_ms: i64,
    pub max_signups_per_ip: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window_ms: 15 * 60 * 1000,
            max_failures_per_email: 5,
            max_failures_per_ip: 20,
            signup_window_ms: 60 * 60 * 1000,
            max_signups_per_ip: 10,
        }
    }
}

/// A sign-in attempt that was counted; it stays a failure unless released or cleared.
#[derive(Debug)]
#[must_use]
pub struct Reservation(i64);

impl ThrottlePolicy {
    /// Counts one sign-in attempt, or refuses it when the email or the IP has no attempts left.
    pub async fn reserve(
        &self,
        store: &Store,
        email: &str,
        ip: &str,
    ) -> Result<Reservation, AppError> {
        let since_ms = now_ms() - self.window_ms;
        let by_email = AttemptLimit {
            since_ms,
            max: self.max_failures_per_email,
        };
        let by_ip = AttemptLimit {
            since_ms,
            max: self.max_failures_per_ip,
        };
        match store
            .reserve_login_attempt(email, ip, by_email, by_ip)
            .await?
        {
            Some(id) => Ok(Reservation(id)),
            None => Err(self.refusal(store, email, ip).await?),
        }
    }

    /// Takes back an attempt that was never judged (hashing was refused, the store failed).
    pub async fn release(&self, store: &Store, reservation: Reservation) {
        if let Err(err) = store.release_login_attempt(reservation.0).await {
            tracing::warn!(error = %err, "releasing a sign-in attempt failed; it counts until it ages out");
        }
    }

    /// Counts one sign-up from `ip`, or refuses it when the IP has made too many lately.
    pub async fn reserve_signup(&self, store: &Store, ip: &str) -> Result<(), AppError> {
        let limit = AttemptLimit {
            since_ms: now_ms() - self.signup_window_ms,
            max: self.max_signups_per_ip,
        };
        if store.reserve_signup(ip, limit).await? {
            Ok(())
        } else {
            Err(AppError::TooManyAttempts {
                retry_in_minutes: minutes_rounded_up(self.signup_window_ms),
            })
        }
    }

    /// The refusal, with when the key that is out of attempts may try again.
    async fn refusal(&self, store: &Store, email: &str, ip: &str) -> Result<AppError, AppError> {
        let now = now_ms();
        let since = now - self.window_ms;
        let by_email = store
            .nth_recent_failure_for_email(email, since, self.max_failures_per_email)
            .await?;
        let by_ip = store
            .nth_recent_failure_for_ip(ip, since, self.max_failures_per_ip)
            .await?;
        let until = by_email
            .into_iter()
            .chain(by_ip)
            .map(|failed_at| failed_at + self.window_ms)
            .max()
            .unwrap_or(now + 1);
        Ok(AppError::TooManyAttempts {
            retry_in_minutes: minutes_rounded_up(until - now),
        })
    }
}

fn minutes_rounded_up(ms: i64) -> u64 {
    u64::try_from((ms + 59_999) / 60_000).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::minutes_rounded_up;

    #[test]
    fn retry_minutes_round_up_and_never_say_zero() {
        assert_eq!(minutes_rounded_up(1), 1);
        assert_eq!(minutes_rounded_up(60_000), 1);
        assert_eq!(minutes_rounded_up(60_001), 2);
        assert_eq!(minutes_rounded_up(15 * 60_000), 15);
    }
}
