//! Password hashing with argon2id and explicit parameters, always off the async threads, and
//! never more at once than there are cores: each hash takes 19 MiB, and 200 concurrent
//! sign-ins once took the server past 2 GiB. Work beyond a short queue is refused as busy.

use crate::model::{AppError, NewPassword};
use crate::server::error::internal;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use std::sync::{LazyLock, OnceLock};
use tokio::sync::{Semaphore, SemaphorePermit};

/// One permit per core: hashes running at once.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));
/// Hashes admitted at once, running or waiting for a core: beyond it, callers are told the
/// server is busy at once instead of queueing without bound.
static ADMITTED: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores() * 16));

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs `work` (one argon2 computation) on the blocking pool within the hashing limits.
async fn limited<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _admitted: SemaphorePermit<'static> = ADMITTED.try_acquire().map_err(|_| AppError::Busy)?;
    let _core = HASHING.acquire().await.map_err(internal)?;
    tokio::task::spawn_blocking(work).await.map_err(internal)?
}

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub async fn hash(password: NewPassword) -> Result<String, AppError> {
    limited(move || hash_blocking(password.expose())).await
}

/// Hashes any short secret (a facial ID's PIN code) with the same argon2id parameters.
pub async fn hash_secret(secret: String) -> Result<String, AppError> {
    limited(move || hash_blocking(&secret)).await
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(internal)?;
    Ok(hash.to_string())
}

/// Verifies `password` against `stored`; with no stored hash it verifies against a dummy
/// of the same parameters so that an unknown email costs the same as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    limited(move || {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (dummy_hash()?.to_owned(), false),
        };
        let parsed = PasswordHash::new(&hash).map_err(internal)?;
        let matches = argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && matches)
    })
    .await
}

fn dummy_hash() -> Result<&'static str, AppError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("facehook-dummy-password-for-timing")?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_same_password() {
        let password = NewPassword::parse("password", "correct horse battery".into()).unwrap();
        let hash = hash(password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let dummy = "facehook-dummy-password-for-timing".to_owned();
        assert!(!verify(dummy, None).await.unwrap());
    }
}
