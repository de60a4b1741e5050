//! What the console shows of an account's protection: its sessions and two-factor state.
//! Plain data for the UI; the rules live in `server::auth`.

use serde::{Deserialize, Serialize};

/// One signed-in console session of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    /// "Firefox on Linux", from the browser's User-Agent.
    pub browser: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
    /// The session this page was asked for.
    pub current: bool,
}

/// The account's sessions, and the server's clock to say "5 min ago" against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub now_ms: i64,
    pub sessions: Vec<SessionView>,
}

/// The account's two-factor sign-in, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorView {
    pub enabled_at: Option<i64>,
    pub recovery_codes_left: i64,
    /// The operator requires two-factor sign-in of every account.
    pub required: bool,
    /// The secret being enrolled, once the owner asked to set it up.
    pub enrolment: Option<Enrolment>,
}

/// What an authenticator app needs: the secret as a QR code and as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Base32, as authenticator apps take it when typed.
    pub secret: String,
    /// An `<svg>` of the `otpauth://` URL, drawn on the server.
    pub qr_svg: String,
}

/// "Chrome on Android": enough to tell one's own devices apart, from a User-Agent header.
pub fn browser_label(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        "Unknown browser"
    };
    let system = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("Linux") || ua.contains("X11") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::browser_label;

    #[test]
    fn names_common_browsers_and_systems() {
        let chrome_android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert_eq!(browser_label(chrome_android), "Chrome on Android");
        let firefox_linux =
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(browser_label(firefox_linux), "Firefox on Linux");
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_label(safari_iphone), "Safari on iOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0";
        assert_eq!(browser_label(edge), "Edge on Windows");
        assert_eq!(browser_label("curl/8.5.0"), "curl");
        assert_eq!(browser_label(""), "Unknown browser");
    }
}
