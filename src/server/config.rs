//! Runtime configuration, read from flags or `FACEHOOK_*` environment variables.
//! Holds values only; deciding what they mean for a request belongs to the modules that use them.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignupPolicy {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which private networks webhooks may target (CIDRs or addresses, comma-separated).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetConfig {
    /// e.g. `10.0.0.0/8,::1`; by default no private, loopback or link-local address is allowed.
    #[arg(long = "allow-targets", env = "FACEHOOK_ALLOW_TARGETS", value_delimiter = ',', value_parser = crate::server::targets::parse_allow_entry)]
    pub allow_targets: Vec<ipnet::IpNet>,
}

impl TargetConfig {
    pub fn allow_list(&self) -> crate::server::targets::AllowList {
        crate::server::targets::AllowList::new(self.allow_targets.clone())
    }
}

/// Outgoing mail: password resets, verification and security notices. Off when unset.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MailConfig {
    /// `smtp://user:pass@host:port` (STARTTLS when offered), `smtps://…` (TLS from the start),
    /// or `smtp://127.0.0.1:2525?tls=off` for a loopback server only.
    #[arg(long, env = "FACEHOOK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender, e.g. `Facehook <facehook@example.com>`.
    #[arg(long, env = "FACEHOOK_MAIL_FROM")]
    pub mail_from: Option<String>,
}

impl MailConfig {
    pub fn settings(&self) -> Result<Option<crate::server::mail::MailSettings>, String> {
        crate::server::mail::MailSettings::from_config(
            self.smtp_url.as_deref(),
            self.mail_from.as_deref(),
        )
    }
}

// The dispatcher's own settings live with it; the commands compose them from here.
pub use crate::server::dispatch::DispatchConfig;

/// `facehook dispatch`: a worker that only delivers.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub targets: TargetConfig,
    #[command(flatten)]
    pub dispatch: DispatchConfig,
}

/// Options shared by every subcommand that touches the database.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created if absent) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://facehook.db")]
    pub database_url: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub targets: TargetConfig,

    #[command(flatten)]
    pub dispatch: DispatchConfig,

    #[command(flatten)]
    pub mail: MailConfig,

    /// Serve the console and API only; run `facehook dispatch` elsewhere to deliver.
    #[arg(long, env = "FACEHOOK_NO_DISPATCH")]
    pub no_dispatch: bool,

    /// Address to listen on, e.g. `127.0.0.1:3000` or `[::]:3000`; port 0 picks a free port.
    #[arg(long, env = "FACEHOOK_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The URL users reach the console at; `https` makes session cookies `Secure`
    /// and is the origin that state-changing requests must come from.
    #[arg(long, env = "FACEHOOK_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Whether anyone may create an account from the sign-up page.
    #[arg(long, env = "FACEHOOK_SIGNUP", value_enum, default_value = "open")]
    pub signup: SignupPolicy,

    /// Keep accounts whose email is not confirmed from creating applications (`true` or
    /// `false`; default: on when mail is configured, as confirming needs mail).
    #[arg(long, env = "FACEHOOK_REQUIRE_VERIFIED_EMAIL", value_parser = clap::builder::BoolishValueParser::new())]
    pub require_verified_email: Option<bool>,

    /// Require two-factor sign-in of every account: one without it is asked to set it up
    /// at its next sign-in, and can do nothing else until it has.
    #[arg(long = "require-2fa", env = "FACEHOOK_REQUIRE_2FA")]
    pub require_2fa: bool,

    /// Days the audit log keeps an entry.
    #[arg(long, env = "FACEHOOK_AUDIT_RETENTION_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: u32,

    /// Accounts one client IP may create from the sign-up page per hour.
    #[arg(long, env = "FACEHOOK_SIGNUPS_PER_IP_HOUR", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub signups_per_ip_hour: u32,

    /// Most connections served at once; more wait to be accepted (bounded below the
    /// process's open-file limit, which is raised to its hard limit at start).
    #[arg(long, env = "FACEHOOK_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub max_connections: u32,

    /// REST API requests per second allowed for each API key (token bucket, per process).
    #[arg(long, env = "FACEHOOK_API_RATE", default_value_t = 200)]
    pub api_rate_per_second: u32,

    /// Requests an API key may send at once above the steady rate.
    #[arg(long, env = "FACEHOOK_API_BURST", default_value_t = 400)]
    pub api_burst: u32,

    /// Raise `queue.backlog` when the oldest due delivery has waited this many seconds.
    #[arg(long, env = "FACEHOOK_BACKLOG_ALERT_SECS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=604_800))]
    pub backlog_alert_secs: u32,

    /// How often alert conditions are checked, in milliseconds.
    #[arg(long, env = "FACEHOOK_ALERT_CHECK_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(50..=600_000))]
    pub alert_check_ms: u32,

    /// Folder with the compiled site (`pkg/`, CSS, public assets). Defaults to `site/`
    /// beside the binary, then `../site` (the cargo-leptos layout `target/site`).
    #[arg(long, env = "FACEHOOK_SITE_DIR")]
    pub site_dir: Option<PathBuf>,
}

impl ServeConfig {
    /// A configuration for tests and embedding: everything default but the database, and
    /// the dispatcher off, so only callers that want deliveries sent start one.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        ServeConfig {
            mail: MailConfig::default(),
            database: DatabaseConfig {
                database_url: database_url.into(),
            },
            targets: TargetConfig::default(),
            dispatch: DispatchConfig::default(),
            no_dispatch: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            signup: SignupPolicy::Open,
            signups_per_ip_hour: 10,
            audit_retention_days: 365,
            require_verified_email: None,
            require_2fa: false,
            max_connections: 4096,
            api_rate_per_second: 200,
            api_burst: 400,
            backlog_alert_secs: 300,
            alert_check_ms: 5_000,
            site_dir: None,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|url| url.scheme() == "https")
    }

    pub fn resolve_site_dir(&self) -> PathBuf {
        if let Some(dir) = &self.site_dir {
            return dir.clone();
        }
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from));
        if let Some(exe_dir) = exe_dir {
            for candidate in [exe_dir.join("site"), exe_dir.join("../site")] {
                if candidate.join("pkg").is_dir() {
                    return candidate;
                }
            }
        }
        PathBuf::from("target/site")
    }
}
