//! An account's sessions and its email, on SQLite and PostgreSQL: sessions are listed with the
//! current one marked, another can be revoked (and is signed out at once), someone else's is
//! not found; a password change ends the others. Email verification through a real SMTP
//! server (aiosmtpd): required before creating applications, resend throttled, an email change
//! re-verifies and tells the old address; a sign-in from a new address is mailed about.

mod common;

use common::console::{create_app, email_of, error_field, json, owner, PASSWORD};
use common::smtp::SmtpServer;
use common::{new_client, spawn_app, spawn_app_with, Backend, TestApp};
use serde_json::Value;
use std::time::Duration;

async fn sessions(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    let list = json(app.call_with(client, "sessions", &[]).await).await;
    list["sessions"].as_array().unwrap().clone()
}

async fn signed_in_as(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let response = app
        .call_with(
            &client,
            "sign_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    client
}

/// The id of `client`'s own session in its session list.
async fn current_session_id(app: &TestApp, client: &reqwest::Client) -> String {
    sessions(app, client)
        .await
        .into_iter()
        .find(|s| s["current"] == true)
        .expect("the current session is listed")["id"]
        .as_str()
        .expect("a session id")
        .to_owned()
}

async fn another_session_is_revoked_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "many@example.com";
    let laptop = owner(&app, email).await;
    let phone = signed_in_as(&app, email).await;
    let tablet = signed_in_as(&app, email).await;

    let listed = sessions(&app, &laptop).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(listed.iter().all(|s| s["ip"] == "127.0.0.1"));
    let phone_id = current_session_id(&app, &phone).await;
    let laptop_id = current_session_id(&app, &laptop).await;

    // Someone else's session is not found; one's own current session is signed out instead.
    let stranger = owner(&app, "stranger@example.com").await;
    let theirs = app
        .call_with(&stranger, "revoke_session", &[("session_id", &phone_id)])
        .await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(email_of(&app, &phone).await, email);
    let own = app
        .call_with(&laptop, "revoke_session", &[("session_id", &laptop_id)])
        .await;
    assert_eq!(error_field(own).await.1, "session_id");

    let revoked = app
        .call_with(&laptop, "revoke_session", &[("session_id", &phone_id)])
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        email_of(&app, &phone).await,
        Value::Null,
        "signed out at once"
    );
    let page = phone.get(app.url("/apps")).send().await.unwrap();
    assert!(
        common::location(&page).starts_with("/login?next="),
        "console pages send a revoked session to sign in"
    );
    assert_eq!(sessions(&app, &laptop).await.len(), 2);

    let others = app.call_with(&laptop, "sign_out_other_sessions", &[]).await;
    assert_eq!(others.status(), 200);
    assert_eq!(email_of(&app, &tablet).await, Value::Null);
    assert_eq!(email_of(&app, &laptop).await, email);
    assert_eq!(sessions(&app, &laptop).await.len(), 1);

    // Signing out removes the session from the list; a password change ends the others.
    let again = signed_in_as(&app, email).await;
    assert_eq!(sessions(&app, &laptop).await.len(), 2);
    app.call_with(&again, "sign_out", &[]).await;
    assert_eq!(sessions(&app, &laptop).await.len(), 1);
    let kept = signed_in_as(&app, email).await;
    let changed = app
        .call_with(
            &laptop,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(email_of(&app, &kept).await, Value::Null);
    assert_eq!(email_of(&app, &laptop).await, email);
    assert_eq!(sessions(&app, &laptop).await.len(), 1);
}

async fn mailing_app(backend: Backend, server: &SmtpServer) -> TestApp {
    let url = server.url();
    spawn_app_with(backend, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.mail_from = Some("Facehook <facehook@example.com>".into());
    })
    .await
}

fn link_token(mail: &str, path: &str) -> String {
    let start = mail.find(path).expect("a link") + path.len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

fn with_subject<'a>(mails: &'a [String], subject: &str) -> Vec<&'a String> {
    mails
        .iter()
        .filter(|m| m.contains(&format!("Subject: {subject}")))
        .collect()
}

async fn applications_wait_for_a_confirmed_email(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    let client = owner(&app, "new@example.com").await;
    let me = json(app.call_with(&client, "whoami", &[]).await).await;
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["must_verify_email"], true);
    let refused = app
        .call_with(&client, "create_app", &[("name", "Kiosk")])
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(json(refused).await, "EmailUnverified");

    let mails = server.wait_for(1, Duration::from_secs(15)).await;
    let welcome = with_subject(&mails, "Confirm your email for Facehook");
    assert_eq!(welcome.len(), 1);
    assert!(welcome[0].contains("To: new@example.com"));
    let token = link_token(welcome[0], "/verify-email?token=");

    // Resending is throttled: three an hour.
    for _ in 0..3 {
        let resent = app.call_with(&client, "resend_verification", &[]).await;
        assert_eq!(resent.status(), 200);
    }
    let throttled = app.call_with(&client, "resend_verification", &[]).await;
    assert_eq!(throttled.status(), 429);

    // The link confirms the address, once; it works without a session.
    let stranger = new_client();
    let bogus = app
        .call_with(&stranger, "verify_email", &[("token", "fhv_nothing")])
        .await;
    assert_eq!(error_field(bogus).await.1, "token");
    let confirmed = app
        .call_with(&stranger, "verify_email", &[("token", &token)])
        .await;
    assert_eq!(confirmed.status(), 200);
    let spent = app
        .call_with(&stranger, "verify_email", &[("token", &token)])
        .await;
    assert_eq!(error_field(spent).await.0, 422);
    create_app(&app, &client, "Kiosk").await;

    // A new email must be confirmed again; the old address is told, and an old link for the
    // old address confirms nothing.
    let old_link = server.wait_for(4, Duration::from_secs(15)).await;
    let stale = link_token(
        with_subject(&old_link, "Confirm your email for Facehook")
            .last()
            .unwrap(),
        "/verify-email?token=",
    );
    let elsewhere = signed_in_as(&app, "new@example.com").await;
    let taken = app
        .call_with(
            &client,
            "change_email",
            &[("email", "stranger@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(taken.status(), 200, "an unused address is fine");
    assert_eq!(
        email_of(&app, &elsewhere).await,
        Value::Null,
        "an email change ends the other sessions"
    );
    let other = owner(&app, "other@example.com").await;
    let clash = app
        .call_with(
            &other,
            "change_email",
            &[("email", "stranger@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(error_field(clash).await.1, "email");
    let wrong_password = app
        .call_with(
            &client,
            "change_email",
            &[("email", "renamed@example.com"), ("password", "nope")],
        )
        .await;
    assert_eq!(error_field(wrong_password).await.1, "password");
    let me = json(app.call_with(&client, "whoami", &[]).await).await;
    assert_eq!(me["email"], "stranger@example.com");
    assert_eq!(me["email_verified"], false);
    let stale_use = app
        .call_with(&stranger, "verify_email", &[("token", &stale)])
        .await;
    assert_eq!(error_field(stale_use).await.1, "token");
    let mails = server.wait_for(7, Duration::from_secs(15)).await;
    let notice = with_subject(&mails, "Your Facehook email was changed");
    assert_eq!(notice.len(), 1);
    assert!(notice[0].contains("To: new@example.com"));
    assert!(notice[0].contains("stranger@example.com"));
    assert!(with_subject(&mails, "Confirm your email for Facehook")
        .iter()
        .any(|m| m.contains("To: stranger@example.com")));
}

async fn a_sign_in_from_a_new_address_is_mailed(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = mailing_app(backend, &server).await;
    owner(&app, "watchful@example.com").await;
    signed_in_as(&app, "watchful@example.com").await;
    // Linux routes all of 127/8 to loopback: this client comes from another address.
    let elsewhere = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
        .build()
        .unwrap();
    let response = app
        .call_with(
            &elsewhere,
            "sign_in",
            &[("email", "watchful@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let mails = server.wait_for(2, Duration::from_secs(15)).await;
    let alerts = with_subject(&mails, "New sign-in to your Facehook account");
    assert_eq!(alerts.len(), 1, "only the new address is mailed about");
    assert!(alerts[0].contains("127.0.0.2"));
    assert!(alerts[0].contains("Firefox on Linux"));
}

on_both_backends!(
    another_session_is_revoked_at_once,
    applications_wait_for_a_confirmed_email,
    a_sign_in_from_a_new_address_is_mailed,
);
