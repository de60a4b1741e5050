//! The one-shot operator commands (`migrate`, `create-account`, `apps`, `endpoints`,
//! `set-plan`): each opens the database, calls a server service, prints, and exits.

use crate::model::ids::{AppId, OrgId};

use crate::model::app::Plan;
use crate::model::org::Role;
use crate::model::AppError;
use crate::server::apps::{Apps, EndpointInput};
use crate::server::auth::{AccountMail, AccountPolicy, Auth, ThrottlePolicy};
use crate::server::config::{SignupPolicy, TargetConfig};
use crate::server::orgs::{Actor, Member, Orgs};
use crate::server::store::Store;
use crate::startup::StartupError;
use std::io::{IsTerminal, Read};

pub async fn migrate(database_url: &str) -> Result<(), StartupError> {
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    store.close().await;
    eprintln!("facehook: migrations applied ({})", store.backend_name());
    Ok(())
}

pub async fn create_account(
    database_url: &str,
    email: &str,
    operator: bool,
) -> Result<(), StartupError> {
    let password = read_password().map_err(StartupError::Command)?;
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    let auth = operator_auth(&store);
    let created = auth.create_account(email, password, operator).await;
    store.close().await;
    let account = created.map_err(|e| StartupError::Command(e.to_string()))?;
    let role = if account.is_operator {
        "operator"
    } else {
        "user"
    };
    println!("created {role} account {} ({})", account.email, account.id);
    Ok(())
}

/// Auth as the operator's commands use it: no policy applies, and no mail is queued (the
/// command cannot know whether the server sends mail).
fn operator_auth(store: &Store) -> Auth {
    Auth::new(
        store.clone(),
        SignupPolicy::Open,
        ThrottlePolicy::default(),
        AccountMail::new(store.clone(), None),
        AccountPolicy::default(),
    )
}

/// Turns two-factor sign-in off for the account with `email`.
pub async fn reset_two_factor(database_url: &str, email: &str) -> Result<(), StartupError> {
    with_store(database_url, async |store| {
        if operator_auth(store).reset_two_factor(email).await? {
            Ok(())
        } else {
            Err(no_such_account(email))
        }
    })
    .await?;
    eprintln!("facehook: two-factor sign-in is off for {email}; they sign in with the password alone and can set it up again from their account page");
    Ok(())
}

/// Marks the email of the account with `email` as confirmed.
pub async fn verify_email(database_url: &str, email: &str) -> Result<(), StartupError> {
    with_store(database_url, async |store| {
        if operator_auth(store).verify_email_by_operator(email).await? {
            Ok(())
        } else {
            Err(no_such_account(email))
        }
    })
    .await?;
    eprintln!("facehook: the email {email} is confirmed");
    Ok(())
}

/// Where audit entries say a command-line action came from.
const COMMAND_LINE: &str = "command line";

fn command_orgs(store: &Store) -> Orgs {
    Orgs::new(
        store.clone(),
        AccountMail::new(store.clone(), None),
        String::new(),
    )
}

fn no_such_account(email: &str) -> AppError {
    AppError::invalid("email", format!("No account has the email {email}."))
}

/// Opens the database for a one-shot command, runs `work`, and closes it again.
async fn with_store<T>(
    database_url: &str,
    work: impl AsyncFnOnce(&Store) -> Result<T, AppError>,
) -> Result<T, StartupError> {
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    let outcome = work(&store).await;
    store.close().await;
    outcome.map_err(|e| StartupError::Command(e.to_string()))
}

/// The account `owner` (an email) acting from the command line in organization `org`
/// (default: its oldest), with the role it holds there.
async fn command_member(
    store: &Store,
    owner: &str,
    org: Option<&str>,
) -> Result<crate::server::orgs::Member, AppError> {
    let email = crate::model::EmailAddress::parse(owner)?;
    let owner = store
        .account_by_email(email.as_str())
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "owner",
                format!("No account has the email {}.", email.as_str()),
            )
        })?;
    let actor = Actor::account(owner.id, owner.email, COMMAND_LINE.to_owned());
    let orgs = command_orgs(store);
    match org {
        Some(org_id) => orgs.member(actor, &OrgId::from(org_id)).await,
        None => orgs.current(actor, None).await,
    }
}

/// Makes an organization API token as the account `owner` would on the settings page, and
/// prints it: the one time it is shown.
pub async fn create_token(
    database_url: &str,
    owner: &str,
    org: Option<&str>,
    name: &str,
    role: &str,
    expires_in_days: Option<u32>,
) -> Result<(), StartupError> {
    let issued = with_store(database_url, async |store| {
        let member = command_member(store, owner, org).await?;
        command_orgs(store)
            .create_token(&member, name, role, expires_in_days)
            .await
    })
    .await?;
    println!(
        "{}",
        serde_json::json!({
            "token": issued.token,
            "id": issued.view.id,
            "name": issued.view.name,
            "role": issued.view.role.as_str(),
            "expiresAt": issued.view.expires_at_ms.map(crate::server::clock::rfc3339),
        })
    );
    Ok(())
}

pub async fn create_app(
    database_url: &str,
    owner: &str,
    org: Option<&str>,
    name: &str,
    plan: &str,
) -> Result<(), StartupError> {
    let plan = Plan::parse(plan).map_err(|e| StartupError::Command(e.to_string()))?;
    let issued = with_store(database_url, async |store| {
        let member = command_member(store, owner, org).await?;
        Apps::new(store.clone(), Default::default())
            .create(&member, name, plan)
            .await
    })
    .await?;
    println!(
        "{}",
        serde_json::json!({ "publicId": issued.public_id, "apiKey": issued.api_key })
    );
    Ok(())
}

pub async fn add_endpoint(
    database_url: &str,
    targets: &TargetConfig,
    public_id: &AppId,
    input: EndpointInput,
) -> Result<(), StartupError> {
    let (endpoint, token, secret) = with_store(database_url, async |store| {
        let app = store
            .app_by_id(public_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let apps = Apps::new(store.clone(), targets.allow_list());
        // Whoever runs this command holds the database; it acts as the operator, who may.
        let operator = Member {
            actor: Actor::operator(COMMAND_LINE),
            org_id: app.org_id.clone(),
            org_name: String::new(),
            role: Role::Owner,
        };
        let (endpoint, secret) = apps.add_endpoint(&operator, &app.id, input).await?;
        Ok((endpoint, app.webhook_token, secret))
    })
    .await?;
    let mut reply = serde_json::json!({
        "endpointId": endpoint.id, "webhookToken": token, "signingSecret": secret
    });
    if let Some(public_key) = endpoint.public_key {
        reply["publicKey"] = public_key.into();
    }
    println!("{reply}");
    Ok(())
}

pub async fn set_plan(
    database_url: &str,
    public_id: &AppId,
    plan: &str,
) -> Result<(), StartupError> {
    let plan = Plan::parse(plan).map_err(|e| StartupError::Command(e.to_string()))?;
    with_store(database_url, async |store| {
        Apps::new(store.clone(), Default::default())
            .set_plan(&Actor::operator(COMMAND_LINE), public_id, plan)
            .await
    })
    .await?;
    eprintln!("facehook: {public_id} is now on the {} plan", plan.as_str());
    Ok(())
}

/// Prints a one-time reset link for the account with `email`; an unknown email is an error
/// here (the operator is asking, not a stranger).
pub async fn reset_link(
    database_url: &str,
    email: &str,
    public_url: &url::Url,
) -> Result<(), StartupError> {
    let reset = with_store(database_url, async |store| {
        operator_auth(store)
            .reset_token_for(email)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "email",
                    format!("No enabled account has the email {email}."),
                )
            })
    })
    .await?;
    println!(
        "{}/reset-password?token={}",
        public_url.as_str().trim_end_matches('/'),
        reset.token
    );
    eprintln!("facehook: the link works once, for 30 minutes");
    Ok(())
}

/// Sends one mail now, not through the outbox, so the operator sees at once whether the
/// settings work and, if not, what the server said.
pub async fn send_test_mail(
    mail: &crate::server::config::MailConfig,
    to: &str,
) -> Result<(), StartupError> {
    use crate::server::mail::Mailer;
    let settings = mail
        .settings()
        .map_err(StartupError::Command)?
        .ok_or_else(|| {
            StartupError::Command(
                "mail is not configured: set FACEHOOK_SMTP_URL and FACEHOOK_MAIL_FROM".into(),
            )
        })?;
    let mailer = Mailer::new(&settings).map_err(StartupError::Command)?;
    let server = settings.smtp_url.redacted();
    mailer
        .send(
            to,
            "Facehook test mail",
            &format!("This is a test mail from Facehook, sent through {server}. Mail works."),
            &format!("<p>This is a test mail from Facehook, sent through <code>{server}</code>. Mail works.</p>"),
        )
        .await
        .map_err(|e| StartupError::Command(format!("{server} did not take the mail: {e}")))?;
    eprintln!("facehook: {server} took the test mail for {to}");
    Ok(())
}

/// The password comes from a prompt on a terminal, otherwise from the first line of stdin,
/// so scripts can pipe it without it appearing in the process list.
fn read_password() -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Repeat password: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = input.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        return Err("no password on stdin (pipe it in, e.g. `echo \"$PW\" | facehook create-account --email …`)".into());
    }
    Ok(password)
}
