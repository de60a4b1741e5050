//! The command line: `serve`, `dispatch`, `migrate`, `create-account` and admin helpers. Every
//! option is also a `FACEHOOK_*` (or `DATABASE_URL`) environment variable. Parsing only; `startup` runs the commands.

use crate::model::ids::AppId;

use crate::server::config::{DatabaseConfig, LogFormat, ServeConfig, TargetConfig, WorkerConfig};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "facehook",
    version,
    about = "Webhook console for facial-authentication applications"
)]
pub struct Cli {
    /// `pretty` for people, `json` for log collectors.
    #[arg(
        long,
        env = "FACEHOOK_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the console and the API until SIGTERM or Ctrl-C.
    Serve(ServeConfig),
    /// Deliver webhooks only (no console, no API): for splitting roles across processes.
    Dispatch(WorkerConfig),
    /// Apply database migrations and exit.
    Migrate(DatabaseConfig),
    /// Create an account; the password is read from stdin, or prompted on a terminal.
    CreateAccount {
        #[command(flatten)]
        database: DatabaseConfig,
        #[arg(long, env = "FACEHOOK_ACCOUNT_EMAIL")]
        email: String,
        /// Make the account an operator (the first account always is one).
        #[arg(long)]
        operator: bool,
    },
    /// Manage applications (prints JSON for scripts).
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Organization API tokens for the management API (prints JSON for scripts).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Manage webhook endpoints (prints JSON for scripts).
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Print a one-time password reset link for an account (valid 30 minutes), for when the
    /// server cannot send mail.
    ResetLink {
        #[command(flatten)]
        database: DatabaseConfig,
        #[arg(long)]
        email: String,
        /// The console's address, as people reach it.
        #[arg(
            long,
            env = "FACEHOOK_PUBLIC_URL",
            default_value = "http://127.0.0.1:3000"
        )]
        public_url: url::Url,
    },
    /// Turn two-factor sign-in off for an account whose owner lost both the app and the
    /// recovery codes (after checking who is asking); they sign in with the password alone.
    #[command(name = "reset-2fa")]
    ResetTwoFactor {
        #[command(flatten)]
        database: DatabaseConfig,
        #[arg(long)]
        email: String,
    },
    /// Mark an account's email as confirmed, for when the server cannot send mail.
    VerifyEmail {
        #[command(flatten)]
        database: DatabaseConfig,
        #[arg(long)]
        email: String,
    },
    /// Send one mail now through FACEHOOK_SMTP_URL, to check the mail settings.
    SendTestMail {
        #[command(flatten)]
        mail: crate::server::config::MailConfig,
        /// Where to send it.
        #[arg(long)]
        to: String,
    },
    /// Change an application's plan: free, premium, business or enterprise.
    SetPlan {
        #[command(flatten)]
        database: DatabaseConfig,
        public_id: AppId,
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Create an application; prints {"publicId", "apiKey"}.
    Create {
        #[command(flatten)]
        database: DatabaseConfig,
        /// Email of the account that creates it (its role must allow creating applications).
        #[arg(long)]
        owner: String,
        /// The organization (`org_…`) that owns it; default: the account's oldest.
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "free")]
        plan: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token as the account would on the organization's settings page; prints
    /// {"token", "id", "name", "role", "expiresAt"} (the token is shown only here).
    Create {
        #[command(flatten)]
        database: DatabaseConfig,
        /// Email of the account that makes it (its role must allow managing members).
        #[arg(long)]
        owner: String,
        /// The organization (`org_…`); default: the account's oldest.
        #[arg(long)]
        org: Option<String>,
        /// What uses the token, e.g. "CI deploys".
        #[arg(long)]
        name: String,
        /// owner, admin, developer or viewer.
        #[arg(long)]
        role: String,
        /// Days until it stops working; default: never.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCommand {
    /// Add an endpoint; prints {"endpointId", "webhookToken", "signingSecret"}, and
    /// "publicKey" (`whpk_…`) when ed25519 signs.
    Add {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        targets: TargetConfig,
        public_id: AppId,
        url: String,
        #[arg(long, default_value = "all", help = events_help())]
        events: String,
        #[arg(long)]
        include_payload: bool,
        #[arg(long, default_value_t = 6)]
        timeout_secs: i64,
        #[arg(long, default_value = "")]
        description: String,
        /// Send a facial ID's deliveries one at a time, in event order.
        #[arg(long)]
        ordered: bool,
        /// hmac (v1), ed25519 (v1a) or both.
        #[arg(long, default_value = "hmac")]
        signature: String,
        /// A header sent with every delivery, as 'Name: value' (repeatable, at most 10).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Delays before each attempt, like 0s,5s,5m,30m; or quick, persistent, default.
        #[arg(long)]
        retry_schedule: Option<String>,
        /// Deliveries per second at most.
        #[arg(long)]
        rate: Option<i64>,
    },
}

/// The `--events` help, listing the kinds from their one list.
fn events_help() -> String {
    format!(
        "Comma-separated: {} (default: all).",
        crate::model::app::EventKind::names()
    )
}
