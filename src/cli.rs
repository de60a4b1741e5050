//! The command line: `serve`, `migrate`, `create-account`. Every option is also a `FACEHOOK_*`
//! (or `DATABASE_URL`) environment variable. Parsing only; `startup` runs the commands.

use crate::server::config::{DatabaseConfig, LogFormat, ServeConfig};
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
}
