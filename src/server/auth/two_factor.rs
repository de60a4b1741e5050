//! Two-factor sign-in with TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! drift either way) and single-use recovery codes. A code's step is accepted once.

use crate::model::ids::AccountId;

use super::{Account, Auth};
use crate::model::security::{Enrolment, TwoFactorView};
use crate::model::AppError;
use crate::server::error::internal;
use crate::server::secrets::{hash_api_key, new_recovery_code, normalize_recovery_code};
use totp_rs::{Algorithm, Secret, TOTP};

const STEP_SECONDS: u64 = 30;
pub const RECOVERY_CODE_COUNT: usize = 10;
const ISSUER: &str = "Facehook";

/// Which second factor a sign-in used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Code,
    RecoveryCode,
}

fn totp(secret_base32: &str, email: &str) -> Result<TOTP, AppError> {
    let secret = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|err| internal(format!("stored TOTP secret unreadable: {err:?}")))?;
    // The otpauth label may not hold a colon; an email never needs one to be recognised.
    let label = email.replace(':', "");
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS,
        secret,
        Some(ISSUER.to_owned()),
        label,
    )
    .map_err(internal)
}

/// The time step `code` belongs to, if it is right for the previous, current or next step.
fn matching_step(totp: &TOTP, code: &str, now_seconds: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now_seconds / STEP_SECONDS;
    (current.saturating_sub(1)..=current + 1)
        .find(|step| totp.check(&code, step * STEP_SECONDS))
        .and_then(|step| i64::try_from(step).ok())
}

fn now_seconds() -> u64 {
    u64::try_from(crate::server::clock::now_ms() / 1000).unwrap_or_default()
}

fn wrong_code() -> AppError {
    AppError::invalid(
        "code",
        "That code is not right, or was already used. Type the newest code from your app, or a recovery code.",
    )
}

fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT)
        .map(|_| new_recovery_code())
        .collect();
    let hashes = codes
        .iter()
        .map(|code| hash_api_key(&normalize_recovery_code(code)))
        .collect();
    (codes, hashes)
}

impl Auth {
    /// The account's two-factor state, with the secret being enrolled when there is one.
    pub async fn two_factor(&self, account: &Account) -> Result<TwoFactorView, AppError> {
        let record = self
            .store
            .account_by_id(&account.id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let (pending, _) = self.store.totp_secrets(&account.id).await?;
        let enrolment = match pending.filter(|_| record.totp_enabled_at.is_none()) {
            Some(secret) => {
                let url = totp(&secret, &account.email)?.get_url();
                let qr_svg = qrcode::QrCode::new(url.as_bytes())
                    .map_err(internal)?
                    .render::<qrcode::render::svg::Color>()
                    .min_dimensions(200, 200)
                    .build();
                Some(Enrolment { secret, qr_svg })
            }
            None => None,
        };
        Ok(TwoFactorView {
            enabled_at: record.totp_enabled_at,
            recovery_codes_left: self.store.unused_recovery_codes(&account.id).await?,
            required: self.policy.require_two_factor,
            enrolment,
        })
    }

    /// Starts enrolment with a new secret (starting over replaces one not yet confirmed).
    pub async fn begin_two_factor(&self, account: &Account) -> Result<(), AppError> {
        if account.two_factor {
            return Err(AppError::invalid(
                "code",
                "Two-factor sign-in is already on for this account.",
            ));
        }
        let Secret::Encoded(secret) = Secret::generate_secret().to_encoded() else {
            return Err(internal("a generated TOTP secret did not encode"));
        };
        self.store.set_pending_totp(&account.id, &secret).await?;
        Ok(())
    }

    /// Confirms enrolment with the password (a stolen session alone cannot tie the account
    /// to someone else's phone) and a code from the app; returns the new recovery codes, the
    /// only time they are shown, and mails the owner.
    pub async fn confirm_two_factor(
        &self,
        account: &Account,
        password: String,
        code: &str,
        client_ip: &str,
    ) -> Result<Vec<String>, AppError> {
        let (pending, _) = self.store.totp_secrets(&account.id).await?;
        let Some(secret) = pending.filter(|_| !account.two_factor) else {
            return Err(AppError::invalid(
                "code",
                "No set-up is waiting for a code: start again.",
            ));
        };
        self.check_password(&account.id, password, client_ip)
            .await?;
        let reservation = self
            .throttle
            .reserve(&self.store, &account.email, client_ip)
            .await?;
        let step = matching_step(&totp(&secret, &account.email)?, code, now_seconds());
        let Some(step) = step else {
            return Err(AppError::invalid(
                "code",
                "That code is not right. Type the newest 6-digit code your app shows for Facehook.",
            ));
        };
        let (codes, hashes) = new_recovery_codes();
        if !self
            .store
            .enable_totp(&account.id, &secret, step, &hashes)
            .await?
        {
            self.throttle.release(&self.store, reservation).await;
            return Err(AppError::invalid(
                "code",
                "The set-up was started again elsewhere: scan the new QR code.",
            ));
        }
        self.store
            .clear_login_failures_for_email(&account.email)
            .await?;
        self.mail.two_factor_enabled(&account.email).await;
        Ok(codes)
    }

    /// Checks a sign-in's second factor (a code, or a recovery code which is spent),
    /// throttled with the account's password attempts; returns the account on success.
    pub async fn verify_second_factor(
        &self,
        account_id: &AccountId,
        code: &str,
        client_ip: &str,
    ) -> Result<(Account, SecondFactor), AppError> {
        let Some(account) = self.account(account_id).await? else {
            return Err(AppError::Unauthenticated);
        };
        let reservation = self
            .throttle
            .reserve(&self.store, &account.email, client_ip)
            .await?;
        let judged = self.judge_second_factor(&account, code).await;
        match judged {
            Ok(Some(factor)) => {
                self.store
                    .clear_login_failures_for_email(&account.email)
                    .await?;
                Ok((account, factor))
            }
            // The reservation stays, as this failure.
            Ok(None) => Err(wrong_code()),
            Err(err) => {
                self.throttle.release(&self.store, reservation).await;
                Err(err)
            }
        }
    }

    async fn judge_second_factor(
        &self,
        account: &Account,
        code: &str,
    ) -> Result<Option<SecondFactor>, AppError> {
        let (_, active) = self.store.totp_secrets(&account.id).await?;
        let Some(secret) = active else {
            return Ok(None);
        };
        if let Some(step) = matching_step(&totp(&secret, &account.email)?, code, now_seconds()) {
            let fresh = self.store.accept_totp_step(&account.id, step).await?;
            return Ok(fresh.then_some(SecondFactor::Code));
        }
        let normalized = normalize_recovery_code(code);
        if normalized.len() != 10 {
            return Ok(None);
        }
        let spent = self
            .store
            .use_recovery_code(&account.id, &hash_api_key(&normalized))
            .await?;
        Ok(spent.then_some(SecondFactor::RecoveryCode))
    }

    /// Turns two-factor sign-in off: needs the password and a code (or a recovery code).
    pub async fn disable_two_factor(
        &self,
        account: &Account,
        password: String,
        code: &str,
        client_ip: &str,
    ) -> Result<(), AppError> {
        if self.policy.require_two_factor {
            return Err(AppError::invalid(
                "code",
                "This server requires two-factor sign-in, so it cannot be turned off.",
            ));
        }
        self.check_password(&account.id, password, client_ip)
            .await?;
        self.verify_second_factor(&account.id, code, client_ip)
            .await?;
        self.store.disable_totp(&account.id).await?;
        self.mail.two_factor_disabled(&account.email).await;
        Ok(())
    }

    /// New recovery codes (the old ones stop working); needs the password.
    pub async fn regenerate_recovery_codes(
        &self,
        account: &Account,
        password: String,
        client_ip: &str,
    ) -> Result<Vec<String>, AppError> {
        if !account.two_factor {
            return Err(AppError::invalid(
                "password",
                "Two-factor sign-in is off, so there are no recovery codes.",
            ));
        }
        self.check_password(&account.id, password, client_ip)
            .await?;
        let (codes, hashes) = new_recovery_codes();
        self.store
            .replace_recovery_codes(&account.id, &hashes)
            .await?;
        Ok(codes)
    }

    /// Turns two-factor sign-in off for the account with this email (the operator's CLI, for
    /// an owner who lost both the app and the codes); `false` when no account has it.
    pub async fn reset_two_factor(&self, email: &str) -> Result<bool, AppError> {
        let Some(account) = self
            .store
            .account_by_email(&email.trim().to_lowercase())
            .await?
        else {
            return Ok(false);
        };
        self.store.disable_totp(&account.id).await?;
        self.mail.two_factor_disabled(&account.email).await;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B's SHA-1 key, "12345678901234567890", in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_their_step_and_one_step_of_drift_only() {
        let totp = totp(RFC_SECRET, "owner@example.com").unwrap();
        // RFC 6238: at T = 59 s the 8-digit code is 94287082; 6 digits keep its tail.
        assert_eq!(matching_step(&totp, "287082", 59), Some(1));
        assert_eq!(matching_step(&totp, "287 082", 59 + 30), Some(1));
        assert_eq!(matching_step(&totp, "287082", 59 + 90), None);
        assert_eq!(matching_step(&totp, "28708", 59), None);
        assert_eq!(matching_step(&totp, "abcdef", 59), None);
    }
}
