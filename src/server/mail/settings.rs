//! The SMTP settings, read once at start-up: `FACEHOOK_SMTP_URL` (`smtp://user:pass@host:port`
//! with STARTTLS required, `?tls=opportunistic` to go on without it when the server offers
//! none, `smtps://…` for TLS from the first byte, `?tls=off` only for a loopback server) and
//! `FACEHOOK_MAIL_FROM`.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// STARTTLS, required (`smtp://`): a server (or someone in the path) that offers none
    /// gets no password and no mail.
    StartTlsRequired,
    /// STARTTLS when the server offers it, else plain (`smtp://…?tls=opportunistic`).
    StartTlsWhenOffered,
    /// Plain text, for a loopback server only (`smtp://…?tls=off`).
    Off,
}

/// Where and how to reach the SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw.trim()).map_err(|e| {
            format!("FACEHOOK_SMTP_URL is not a URL ({e}); expected smtp://user:pass@host:port")
        })?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "FACEHOOK_SMTP_URL has the scheme {other:?}; expected smtp or smtps"
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("FACEHOOK_SMTP_URL names no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let mut tls = None;
        for (name, value) in url.query_pairs() {
            match (name.as_ref(), value.as_ref()) {
                ("tls", choice @ ("off" | "opportunistic")) => tls = Some(choice.to_owned()),
                (name, value) => {
                    return Err(format!(
                        "FACEHOOK_SMTP_URL has the unknown option {name}={value}; known: tls=opportunistic, tls=off"
                    ))
                }
            }
        }
        let security = match (implicit, tls.as_deref()) {
            (true, Some(_)) => return Err("smtps:// always uses TLS; drop ?tls=…".into()),
            (true, None) => Security::Implicit,
            (false, None) => Security::StartTlsRequired,
            (false, Some("opportunistic")) => Security::StartTlsWhenOffered,
            (false, _) if is_loopback(&host) => Security::Off,
            (false, _) => {
                return Err(format!(
                    "?tls=off sends passwords and mail in the clear: it is allowed only for a \
                     loopback server, not {host}"
                ))
            }
        };
        // Percent-decoding only: `+` and `&` are themselves in a password.
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty()).then(|| {
            (
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            )
        });
        Ok(SmtpUrl {
            port: url.port().unwrap_or(if implicit { 465 } else { 587 }),
            host,
            security,
            credentials,
        })
    }

    /// The settings for logs and messages: never the password.
    pub fn redacted(&self) -> String {
        let scheme = if self.security == Security::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        let user = self
            .credentials
            .as_ref()
            .map(|(user, _)| format!("{user}:••••@"))
            .unwrap_or_default();
        let off = match self.security {
            Security::Off => "?tls=off",
            Security::StartTlsWhenOffered => "?tls=opportunistic",
            Security::Implicit | Security::StartTlsRequired => "",
        };
        format!("{scheme}://{user}{}:{}{off}", self.host, self.port)
    }

    pub fn transport(
        &self,
        timeout: Duration,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let tls_parameters = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| format!("cannot set up TLS for {}: {e}", self.host))
        };
        let tls = match self.security {
            Security::Implicit => Tls::Wrapper(tls_parameters()?),
            Security::StartTlsRequired => Tls::Required(tls_parameters()?),
            Security::StartTlsWhenOffered => Tls::Opportunistic(tls_parameters()?),
            Security::Off => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// SMTP server and sender address; mail is off when neither is configured.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp_url: SmtpUrl,
    pub from: Mailbox,
}

impl MailSettings {
    /// `None` when SMTP is not configured; an error names the setting that is wrong.
    pub fn from_config(smtp_url: Option<&str>, from: Option<&str>) -> Result<Option<Self>, String> {
        let smtp_url = smtp_url.map(str::trim).filter(|s| !s.is_empty());
        let from = from.map(str::trim).filter(|s| !s.is_empty());
        match (smtp_url, from) {
            (None, None) => Ok(None),
            (Some(_), None) => Err("FACEHOOK_MAIL_FROM is needed with FACEHOOK_SMTP_URL, e.g. \"Facehook <facehook@example.com>\"".into()),
            (None, Some(_)) => Err("FACEHOOK_MAIL_FROM is set but FACEHOOK_SMTP_URL is not".into()),
            (Some(url), Some(from)) => Ok(Some(MailSettings {
                smtp_url: SmtpUrl::parse(url)?,
                from: from
                    .parse()
                    .map_err(|e| format!("FACEHOOK_MAIL_FROM {from:?} is not an address: {e}"))?,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_three_kinds_of_url() {
        let starttls =
            SmtpUrl::parse("smtp://ops%40example.com:p%40s+s&x@mail.example.com").unwrap();
        assert_eq!(starttls.port, 587);
        assert_eq!(starttls.security, Security::StartTlsRequired);
        assert_eq!(
            starttls.credentials,
            Some(("ops@example.com".into(), "p@s+s&x".into()))
        );
        let relaxed = SmtpUrl::parse("smtp://mail.example.com?tls=opportunistic").unwrap();
        assert_eq!(relaxed.security, Security::StartTlsWhenOffered);
        assert!(!starttls.redacted().contains("p@s+s"));
        assert!(!format!("{starttls:?}").contains("p@s+s"));
        let implicit = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert_eq!(
            (implicit.port, implicit.security),
            (465, Security::Implicit)
        );
        let plain = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=off").unwrap();
        assert_eq!((plain.port, plain.security), (2525, Security::Off));
        assert_eq!(plain.redacted(), "smtp://127.0.0.1:2525?tls=off");
    }

    #[test]
    fn refuses_what_would_leak_or_cannot_work() {
        for bad in [
            "smtp://mail.example.com?tls=off",
            "smtps://127.0.0.1?tls=off",
            "http://mail.example.com",
            "smtp://127.0.0.1?tls=maybe",
            "not a url",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(MailSettings::from_config(Some("smtp://127.0.0.1?tls=off"), None).is_err());
        assert!(MailSettings::from_config(None, None).unwrap().is_none());
        assert!(MailSettings::from_config(
            Some("smtp://127.0.0.1?tls=off"),
            Some("not an address")
        )
        .is_err());
    }
}
