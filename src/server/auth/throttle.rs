//! Sign-in throttling: too many recent failures for one email or from one IP block further tries.

use crate::model::AppError;
use crate::server::store::{now_ms, Store};

#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    pub window_ms: i64,
    pub max_failures_per_email: i64,
    pub max_failures_per_ip: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            window_ms: 15 * 60 * 1000,
            max_failures_per_email: 5,
            max_failures_per_ip: 20,
        }
    }
}

impl ThrottlePolicy {
    pub async fn check(&self, store: &Store, email: &str, ip: &str) -> Result<(), AppError> {
        let now = now_ms();
        let since = now - self.window_ms;
        let by_email = store
            .nth_recent_failure_for_email(email, since, self.max_failures_per_email)
            .await?;
        let by_ip = store
            .nth_recent_failure_for_ip(ip, since, self.max_failures_per_ip)
            .await?;
        let blocked_until = by_email
            .into_iter()
            .chain(by_ip)
            .map(|failed_at| failed_at + self.window_ms)
            .max();
        match blocked_until {
            Some(until) if until > now => Err(AppError::TooManyAttempts {
                retry_in_minutes: minutes_rounded_up(until - now),
            }),
            _ => Ok(()),
        }
    }

    pub async fn record_failure(
        &self,
        store: &Store,
        email: &str,
        ip: &str,
    ) -> Result<(), AppError> {
        store
            .record_login_failure(email, ip, self.window_ms)
            .await?;
        Ok(())
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
