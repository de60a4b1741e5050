//! Credentials Facehook issues: API keys (stored only as a hash), webhook tokens and
//! Standard Webhooks signing secrets. Generation and hashing only; storage is the store's job.

use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

pub const API_KEY_PREFIX: &str = "fhk_live_";
/// Characters of a key kept for display, so owners can tell keys apart.
const API_KEY_DISPLAY_CHARS: usize = API_KEY_PREFIX.len() + 6;

/// A new API key: `fhk_live_` and 40 random alphanumerics (~238 bits).
pub fn new_api_key() -> String {
    format!(
        "{API_KEY_PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

/// API keys are long random strings, so a fast unsalted hash is enough to make a stolen
/// database useless, and it lets a request's key be looked up by its hash directly.
pub fn hash_api_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn api_key_display_prefix(key: &str) -> String {
    key.chars().take(API_KEY_DISPLAY_CHARS).collect()
}

/// A password reset link's token: `fhr_` and 43 random alphanumerics (~256 bits), stored
/// only as its hash (`hash_api_key`: long and random, so a fast hash is enough).
pub fn new_reset_token() -> String {
    format!(
        "fhr_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
    )
}

/// The application's webhook token, sent as `WWW-Authenticate: Bearer <token>`.
pub fn new_webhook_token() -> String {
    format!(
        "fhw_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

/// A Standard Webhooks signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_signing_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A public application ID: `fio` and 8 random lowercase alphanumerics.
pub fn new_public_app_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..8)
        .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
        .collect();
    format!("fio{suffix}")
}

/// An invitation link's token: `fhi_` and 43 random alphanumerics, stored hashed.
pub fn new_invitation_token() -> String {
    format!(
        "fhi_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
    )
}

/// An email verification link's token: `fhv_` and 43 random alphanumerics, stored hashed.
pub fn new_verification_token() -> String {
    format!(
        "fhv_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 43)
    )
}

/// A two-factor recovery code, `xxxxx-xxxxx` from 31 letters and digits that cannot be
/// misread for one another (~49 bits), stored hashed; typed back in any case, with or
/// without the dash.
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let mut pick = || ALPHABET[rng.gen_range(0..ALPHABET.len())] as char;
    let first: String = (0..5).map(|_| pick()).collect();
    let second: String = (0..5).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// The form a recovery code is hashed in: lower case, without spaces or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_values_have_their_documented_shapes() {
        let key = new_api_key();
        assert!(key.starts_with("fhk_live_") && key.len() == 49);
        assert_eq!(hash_api_key(&key).len(), 64);
        assert_ne!(hash_api_key(&key), hash_api_key(&new_api_key()));
        assert_eq!(api_key_display_prefix(&key).len(), 15);

        let secret = new_signing_secret();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .unwrap();
        assert_eq!(raw.len(), 32);

        let id = new_public_app_id();
        assert!(id.starts_with("fio") && id.len() == 11);
        assert!(id[3..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn recovery_codes_read_back_in_any_case_and_spacing() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(normalize_recovery_code(&typed), code.replace('-', ""));
        assert_ne!(new_recovery_code(), code);
    }
}
