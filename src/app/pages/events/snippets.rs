//! Verification code shown on the event catalog: each checks the bearer token and the
//! Standard Webhooks signature over the raw body, as a receiver should.

/// A language's name and its snippet.
pub struct Snippet {
    pub language: &'static str,
    pub code: &'static str,
}

/// One snippet per language, in the order the catalog shows them.
pub const SNIPPETS: [Snippet; 4] = [
    Snippet {
        language: "Node.js",
        code: r#"// Checks the bearer token, then the Standard Webhooks signature. (Any Standard Webhooks
// library, e.g. `standardwebhooks` on npm, verifies the signature too; the bearer check is separate.)
const crypto = require('crypto');

// timingSafeEqual throws on different lengths, so check those first.
function safeEqual(a, b) {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

// headers: lowercase names. rawBody: the body exactly as received (Buffer or string),
// never JSON.stringify(req.body), which need not reproduce the signed bytes.
function verify(headers, rawBody, secret, token) {
  if (!safeEqual(headers['www-authenticate'] || '', `Bearer ${token}`)) return false;
  const id = headers['webhook-id'] || '', ts = headers['webhook-timestamp'] || '';
  if (!id || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.`).update(rawBody).digest('base64');
  // During a secret rotation there are two signatures; either may match.
  return (headers['webhook-signature'] || '').split(' ')
    .some((sig) => sig.startsWith('v1,') && safeEqual(sig.slice(3), expected));
}

// Express: take the raw body on this route, parse JSON only after verifying.
// app.post('/webhooks', express.raw({ type: 'application/json' }), (req, res) => {
//   if (!verify(req.headers, req.body, SECRET, TOKEN)) return res.sendStatus(401);
//   const event = JSON.parse(req.body); res.sendStatus(204);
// });"#,
    },
    Snippet {
        language: "Python",
        code: r#"# Checks the bearer token, then the Standard Webhooks signature. (Any Standard Webhooks
# library, e.g. `standardwebhooks` on PyPI, verifies the signature too; the bearer check is separate.)
import base64, hashlib, hmac, time

def verify(headers, raw_body: bytes, secret: str, token: str) -> bool:
    """headers: a mapping with lowercase names (Flask's request.headers works as is).
    raw_body: the bytes as received, never re-serialised JSON."""
    bearer = headers.get("www-authenticate", "").encode()
    if not hmac.compare_digest(bearer, f"Bearer {token}".encode()):
        return False
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not ts.isdecimal() or abs(int(time.time()) - int(ts)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + raw_body, hashlib.sha256)
    expected = base64.b64encode(mac.digest())
    # During a secret rotation there are two signatures; either may match.
    return any(
        hmac.compare_digest(sig[3:].encode(), expected)
        for sig in headers.get("webhook-signature", "").split(" ")
        if sig.startswith("v1,")
    )

# Flask:
#   if not verify(request.headers, request.get_data(), SECRET, TOKEN):
#       abort(401)
#   event = request.get_json()"#,
    },
    Snippet {
        language: "Go",
        code: r#"// Checks the bearer token, then the Standard Webhooks signature. (Any Standard Webhooks
// library verifies the signature too; the bearer check is separate.)
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verify checks a webhook. body is the raw request body as read, never re-encoded JSON.
func Verify(h http.Header, body []byte, secret, token string) bool {
	if subtle.ConstantTimeCompare([]byte(h.Get("WWW-Authenticate")), []byte("Bearer "+token)) != 1 {
		return false
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	expected := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	// During a secret rotation there are two signatures; either may match.
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		if v, ok := strings.CutPrefix(sig, "v1,"); ok && hmac.Equal([]byte(v), expected) {
			return true
		}
	}
	return false
}"#,
    },
    Snippet {
        language: "Rust",
        code: r#"// Cargo.toml: hmac = "0.12", sha2 = "0.10", base64 = "0.22", subtle = "2", http = "1"
// Checks the bearer token, then the Standard Webhooks signature. (Any Standard Webhooks
// library verifies the signature too; the bearer check is separate.)
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// `body` is the raw request body as received, never re-serialised JSON.
pub fn verify(headers: &http::HeaderMap, body: &[u8], secret: &str, token: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let bearer = format!("Bearer {token}");
    if !bool::from(header("www-authenticate").as_bytes().ct_eq(bearer.as_bytes())) {
        return false;
    }
    let (id, ts) = (header("webhook-id"), header("webhook-timestamp"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    match ts.parse::<i64>() {
        Ok(sent) if !id.is_empty() && now.abs_diff(sent) <= 300 => {}
        _ => return false,
    }
    let Ok(key) = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    // During a secret rotation there are two signatures; either may match.
    header("webhook-signature").split(' ').filter_map(|sig| sig.strip_prefix("v1,")).any(|sig| {
        STANDARD.decode(sig).is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok())
    })
}"#,
    },
];
