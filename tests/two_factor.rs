//! Two-factor sign-in on SQLite and PostgreSQL: enrolment with a code computed from the shown
//! secret, sign-in asking for a code, a code accepted once, single-use recovery codes,
//! throttling, turning it off, the operator's requirement and the CLI reset.

mod common;

use common::console::{email_of, error_field, json, owner, PASSWORD};
use common::{new_client, spawn_app, spawn_app_with, Backend, TestApp};
use serde_json::Value;
use totp_rs::{Algorithm, Secret, TOTP};

fn authenticator(secret: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        30,
        bytes,
        Some("Facehook".into()),
        "x".into(),
    )
    .unwrap()
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code an authenticator shows `steps` time steps from now.
fn code_at(totp: &TOTP, steps: i64) -> String {
    totp.generate(now_seconds().saturating_add_signed(steps * 30))
}

/// Enrols `client`'s account; returns the authenticator and the recovery codes shown once.
async fn enrol(app: &TestApp, client: &reqwest::Client) -> (TOTP, Vec<String>) {
    let begun = app.call_with(client, "begin_two_factor", &[]).await;
    assert_eq!(begun.status(), 200);
    let state = json(app.call_with(client, "two_factor", &[]).await).await;
    assert_eq!(state["enabled_at"], Value::Null);
    let secret = state["enrolment"]["secret"].as_str().unwrap().to_owned();
    let svg = state["enrolment"]["qr_svg"].as_str().unwrap();
    assert!(
        svg.contains("<svg"),
        "the QR code is an SVG drawn on the server"
    );
    let totp = authenticator(&secret);

    let confirm = |password: &'static str, code: String| async move {
        app.call_with(
            client,
            "confirm_two_factor",
            &[("password", password), ("code", &code)],
        )
        .await
    };
    let wrong = confirm(PASSWORD, "000000".into()).await;
    let (status, field, _) = error_field(wrong).await;
    assert_eq!((status, field.as_str()), (422, "code"));
    // A stolen session alone cannot tie the account to another phone.
    let no_password = confirm("not the password", code_at(&totp, 0)).await;
    assert_eq!(error_field(no_password).await.1, "password");
    let confirmed = confirm(PASSWORD, code_at(&totp, 0)).await;
    assert_eq!(confirmed.status(), 200);

    let codes = json(app.call_with(client, "take_recovery_codes", &[]).await).await;
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 10);
    let again = json(app.call_with(client, "take_recovery_codes", &[]).await).await;
    assert_eq!(
        again,
        serde_json::json!([]),
        "recovery codes are shown once"
    );
    (totp, codes)
}

/// Signs in with the password: a client whose sign-in now waits for its code.
async fn password_step(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let response = app
        .call_with(
            &client,
            "sign_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(common::location(&response), "/login/code");
    let pending = json(app.call_with(&client, "sign_in_code_pending", &[]).await).await;
    assert_eq!(pending, true);
    client
}

async fn code(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.call_with(client, "sign_in_code", &[("code", code)])
        .await
}

async fn codes_are_accepted_once_and_recovery_codes_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "careful@example.com";
    let client = owner(&app, email).await;
    let (totp, recovery) = enrol(&app, &client).await;

    // The password alone no longer signs in.
    let waiting = password_step(&app, email).await;
    assert_eq!(email_of(&app, &waiting).await, Value::Null);

    // The code that confirmed enrolment was accepted for its step already.
    let replayed = code(&app, &waiting, &code_at(&totp, 0)).await;
    let (status, field, _) = error_field(replayed).await;
    assert_eq!((status, field.as_str()), (422, "code"));

    // The next step's code (clocks drift) is accepted, once.
    let next = code_at(&totp, 1);
    let accepted = code(&app, &waiting, &next).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(common::location(&accepted), "/apps");
    assert_eq!(email_of(&app, &waiting).await, email);
    let other = password_step(&app, email).await;
    let (status, _, _) = error_field(code(&app, &other, &next).await).await;
    assert_eq!(
        status, 422,
        "a code is accepted once, even by another sign-in"
    );

    // A recovery code signs in once, typed in any case and spacing.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    assert_eq!(code(&app, &other, &typed).await.status(), 200);
    assert_eq!(email_of(&app, &other).await, email);
    let third = password_step(&app, email).await;
    let (status, _, _) = error_field(code(&app, &third, &recovery[0]).await).await;
    assert_eq!(status, 422, "a recovery code is spent");
    let state = json(app.call_with(&client, "two_factor", &[]).await).await;
    assert_eq!(state["recovery_codes_left"], 9);

    // Wrong codes are throttled like wrong passwords (5 per email in 15 minutes; the
    // spent recovery code above was the first).
    for attempt in 2..=5 {
        let (status, _, _) = error_field(code(&app, &third, "123456").await).await;
        assert_eq!(status, 422, "attempt {attempt}");
    }
    let throttled = code(&app, &third, &recovery[1]).await;
    assert_eq!(
        throttled.status(),
        429,
        "even a right code waits out the limit"
    );
}

/// Someone with the password cannot reset the code's limit by typing the password again.
async fn the_password_step_does_not_reset_the_code_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "guessed@example.com";
    let client = owner(&app, email).await;
    enrol(&app, &client).await;
    let first = password_step(&app, email).await;
    for _ in 0..4 {
        assert_eq!(code(&app, &first, "000001").await.status(), 422);
    }
    let second = password_step(&app, email).await;
    assert_eq!(code(&app, &second, "000002").await.status(), 422);
    let throttled = code(&app, &second, "000003").await;
    assert_eq!(
        throttled.status(),
        429,
        "five wrong codes in all, whatever came between"
    );
}

async fn turning_it_off_needs_the_password_and_a_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "off@example.com";
    let client = owner(&app, email).await;
    let (totp, recovery) = enrol(&app, &client).await;

    let wrong_password = app
        .call_with(
            &client,
            "disable_two_factor",
            &[("password", "not it"), ("code", &code_at(&totp, 1))],
        )
        .await;
    assert_eq!(error_field(wrong_password).await.1, "password");
    let wrong_code = app
        .call_with(
            &client,
            "disable_two_factor",
            &[("password", PASSWORD), ("code", "999999")],
        )
        .await;
    assert_eq!(error_field(wrong_code).await.1, "code");

    // New recovery codes replace the old ones.
    let renewed = app
        .call_with(
            &client,
            "regenerate_recovery_codes",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(renewed.status(), 200);
    let fresh: Vec<String> = serde_json::from_value(
        json(app.call_with(&client, "take_recovery_codes", &[]).await).await,
    )
    .unwrap();
    assert_eq!(fresh.len(), 10);
    let old_code = app
        .call_with(
            &client,
            "disable_two_factor",
            &[("password", PASSWORD), ("code", &recovery[0])],
        )
        .await;
    assert_eq!(
        error_field(old_code).await.1,
        "code",
        "old recovery codes stop working"
    );

    let off = app
        .call_with(
            &client,
            "disable_two_factor",
            &[("password", PASSWORD), ("code", &fresh[0])],
        )
        .await;
    assert_eq!(off.status(), 200);
    let signed_in = new_client();
    let response = app
        .call_with(
            &signed_in,
            "sign_in",
            &[("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(common::location(&response), "/apps");
}

async fn the_operator_can_require_it_and_reset_it(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.require_2fa = true).await;
    let email = "required@example.com";
    let client = new_client();
    let credentials = [("email", email), ("password", PASSWORD)];
    app.call_with(&client, "sign_up", &credentials).await;
    let signed_in = app.call_with(&client, "sign_in", &credentials).await;
    assert_eq!(common::location(&signed_in), "/account/two-factor");
    let refused = app.call_with(&client, "list_apps", &[]).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(json(refused).await, "TwoFactorRequired");

    let (_totp, _) = enrol(&app, &client).await;
    assert_eq!(app.call_with(&client, "list_apps", &[]).await.status(), 200);
    let keep = app
        .call_with(
            &client,
            "disable_two_factor",
            &[("password", PASSWORD), ("code", "000000")],
        )
        .await;
    assert_eq!(error_field(keep).await.1, "code", "it cannot be turned off");

    // Lost phone and codes: the operator turns it off from the command line.
    let reset = std::process::Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["reset-2fa", "--email", email])
        .env("DATABASE_URL", &app.database.url)
        .output()
        .expect("run facehook reset-2fa");
    assert!(reset.status.success(), "{reset:?}");
    let state = json(app.call_with(&client, "two_factor", &[]).await).await;
    assert_eq!(state["enabled_at"], Value::Null);
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["reset-2fa", "--email", "nobody@example.com"])
        .env("DATABASE_URL", &app.database.url)
        .output()
        .expect("run facehook reset-2fa");
    assert!(!unknown.status.success());
}

on_both_backends!(
    codes_are_accepted_once_and_recovery_codes_once,
    the_password_step_does_not_reset_the_code_limit,
    turning_it_off_needs_the_password_and_a_code,
    the_operator_can_require_it_and_reset_it,
);
