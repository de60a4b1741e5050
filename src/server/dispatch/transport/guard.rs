//! The SSRF guard's half of the connector: names are resolved once with the system resolver
//! and only the addresses the guard allows are handed on, so the connector dials exactly these
//! (happy eyeballs across families) with no second lookup to rebind.

use crate::server::targets::{refused, AllowList};
use hyper_util::client::legacy::connect::dns::Name;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Refuses an address outside the public internet unless the operator's allow list covers it.
pub fn check_address(ip: IpAddr, allow: &AllowList) -> Result<(), String> {
    match refused(ip, allow) {
        Some(class) => Err(format!(
            "{ip} is {}, which FACEHOOK_ALLOW_TARGETS does not allow",
            class.describe()
        )),
        None => Ok(()),
    }
}

/// The resolver's own errors, recognised again when they come back inside a request error.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve {host}: {reason}")]
    Lookup { host: String, reason: String },
    #[error("{host} resolves only to refused addresses: {reasons}")]
    Refused { host: String, reasons: String },
}

#[derive(Clone)]
pub struct GuardedResolver {
    allow: AllowList,
}

impl GuardedResolver {
    pub fn new(allow: AllowList) -> Self {
        GuardedResolver { allow }
    }
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, ResolveError>> + Send>>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = ResolveError;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
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
                return Err(ResolveError::Lookup {
                    host,
                    reason: "no addresses".to_owned(),
                });
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
                return Err(ResolveError::Refused {
                    host,
                    reasons: refusals.join("; "),
                });
            }
            Ok(allowed.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::targets::parse_allow_entry;
    use std::net::IpAddr;

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
