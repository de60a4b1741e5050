//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
//! keyed by the base64 secret after `whsec_`, and `v1a,<base64 ed25519 signature>` of the same
//! content with the key after `whsk_` (its public half, `whpk_…`, is what receivers verify
//! with). Signing only; which keys apply is the caller's.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the signing secret is not `whsec_` followed by base64")]
pub struct MalformedSecret;

/// A decoded signing secret, ready to sign many messages.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn from_secret(secret: &str) -> Result<Self, MalformedSecret> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let bytes = BASE64.decode(encoded).map_err(|_| MalformedSecret)?;
        if bytes.is_empty() {
            return Err(MalformedSecret);
        }
        Ok(SigningKey(bytes))
    }

    /// The `v1,…` signature of one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

/// A decoded ed25519 key: `whsk_` and the base64 of its 32-byte seed.
pub struct Ed25519Key(ring::signature::Ed25519KeyPair);

impl Ed25519Key {
    pub fn from_secret(secret: &str) -> Result<Self, MalformedSecret> {
        let encoded = secret.strip_prefix("whsk_").ok_or(MalformedSecret)?;
        let seed = BASE64.decode(encoded).map_err(|_| MalformedSecret)?;
        ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
            .map(Ed25519Key)
            .map_err(|_| MalformedSecret)
    }

    /// The key of `secret`, decoded once and kept: decoding derives the public key, a scalar
    /// multiplication as costly as signing, which each attempt would otherwise repeat. At most
    /// `KEPT_KEYS` are kept (the map starts over past that); a rotated-out key is never
    /// asked for again, so keeping it costs only memory.
    pub fn cached(secret: &str) -> Result<Arc<Self>, MalformedSecret> {
        static KEPT: LazyLock<Mutex<HashMap<String, Arc<Ed25519Key>>>> =
            LazyLock::new(Default::default);
        const KEPT_KEYS: usize = 4096;
        let mut kept = KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(key) = kept.get(secret) {
            return Ok(key.clone());
        }
        let key = Arc::new(Self::from_secret(secret)?);
        if kept.len() >= KEPT_KEYS {
            kept.clear();
        }
        kept.insert(secret.to_owned(), key.clone());
        Ok(key)
    }

    /// `whpk_` and the base64 of the 32-byte public key.
    pub fn public_key(&self) -> String {
        use ring::signature::KeyPair;
        format!("whpk_{}", BASE64.encode(self.0.public_key().as_ref()))
    }

    /// The `v1a,…` signature of one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut content = Vec::with_capacity(message_id.len() + body.len() + 24);
        content.extend_from_slice(message_id.as_bytes());
        content.push(b'.');
        content.extend_from_slice(timestamp.to_string().as_bytes());
        content.push(b'.');
        content.extend_from_slice(body);
        format!("v1a,{}", BASE64.encode(self.0.sign(&content).as_ref()))
    }
}

/// A new ed25519 key, as `whsk_…`.
pub fn new_ed25519_secret() -> String {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
    format!("whsk_{}", BASE64.encode(seed))
}

/// Every key a delivery is signed with, of either kind.
pub enum AnyKey {
    Hmac(SigningKey),
    Ed25519(Arc<Ed25519Key>),
}

impl AnyKey {
    fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        match self {
            AnyKey::Hmac(key) => key.sign(message_id, timestamp, body),
            AnyKey::Ed25519(key) => key.sign(message_id, timestamp, body),
        }
    }
}

/// The `webhook-signature` header value: one signature per key, space-separated.
pub fn signature_header(keys: &[AnyKey], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| key.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_known_answer() {
        let key = SigningKey::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let signature = key.sign(
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn rotation_sends_one_signature_per_secret() {
        let keys = [
            AnyKey::Hmac(
                SigningKey::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap(),
            ),
            AnyKey::Hmac(
                SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
            ),
        ];
        let header = signature_header(&keys, "evt_1", 1, b"{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn ed25519_matches_the_rfc_8032_known_answer() {
        // RFC 8032 section 7.1, test 1: this seed signs the empty message as below.
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&seed[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let key = Ed25519Key::from_secret(&format!("whsk_{}", BASE64.encode(bytes))).unwrap();
        let public = BASE64
            .decode(key.public_key().strip_prefix("whpk_").unwrap())
            .unwrap();
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&public),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex(key.0.sign(b"").as_ref()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(key.sign("msg_1", 1, b"{}").starts_with("v1a,"));
    }

    #[test]
    fn an_ed25519_key_is_decoded_once() {
        let secret = new_ed25519_secret();
        let (a, b) = (
            Ed25519Key::cached(&secret).unwrap(),
            Ed25519Key::cached(&secret).unwrap(),
        );
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Ed25519Key::cached("whsk_short").is_err());
    }

    #[test]
    fn ed25519_keys_are_fresh_and_well_formed() {
        let (a, b) = (new_ed25519_secret(), new_ed25519_secret());
        assert_ne!(a, b);
        assert!(Ed25519Key::from_secret(&a).is_ok());
        assert!(Ed25519Key::from_secret("whsk_short").is_err());
        assert!(Ed25519Key::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
    }

    #[test]
    fn refuses_secrets_that_are_not_base64() {
        assert_eq!(
            SigningKey::from_secret("whsec_***").err(),
            Some(MalformedSecret)
        );
        assert_eq!(
            SigningKey::from_secret("whsec_").err(),
            Some(MalformedSecret)
        );
    }
}
