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

    /// REST API requests per second allowed for each API key (token bucket, per process).
    #[arg(long, env = "FACEHOOK_API_RATE", default_value_t = 200)]
    pub api_rate_per_second: u32,

    /// Requests an API key may send at once above the steady rate.
    #[arg(long, env = "FACEHOOK_API_BURST", default_value_t = 400)]
    pub api_burst: u32,

    /// Folder with the compiled site (`pkg/`, CSS, public assets). Defaults to `site/`
    /// beside the binary, then `../site` (the cargo-leptos layout `target/site`).
    #[arg(long, env = "FACEHOOK_SITE_DIR")]
    pub site_dir: Option<PathBuf>,
}

impl ServeConfig {
    /// A configuration for tests and embedding: everything default but the database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        ServeConfig {
            database: DatabaseConfig {
                database_url: database_url.into(),
            },
            targets: TargetConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            signup: SignupPolicy::Open,
            api_rate_per_second: 200,
            api_burst: 400,
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
