//! The rules an endpoint URL must meet when it is saved. Hostnames are not resolved here:
//! the dispatcher checks the resolved address before every connection.

use crate::model::AppError;
use crate::server::targets::{refused, AllowList};
use std::net::IpAddr;

pub const MAX_URL_LEN: usize = 2048;

/// A URL that passed every save-time rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(raw: &str, allow: &AllowList) -> Result<Self, AppError> {
        let fail = |reason: String| Err(AppError::invalid("url", reason));
        let raw = raw.trim();
        if raw.is_empty() {
            return fail("Enter the URL that should receive the webhooks.".into());
        }
        if raw.len() > MAX_URL_LEN {
            return fail(format!(
                "The URL is too long: at most {MAX_URL_LEN} characters."
            ));
        }
        let url = match url::Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::EmptyHost) => {
                return fail("The URL needs a host, as in https://example.com/hook.".into())
            }
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return fail("Enter a full URL starting with https:// or http://.".into())
            }
            Err(err) => return fail(format!("This is not a valid URL: {err}.")),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return fail(format!(
                "Only http and https URLs are accepted, not {}:.",
                url.scheme()
            ));
        }
        let Some(host) = url.host() else {
            return fail("The URL needs a host, as in https://example.com/hook.".into());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return fail(
                "User names and passwords in the URL are not allowed; receivers check the webhook token instead."
                    .into(),
            );
        }
        let literal_ip = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.');
                (name == "localhost" || name.ends_with(".localhost"))
                    .then_some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
            }
        };
        if let Some(ip) = literal_ip {
            if let Some(class) = refused(ip, allow) {
                return fail(format!(
                    "{} is {}; webhooks cannot target it unless the operator allows it (FACEHOOK_ALLOW_TARGETS).",
                    url.host_str().unwrap_or_default(),
                    class.describe()
                ));
            }
        }
        Ok(EndpointUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::targets::parse_allow_entry;

    fn check(raw: &str) -> Result<String, String> {
        EndpointUrl::parse(raw, &AllowList::default())
            .map(|u| u.as_str().to_owned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_public_http_and_https_urls() {
        assert!(check("https://example.com/hook").is_ok());
        assert!(check("http://example.com:8080/a?b=c").is_ok());
        assert_eq!(
            check("https://[2606:4700::1111]:8443/hook").unwrap(),
            "https://[2606:4700::1111]:8443/hook"
        );
    }

    #[test]
    fn each_rule_has_its_own_message() {
        assert!(check("").unwrap_err().contains("Enter the URL"));
        assert!(check("ftp://example.com/x")
            .unwrap_err()
            .contains("Only http and https"));
        assert!(check("example.com/hook").unwrap_err().contains("full URL"));
        assert!(check("https://user:pw@example.com/")
            .unwrap_err()
            .contains("passwords in the URL"));
        assert!(check("https://user@example.com/")
            .unwrap_err()
            .contains("passwords in the URL"));
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(check(&long).unwrap_err().contains("too long"));
        assert!(check("https://127.0.0.1/x")
            .unwrap_err()
            .contains("loopback"));
        assert!(check("https://10.0.0.8/x").unwrap_err().contains("private"));
        assert!(check("https://[fe80::1]/x")
            .unwrap_err()
            .contains("link-local"));
        assert!(check("https://[::ffff:192.168.0.1]/x")
            .unwrap_err()
            .contains("private"));
        assert!(check("http://localhost:3000/x")
            .unwrap_err()
            .contains("loopback"));
        assert!(check("https://").unwrap_err().contains("needs a host"));
        // Every class the dispatcher refuses is refused at save too, so nothing saves that
        // could never be delivered.
        for (url, class) in [
            ("http://100.64.0.1/", "CGNAT"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
            ("https://[2001:db8::1]/", "documentation"),
            ("http://0.0.0.0/", "unspecified"),
        ] {
            assert!(check(url).unwrap_err().contains(class), "{url}");
        }
        assert!(check("https://:8443/hook")
            .unwrap_err()
            .contains("needs a host"));
    }

    #[test]
    fn the_allow_list_lets_operators_target_their_own_networks() {
        let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
        assert!(EndpointUrl::parse("http://127.0.0.1:9000/hook", &allow).is_ok());
        assert!(EndpointUrl::parse("http://10.0.0.1/hook", &allow).is_err());
    }
}
