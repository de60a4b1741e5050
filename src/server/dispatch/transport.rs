//! Sends one attempt over the network: rustls (TLS 1.3 preferred, 1.2 allowed), HTTP/2 or
//! HTTP/1.1 by ALPN, pooled connections, and the SSRF guard — names are resolved once, every
//! address is checked, and only checked addresses are connected to. Never touches the database.

use super::message::Message;
use crate::server::targets::{classify, AllowList};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most of a response body read; the rest is left unread and the connection dropped.
const MAX_BODY_READ: usize = 64 * 1024;
/// How much of the body an attempt keeps for the console.
const MAX_BODY_KEPT: usize = 4 * 1024;

/// Why an attempt got no usable HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Dns,
    Connect,
    Tls,
    Timeout,
    Policy,
    HttpStatus,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Policy => "policy",
            ErrorClass::HttpStatus => "http_status",
        }
    }
}

/// What came back from one attempt.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub http_version: String,
    pub remote_addr: Option<SocketAddr>,
    /// Header names and values, in order; repeated names appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body_excerpt: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub class: ErrorClass,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct AttemptReport {
    pub duration: Duration,
    pub result: Result<Response, Failure>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read FACEHOOK_EXTRA_CA_FILE {path}: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
    #[error("FACEHOOK_EXTRA_CA_FILE {path} holds no usable PEM certificate: {reason}")]
    CaPem { path: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Most endpoint URLs kept parsed; past it the cache starts over.
const PARSED_URLS_KEPT: usize = 4096;

/// The HTTP client shared by every attempt; clones share the connection pool.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    allow: AllowList,
    /// Endpoint URLs already parsed: parsing (IDNA included) cost more than signing.
    parsed: Arc<std::sync::Mutex<HashMap<String, reqwest::Url>>>,
}

impl Transport {
    pub fn new(allow: AllowList, extra_ca_file: Option<&Path>) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .min_tls_version(reqwest::tls::Version::TLS_1_2)
            .tls_built_in_root_certs(true)
            .https_only(false)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect to addresses we never checked.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .user_agent(super::message::USER_AGENT)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true);
        if let Some(path) = extra_ca_file {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| TransportError::CaFile {
                path: shown.clone(),
                source,
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|err| {
                TransportError::CaPem {
                    path: shown.clone(),
                    reason: err.to_string(),
                }
            })?;
            if certificates.is_empty() {
                return Err(TransportError::CaPem {
                    path: shown,
                    reason: "no CERTIFICATE block".to_owned(),
                });
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|err| TransportError::Client(err.to_string()))?;
        Ok(Transport {
            client,
            allow,
            parsed: Default::default(),
        })
    }

    fn parse_url(&self, url: &str) -> Result<reqwest::Url, url::ParseError> {
        let mut parsed = self
            .parsed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = parsed.get(url) {
            return Ok(known.clone());
        }
        let fresh = reqwest::Url::parse(url)?;
        if parsed.len() >= PARSED_URLS_KEPT {
            parsed.clear();
        }
        parsed.insert(url.to_owned(), fresh.clone());
        Ok(fresh)
    }

    /// POSTs `message` to `url`. `timeout` covers connecting, TLS, sending and the response
    /// head; the body read after it is bounded by the same budget.
    pub async fn send(&self, url: &str, message: Message, timeout: Duration) -> AttemptReport {
        let started = Instant::now();
        let result = self.send_inner(url, message, timeout, started).await;
        AttemptReport {
            duration: started.elapsed(),
            result,
        }
    }

    async fn send_inner(
        &self,
        url: &str,
        message: Message,
        timeout: Duration,
        started: Instant,
    ) -> Result<Response, Failure> {
        let parsed = self.parse_url(url).map_err(|err| Failure {
            class: ErrorClass::Policy,
            message: format!("the endpoint URL is invalid: {err}"),
        })?;
        // Addresses written in the URL never reach the resolver, so they are checked here.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            check_address(ip, &self.allow).map_err(|message| Failure {
                class: ErrorClass::Policy,
                message,
            })?;
        }
        let mut request = self.client.post(parsed).body(message.body);
        for (name, value) in message.headers {
            request = request.header(name, value);
        }
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => {
                return Err(Failure {
                    class: ErrorClass::Timeout,
                    message: format!(
                        "no response within {} ms (the endpoint's timeout)",
                        timeout.as_millis()
                    ),
                })
            }
            Ok(Err(err)) => return Err(classify_error(&err)),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let http_version = match response.version() {
            reqwest::Version::HTTP_2 => "HTTP/2",
            reqwest::Version::HTTP_10 => "HTTP/1.0",
            reqwest::Version::HTTP_3 => "HTTP/3",
            _ => "HTTP/1.1",
        }
        .to_owned();
        let remote_addr = response.remote_addr();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let budget = timeout.saturating_sub(started.elapsed());
        let body_excerpt = read_excerpt(response, budget).await;
        Ok(Response {
            status,
            http_version,
            remote_addr,
            headers,
            body_excerpt,
        })
    }
}

/// Reads at most `MAX_BODY_READ` bytes within `budget` and keeps the first `MAX_BODY_KEPT`.
/// A body that is slow or endless only shortens the excerpt; the status already counts.
async fn read_excerpt(mut response: reqwest::Response, budget: Duration) -> String {
    let mut kept = Vec::new();
    let mut read = 0usize;
    let deadline = tokio::time::Instant::now() + budget;
    while read < MAX_BODY_READ {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                read += chunk.len();
                let room = MAX_BODY_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Refuses an address outside the public internet unless the operator's allow list covers it.
pub fn check_address(ip: IpAddr, allow: &AllowList) -> Result<(), String> {
    match classify(ip) {
        Some(class) if !allow.covers(ip) => Err(format!(
            "{ip} is {}, which FACEHOOK_ALLOW_TARGETS does not allow",
            class.describe()
        )),
        _ => Ok(()),
    }
}

/// The resolver's own errors, recognised again when they come back inside a request error.
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error("cannot resolve {host}: {reason}")]
    Lookup { host: String, reason: String },
    #[error("{host} resolves only to refused addresses: {reasons}")]
    Refused { host: String, reasons: String },
}

/// Resolves with the system resolver, then keeps only the addresses the guard allows. The
/// connector then dials exactly these (happy eyeballs across families), with no second lookup.
struct GuardedResolver {
    allow: AllowList,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|err| ResolveError::Lookup {
                    host: host.clone(),
                    reason: err.to_string(),
                })?
                .collect();
            if found.is_empty() {
                return Err(Box::new(ResolveError::Lookup {
                    host,
                    reason: "no addresses".to_owned(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match check_address(addr.ip(), &allow) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusals.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(ResolveError::Refused {
                    host,
                    reasons: refusals.join("; "),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Maps a request error to its class by walking its causes, including the ones `io::Error`
/// wraps (its `source()` skips the wrapped error itself).
fn classify_error(err: &reqwest::Error) -> Failure {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut deepest = err.to_string();
    while let Some(current) = cause {
        let inner = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|e| e as &(dyn std::error::Error + 'static));
        for candidate in [Some(current), inner].into_iter().flatten() {
            if let Some(resolve) = candidate.downcast_ref::<ResolveError>() {
                let class = match resolve {
                    ResolveError::Lookup { .. } => ErrorClass::Dns,
                    ResolveError::Refused { .. } => ErrorClass::Policy,
                };
                return Failure {
                    class,
                    message: resolve.to_string(),
                };
            }
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return Failure {
                    class: ErrorClass::Tls,
                    message: format!("TLS handshake failed: {tls}"),
                };
            }
        }
        deepest = current.to_string();
        cause = inner.or_else(|| current.source());
    }
    let class = if err.is_timeout() {
        ErrorClass::Timeout
    } else {
        ErrorClass::Connect
    };
    Failure {
        class,
        message: deepest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::targets::parse_allow_entry;

    #[test]
    fn every_restricted_class_is_refused_unless_allowed() {
        let restricted = [
            "127.0.0.1",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
        ];
        let nobody = AllowList::default();
        for raw in restricted {
            let ip: IpAddr = raw.parse().unwrap();
            let refusal = check_address(ip, &nobody).expect_err(raw);
            assert!(refusal.contains("FACEHOOK_ALLOW_TARGETS"), "{refusal}");
            let listed = AllowList::new(vec![parse_allow_entry(raw).unwrap()]);
            assert_eq!(check_address(ip, &listed), Ok(()), "{raw} when listed");
        }
        for public in ["93.184.216.34", "2606:4700::1111"] {
            assert_eq!(check_address(public.parse().unwrap(), &nobody), Ok(()));
        }
    }
}
