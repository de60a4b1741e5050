//! A forgotten password through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL: the
//! link is mailed, works once and for 30 minutes, signs out every session, and asking reveals
//! nothing about which emails have accounts; without SMTP the operator prints the link.

mod common;

use common::console::{error_field, json, owner, PASSWORD};
use common::smtp::SmtpServer;
use common::{new_client, spawn_app, spawn_app_with, Backend, TestApp};
use std::time::Duration;

const FROM: &str = "Facehook <facehook@example.com>";
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn mailing_app(backend: Backend, server: &SmtpServer) -> TestApp {
    let url = server.url();
    spawn_app_with(backend, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.mail_from = Some(FROM.into());
    })
    .await
}

/// The token in the last mail's reset link.
fn reset_token(mail: &str) -> String {
    let start = mail.find("/reset-password?token=").expect("a reset link") + 22;
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// "Set new password" with `token`, the password typed twice.
async fn reset(app: &TestApp, token: &str, password: &str, again: &str) -> reqwest::Response {
    app.call_with(
        &new_client(),
        "reset_password",
        &[
            ("token", token),
            ("password", password),
            ("confirm_password", again),
        ],
    )
    .await
}

async fn whoami(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    json(app.call_with(client, "whoami", &[]).await).await
}

async fn a_mailed_link_works_once_and_signs_out_everywhere(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    let signed_in = owner(&app, "forgetful@example.com").await;
    assert_eq!(
        whoami(&app, &signed_in).await["email"],
        "forgetful@example.com"
    );

    // Asking answers the same for an account and for nobody.
    let stranger = new_client();
    let ask = |email: &'static str| {
        let app = &app;
        let stranger = &stranger;
        async move {
            let response = app
                .call_with(stranger, "request_password_reset", &[("email", email)])
                .await;
            let status = response.status();
            let location = common::location(&response);
            (status, location, response.text().await.unwrap())
        }
    };
    let known = ask("forgetful@example.com").await;
    let unknown = ask("nobody-here@example.com").await;
    assert_eq!(known, unknown);
    assert_eq!(known.0, 200);

    // Once the outbox is empty every queued mail has been taken: only the owner got one.
    let store = app.database.store().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while store.mail_backlog().await.unwrap() != (0, 0) {
        assert!(std::time::Instant::now() < deadline, "the outbox drains");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Signing up mailed a verification link; each request, one more mail with one subject:
    // a link for the owner, a "no account uses this email" for the stranger's address.
    let mails = server.wait_for(3, Duration::from_secs(15)).await;
    let resets: Vec<&String> = mails
        .iter()
        .filter(|m| m.contains("Subject: Reset your Facehook password"))
        .collect();
    assert_eq!(resets.len(), 2);
    let to_nobody = resets
        .iter()
        .find(|m| m.contains("To: nobody-here@example.com"))
        .expect("the address without an account is told so");
    assert!(to_nobody.contains("no account uses it"));
    assert!(!to_nobody.contains("reset-password?token="));
    let mail = resets
        .iter()
        .find(|m| m.contains("To: forgetful@example.com"))
        .expect("the owner gets the link");
    assert!(mail.contains("To: forgetful@example.com"), "{mail}");
    assert!(mail.contains("Subject: Reset your Facehook password"));
    assert!(mail.contains(&format!("{}/reset-password?token=fhr_", app.address)));
    let token = reset_token(mail);

    let usable = json(
        app.call_with(&stranger, "reset_link_usable", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!(usable, true);
    let differ = reset(&app, &token, NEW_PASSWORD, "else").await;
    assert_eq!(error_field(differ).await.1, "confirm_password");
    let done = reset(&app, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert_eq!(common::location(&done), "/login");

    // Every session is over; the new password works, the old one does not.
    assert_eq!(whoami(&app, &signed_in).await, serde_json::Value::Null);
    let old = app.sign_in("forgetful@example.com", PASSWORD).await;
    assert_eq!(old.status(), 401);
    let new = app.sign_in("forgetful@example.com", NEW_PASSWORD).await;
    assert_eq!(new.status(), 200);

    // The link is spent, and a "password changed" mail follows.
    let again = reset(
        &app,
        &token,
        "yet another passphrase",
        "yet another passphrase",
    )
    .await;
    let (status, field, _) = error_field(again).await;
    assert_eq!((status, field.as_str()), (422, "token"));
    let mails = server.wait_for(4, Duration::from_secs(15)).await;
    assert!(mails
        .iter()
        .any(|m| m.contains("Subject: Your Facehook password was changed")));
}

async fn an_expired_or_unknown_link_is_refused(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    owner(&app, "late@example.com").await;
    let store = app.database.store().await;
    let token = "fhr_expiredexpiredexpiredexpiredexpiredexpir";
    store
        .create_password_reset_for_email(
            "late@example.com",
            &facehook::server::secrets::hash_api_key(token),
            facehook::server::clock::now_ms() - 1,
        )
        .await
        .unwrap();
    let client = new_client();
    for token in [token, "fhr_nothing", ""] {
        let usable = json(
            app.call_with(&client, "reset_link_usable", &[("token", token)])
                .await,
        )
        .await;
        assert_eq!(usable, false);
        let refused = reset(&app, token, NEW_PASSWORD, NEW_PASSWORD).await;
        let (status, field, _) = error_field(refused).await;
        assert_eq!((status, field.as_str()), (422, "token"), "{token:?}");
    }
}

async fn asking_is_throttled_per_email_and_per_ip(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    let client = new_client();
    let ask = |email: String| {
        let (app, client) = (&app, &client);
        async move {
            app.call_with(client, "request_password_reset", &[("email", &email)])
                .await
                .status()
        }
    };
    for _ in 0..3 {
        assert_eq!(ask("target@example.com".into()).await, 200);
    }
    assert_eq!(
        ask("target@example.com".into()).await,
        429,
        "4th for one email"
    );
    // Other emails from the same address, up to the address's own limit of 10.
    for n in 0..6 {
        assert_eq!(ask(format!("other{n}@example.com")).await, 200);
    }
    assert_eq!(
        ask("one-more@example.com".into()).await,
        429,
        "11th from one address"
    );
    let bad = app
        .call_with(
            &new_client(),
            "request_password_reset",
            &[("email", "not an email")],
        )
        .await;
    assert_eq!(error_field(bad).await.1, "email");
}

async fn without_smtp_the_operator_prints_the_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_in = owner(&app, "no-mail@example.com").await;
    let refused = app
        .call_with(
            &new_client(),
            "request_password_reset",
            &[("email", "no-mail@example.com")],
        )
        .await;
    let (status, field, message) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "email"));
    assert!(message.contains("facehook reset-link"), "{message}");

    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args([
            "reset-link",
            "--email",
            "no-mail@example.com",
            "--public-url",
            &app.address,
        ])
        .env("DATABASE_URL", &app.database.url)
        .output()
        .expect("run facehook reset-link");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let link = String::from_utf8(printed.stdout).unwrap();
    let token = reset_token(&link);
    assert!(link.starts_with(&format!("{}/reset-password?token=fhr_", app.address)));
    let reset = reset(&app, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        reset.status(),
        200,
        "{}",
        reset.text().await.unwrap_or_default()
    );
    assert_eq!(whoami(&app, &signed_in).await, serde_json::Value::Null);

    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["reset-link", "--email", "nobody@example.com"])
        .env("DATABASE_URL", &app.database.url)
        .output()
        .expect("run facehook reset-link");
    assert!(!unknown.status.success());
}

async fn changing_the_password_tells_the_owner_by_mail(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    let client = owner(&app, "careful@example.com").await;
    let changed = app
        .call_with(
            &client,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    let mails = server.wait_for(2, Duration::from_secs(15)).await;
    let notice = mails
        .iter()
        .find(|m| m.contains("Subject: Your Facehook password was changed"))
        .expect("a password-changed mail");
    assert!(notice.contains("To: careful@example.com"));
}

/// Two browsers racing with one link: exactly one sets the password.
async fn one_link_sets_one_password_however_many_race(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    owner(&app, "racer@example.com").await;
    let store = app.database.store().await;
    let reset = store
        .create_password_reset_for_email(
            "racer@example.com",
            &facehook::server::secrets::hash_api_key(
                "fhr_racingracingracingracingracingracingracin",
            ),
            facehook::server::clock::now_ms() + 60_000,
        )
        .await
        .unwrap();
    assert!(reset.is_some());
    let token = "fhr_racingracingracingracingracingracingracin";
    let passwords = ["first racing passphrase", "second racing passphrase"];
    let (a, b) = tokio::join!(
        reset_with(&app, token, passwords[0]),
        reset_with(&app, token, passwords[1]),
    );
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 422],
        "one wins, the other is told the link is spent"
    );
    let signed_in = [
        app.sign_in("racer@example.com", passwords[0])
            .await
            .status(),
        app.sign_in("racer@example.com", passwords[1])
            .await
            .status(),
    ];
    assert_eq!(
        signed_in.iter().filter(|s| s.as_u16() == 200).count(),
        1,
        "exactly one of the passwords was set"
    );
}

async fn reset_with(app: &TestApp, token: &str, password: &str) -> u16 {
    reset(app, token, password, password)
        .await
        .status()
        .as_u16()
}

on_both_backends!(
    one_link_sets_one_password_however_many_race,
    changing_the_password_tells_the_owner_by_mail,
    a_mailed_link_works_once_and_signs_out_everywhere,
    an_expired_or_unknown_link_is_refused,
    asking_is_throttled_per_email_and_per_ip,
    without_smtp_the_operator_prints_the_link,
);
