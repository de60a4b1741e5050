//! Turns internal failures into the client-visible `AppError` without leaking their cause:
//! the cause is logged under a short reference the user can quote.

use crate::model::AppError;
use crate::server::store::StoreError;
use rand::Rng;

/// Logs `cause` with a fresh reference and returns the opaque error shown to the user.
pub fn internal(cause: impl std::fmt::Display) -> AppError {
    let reference = new_reference();
    tracing::error!(%reference, error = %cause, "internal error");
    AppError::Internal { reference }
}

fn new_reference() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            // Expected while a disk is full or the database restarts: a warning, not a fault.
            tracing::warn!(error = %err, "database unavailable; answered 503");
            return AppError::Unavailable;
        }
        internal(err)
    }
}
