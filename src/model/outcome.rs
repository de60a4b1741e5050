//! An attempt's outcome in words for people ("Connection refused", "Timed out after 6 s"),
//! from the dispatcher's error class and message; the raw message stays available on hover.

/// One short phrase for a failed attempt. `class` is the dispatcher's error class (`dns`,
/// `connect`, `tls`, `timeout`, `policy`, `http_status`), `message` its detail.
pub fn failure_in_words(class: &str, message: &str, status_code: Option<i64>) -> String {
    let says = |needle: &str| message.to_ascii_lowercase().contains(needle);
    match class {
        "http_status" => match status_code {
            Some(410) => "HTTP 410 Gone: the receiver asked to stop".to_owned(),
            Some(code) => format!("HTTP {code}"),
            None => "Unexpected HTTP status".to_owned(),
        },
        "timeout" => timed_out(message),
        "connect" if says("refused") || says("os error 111") => "Connection refused".to_owned(),
        "connect" if says("reset") || says("os error 104") => "Connection reset".to_owned(),
        "connect" if says("unreachable") => "Network unreachable".to_owned(),
        "connect" if says("timed out") => "Connection timed out".to_owned(),
        "connect" if says("closed") || says("incomplete") => {
            "The receiver closed the connection".to_owned()
        }
        "connect" => "Could not connect".to_owned(),
        "dns" if says("refused addresses") => "Blocked: private address".to_owned(),
        "dns" => "Host name not found".to_owned(),
        "tls" if says("unknownissuer") || says("not trusted") || says("selfsigned") => {
            "TLS certificate not trusted".to_owned()
        }
        "tls" if says("notvalidforname") => "TLS certificate is for another host".to_owned(),
        "tls" if says("expired") => "TLS certificate expired".to_owned(),
        "tls" => "TLS handshake failed".to_owned(),
        "policy" if says("allow_targets") => "Blocked: private address".to_owned(),
        "policy" => "Blocked: invalid endpoint URL".to_owned(),
        other => format!("Failed ({other})"),
    }
}

/// "Timed out after 6 s" from the transport's "no response within 6000 ms".
fn timed_out(message: &str) -> String {
    let ms = message
        .split_whitespace()
        .find_map(|word| word.parse::<u64>().ok());
    match ms {
        Some(ms) if ms % 1000 == 0 => format!("Timed out after {} s", ms / 1000),
        Some(ms) => format!("Timed out after {ms} ms"),
        None => "Timed out".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::failure_in_words;

    #[test]
    fn says_what_went_wrong_in_words() {
        let cases = [
            (
                "connect",
                "tcp connect error: Connection refused (os error 111)",
                "Connection refused",
            ),
            (
                "timeout",
                "no response within 6000 ms (the endpoint's timeout)",
                "Timed out after 6 s",
            ),
            (
                "tls",
                "TLS handshake failed: invalid peer certificate: UnknownIssuer",
                "TLS certificate not trusted",
            ),
            (
                "dns",
                "hooks.example resolves only to refused addresses: 10.0.0.1 is private",
                "Blocked: private address",
            ),
            (
                "policy",
                "127.0.0.1 is loopback, which FACEHOOK_ALLOW_TARGETS does not allow",
                "Blocked: private address",
            ),
            (
                "dns",
                "cannot resolve nowhere.invalid: no addresses",
                "Host name not found",
            ),
        ];
        for (class, message, words) in cases {
            assert_eq!(failure_in_words(class, message, None), words, "{message}");
        }
        assert_eq!(failure_in_words("http_status", "", Some(503)), "HTTP 503");
    }
}
