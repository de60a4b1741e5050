//! The rules an endpoint URL must meet when it is saved. A name that resolves only to
//! addresses webhooks may not target is refused here, with the reason; the dispatcher still
//! checks the resolved address before every connection (names change).

use crate::model::AppError;
use crate::server::targets::{refused, AllowList, Restricted};
use std::net::IpAddr;
use std::time::Duration;

pub const MAX_URL_LEN: usize = 2048;
/// How long a save waits for a name to resolve; a name that does not resolve in time (or at
/// all) is saved, and each attempt resolves it again.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// A URL that passed every save-time rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub async fn parse(raw: &str, allow: &AllowList) -> Result<Self, AppError> {
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
        let unless_allowed =
            "webhooks cannot target it unless the operator allows it (FACEHOOK_ALLOW_TARGETS)";
        let shown_host = url.host_str().unwrap_or_default();
        let literal_ip = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            // Names under `.localhost` are loopback by definition (RFC 6761), whatever resolves.
            url::Host::Domain(name) => name
                .trim_end_matches('.')
                .ends_with(".localhost")
                .then_some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        };
        if let Some(ip) = literal_ip {
            if let Some(class) = refused(ip, allow) {
                return fail(format!(
                    "{shown_host} is {}; {unless_allowed}.",
                    class.describe()
                ));
            }
        } else if let Some((ip, class)) = resolves_only_to_refused(&url, allow).await {
            return fail(format!(
                "{shown_host} resolves only to {} ({ip}); {unless_allowed}.",
                class.describe()
            ));
        }
        Ok(EndpointUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first address and its class, when the URL's name resolves and every address it
/// resolves to is refused: such an endpoint could never be delivered to.
async fn resolves_only_to_refused(
    url: &url::Url,
    allow: &AllowList,
) -> Option<(IpAddr, Restricted)> {
    let host = url.host_str()?.to_owned();
    let port = url.port_or_known_default()?;
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<IpAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .ok()?
        .ok()?
        .map(|addr| addr.ip())
        .collect();
    let classes: Vec<(IpAddr, Restricted)> = addrs
        .iter()
        .filter_map(|ip| refused(*ip, allow).map(|class| (*ip, class)))
        .collect();
    (!addrs.is_empty() && classes.len() == addrs.len())
        .then(|| classes.first().copied())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::targets::parse_allow_entry;

    async fn check(raw: &str) -> Result<String, String> {
        EndpointUrl::parse(raw, &AllowList::default())
            .await
            .map(|u| u.as_str().to_owned())
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn accepts_public_http_and_https_urls() {
        assert!(check("https://example.com/hook").await.is_ok());
        assert!(check("http://example.com:8080/a?b=c").await.is_ok());
        assert_eq!(
            check("https://[2606:4700::1111]:8443/hook").await.unwrap(),
            "https://[2606:4700::1111]:8443/hook"
        );
    }

    #[tokio::test]
    async fn each_rule_has_its_own_message() {
        assert!(check("").await.unwrap_err().contains("Enter the URL"));
        assert!(check("ftp://example.com/x")
            .await
            .unwrap_err()
            .contains("Only http and https"));
        assert!(check("example.com/hook")
            .await
            .unwrap_err()
            .contains("full URL"));
        assert!(check("https://user:pw@example.com/")
            .await
            .unwrap_err()
            .contains("passwords in the URL"));
        assert!(check("https://user@example.com/")
            .await
            .unwrap_err()
            .contains("passwords in the URL"));
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert!(check(&long).await.unwrap_err().contains("too long"));
        assert!(check("https://127.0.0.1/x")
            .await
            .unwrap_err()
            .contains("loopback"));
        assert!(check("https://10.0.0.8/x")
            .await
            .unwrap_err()
            .contains("private"));
        assert!(check("https://[fe80::1]/x")
            .await
            .unwrap_err()
            .contains("link-local"));
        assert!(check("https://[::ffff:192.168.0.1]/x")
            .await
            .unwrap_err()
            .contains("private"));
        // A name is resolved (the system's resolver, here /etc/hosts): one that resolves only
        // to refused addresses says so; names under .localhost are loopback without asking.
        let localhost = check("http://localhost:3000/x").await.unwrap_err();
        assert!(
            localhost.contains("localhost resolves only to a loopback address"),
            "{localhost}"
        );
        assert!(check("http://hooks.localhost/x")
            .await
            .unwrap_err()
            .contains("hooks.localhost is a loopback address"));
        assert!(
            check("https://no-such-name.invalid/x").await.is_ok(),
            "a name that does not resolve yet is saved; each attempt resolves it again"
        );
        assert!(check("https://")
            .await
            .unwrap_err()
            .contains("needs a host"));
        // Every class the dispatcher refuses is refused at save too, so nothing saves that
        // could never be delivered.
        for (url, class) in [
            ("http://100.64.0.1/", "CGNAT"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
            ("https://[2001:db8::1]/", "documentation"),
            ("http://0.0.0.0/", "unspecified"),
        ] {
            assert!(check(url).await.unwrap_err().contains(class), "{url}");
        }
        assert!(check("https://:8443/hook")
            .await
            .unwrap_err()
            .contains("needs a host"));
    }

    #[tokio::test]
    async fn the_allow_list_lets_operators_target_their_own_networks() {
        let allow = AllowList::new(vec![parse_allow_entry("127.0.0.0/8").unwrap()]);
        assert!(EndpointUrl::parse("http://127.0.0.1:9000/hook", &allow)
            .await
            .is_ok());
        assert!(EndpointUrl::parse("http://10.0.0.1/hook", &allow)
            .await
            .is_err());
    }
}
