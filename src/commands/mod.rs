//! The command line: each subcommand handed to the composition root (`serve`, `dispatch`) or
//! to a provisioning command. Imports point one way: `main` → `commands` → `startup`.

mod provision;

use crate::cli::{AppsCommand, Cli, Command, EndpointsCommand, TokensCommand};
use crate::startup::{self, StartupError};
use std::process::ExitCode;

pub async fn run_cli(cli: Cli) -> ExitCode {
    startup::init_tracing(cli.log_format);
    let outcome = match cli.command {
        Command::Serve(config) => startup::serve(config).await,
        Command::Dispatch(config) => startup::dispatch_only(config).await,
        Command::Migrate(database) => provision::migrate(&database.database_url).await,
        Command::CreateAccount {
            database,
            email,
            operator,
        } => provision::create_account(&database.database_url, &email, operator).await,
        Command::Apps(AppsCommand::Create {
            database,
            owner,
            org,
            name,
            plan,
        }) => {
            provision::create_app(&database.database_url, &owner, org.as_deref(), &name, &plan)
                .await
        }
        Command::Tokens(TokensCommand::Create {
            database,
            owner,
            org,
            name,
            role,
            expires_in_days,
        }) => {
            provision::create_token(
                &database.database_url,
                &owner,
                org.as_deref(),
                &name,
                &role,
                expires_in_days,
            )
            .await
        }
        Command::Endpoints(EndpointsCommand::Add {
            database,
            targets,
            public_id,
            url,
            events,
            include_payload,
            timeout_secs,
            description,
            ordered,
            signature,
            headers,
            retry_schedule,
            rate,
        }) => {
            let controls = endpoint_controls(ordered, &signature, &headers, retry_schedule, rate);
            let input = crate::model::app::EventKind::parse_list(&events).and_then(|events| {
                Ok(crate::server::apps::EndpointInput {
                    url,
                    description,
                    enabled: true,
                    events,
                    include_payload,
                    timeout_secs,
                    controls: Some(controls?),
                })
            });
            match input {
                Ok(input) => {
                    provision::add_endpoint(&database.database_url, &targets, &public_id, input)
                        .await
                }
                Err(err) => Err(StartupError::Command(err.to_string())),
            }
        }
        Command::SendTestMail { mail, to } => provision::send_test_mail(&mail, &to).await,
        Command::ResetLink {
            database,
            email,
            public_url,
        } => provision::reset_link(&database.database_url, &email, &public_url).await,
        Command::ResetTwoFactor { database, email } => {
            provision::reset_two_factor(&database.database_url, &email).await
        }
        Command::VerifyEmail { database, email } => {
            provision::verify_email(&database.database_url, &email).await
        }
        Command::SetPlan {
            database,
            public_id,
            plan,
        } => provision::set_plan(&database.database_url, &public_id, &plan).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("facehook: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The delivery controls `facehook endpoints add` was given, read with the console's rules.
fn endpoint_controls(
    ordered: bool,
    signature: &str,
    headers: &[String],
    retry_schedule: Option<String>,
    rate_per_sec: Option<i64>,
) -> Result<crate::model::controls::DeliveryControls, crate::model::AppError> {
    use crate::model::controls::{parse_header_line, DeliveryControls, SignatureScheme};
    Ok(DeliveryControls {
        ordered,
        signature_scheme: SignatureScheme::parse(signature)?,
        custom_headers: headers
            .iter()
            .map(|line| parse_header_line(line))
            .collect::<Result<_, _>>()?,
        retry_schedule,
        rate_per_sec,
    })
}
