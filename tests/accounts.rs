//! Accounts and sign-in through the real server, on SQLite and PostgreSQL.

mod common;

use common::{location, new_client, spawn_app, spawn_app_with, Backend};
use facehook::server::config::SignupPolicy;

const PASSWORD: &str = "correct horse battery";

async fn signup_signs_in_and_shows_the_account(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.sign_up("  Alice@Example.com ", PASSWORD).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );

    let page = app.get("/account").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("alice@example.com"),
        "normalised email shown: {body}"
    );
    assert!(
        body.contains("Operator"),
        "the first account is the operator"
    );

    app.call("sign_out", &[]).await;
    let second = app.sign_up("bob@example.com", PASSWORD).await;
    assert_eq!(second.status(), 200);
    let body = app.get("/account").await.text().await.unwrap();
    assert!(
        body.contains("bob@example.com") && body.contains("Account owner"),
        "{body}"
    );
}

async fn sign_up_does_not_reveal_who_has_an_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("alice@example.com", PASSWORD).await;

    let answer = |response: reqwest::Response| async move {
        let status = response.status();
        let location = location(&response);
        let sets_cookie = response.headers().contains_key("set-cookie");
        (
            status,
            location,
            sets_cookie,
            response.text().await.unwrap(),
        )
    };
    let taken = answer(
        app.call_with(
            &new_client(),
            "sign_up",
            &[
                ("email", "ALICE@example.com"),
                ("password", "someone else's guess"),
            ],
        )
        .await,
    )
    .await;
    let fresh = answer(
        app.call_with(
            &new_client(),
            "sign_up",
            &[
                ("email", "bob@example.com"),
                ("password", "someone else's guess"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(taken, fresh, "a taken email is answered like a new one");
    assert_eq!(taken.1, "/login");

    // Nothing changed for alice: her own password still signs her in, the guess does not.
    let guess = app
        .call_with(
            &new_client(),
            "sign_in",
            &[
                ("email", "alice@example.com"),
                ("password", "someone else's guess"),
            ],
        )
        .await;
    assert_eq!(guess.status(), 401);
    let own = app
        .call_with(
            &new_client(),
            "sign_in",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(own.status(), 200);
}

async fn bad_signup_input_names_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        ("not-an-email", PASSWORD, "email"),
        ("", PASSWORD, "email"),
        ("carol@example.com", "short", "password"),
    ];
    for (email, password, field) in cases {
        let response = app.sign_up(email, password).await;
        assert_eq!(response.status(), 422, "{email:?}/{password:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(&format!("\"field\":\"{field}\"")), "{body}");
    }
    let missing_field = app.call("sign_up", &[("email", "dave@example.com")]).await;
    assert!(
        missing_field.status().is_client_error(),
        "{}",
        missing_field.status()
    );
}

async fn wrong_password_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("alice@example.com", PASSWORD).await;
    let fresh = new_client();

    let wrong = app
        .call_with(
            &fresh,
            "sign_in",
            &[
                ("email", "alice@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("BadCredentials"));

    let unknown = app
        .call_with(
            &fresh,
            "sign_in",
            &[("email", "nobody@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        unknown.status(),
        401,
        "unknown emails look like wrong passwords"
    );

    let right = app
        .call_with(
            &fresh,
            "sign_in",
            &[("email", "Alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(right.status(), 200);
}

async fn five_failures_throttle_the_email(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("alice@example.com", PASSWORD).await;
    let attacker = new_client();
    for attempt in 1..=5 {
        let response = app
            .call_with(
                &attacker,
                "sign_in",
                &[("email", "alice@example.com"), ("password", "guess-guess")],
            )
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let blocked = app
        .call_with(
            &attacker,
            "sign_in",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(blocked.status(), 429, "even the right password waits");
    let body = blocked.text().await.unwrap();
    assert!(body.contains("\"retry_in_minutes\":15"), "{body}");

    let other = app
        .call_with(
            &attacker,
            "sign_in",
            &[
                ("email", "someone@example.com"),
                ("password", "guess-guess"),
            ],
        )
        .await;
    assert_eq!(
        other.status(),
        401,
        "other emails are not blocked by alice's failures"
    );
}

async fn twenty_failures_throttle_the_ip(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = new_client();
    for attempt in 0..20 {
        let email = format!("user{attempt}@example.com");
        let response = app
            .call_with(
                &client,
                "sign_in",
                &[("email", &email), ("password", "guess-guess")],
            )
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let blocked = app
        .call_with(
            &client,
            "sign_in",
            &[("email", "fresh@example.com"), ("password", "guess-guess")],
        )
        .await;
    assert_eq!(blocked.status(), 429);
}

async fn sign_out_invalidates_the_session_server_side(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("alice@example.com", PASSWORD).await;
    let response = app.sign_in("alice@example.com", PASSWORD).await;
    let cookie = session_cookie(&response).expect("sign-in sets the session cookie");

    let replay = |cookie: String| {
        let url = app.url("/account");
        async move {
            new_client()
                .get(url)
                .header("Cookie", format!("facehook_session={cookie}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        replay(cookie.clone()).await.status(),
        200,
        "the cookie works while signed in"
    );

    let out = app.call("sign_out", &[]).await;
    assert_eq!(out.status(), 200);
    let stale = replay(cookie).await;
    assert_eq!(
        stale.status(),
        303,
        "a copied cookie is useless after sign-out"
    );
    assert!(location(&stale).starts_with("/login"));
}

async fn session_cookie_is_http_only_lax_and_cycled_at_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.sign_up("alice@example.com", PASSWORD).await;
    let header = set_cookie(&response).expect("session cookie");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    assert!(!header.contains("Secure"), "plain http console: {header}");
    assert!(
        header.contains("Max-Age=604800"),
        "7-day inactivity expiry: {header}"
    );

    let first = session_cookie(&response).unwrap();
    let again = app.sign_in("alice@example.com", PASSWORD).await;
    let second = session_cookie(&again).expect("sign-in issues a new session id");
    assert_ne!(first, second);
}

async fn https_public_url_makes_the_cookie_secure(backend: Backend) {
    let app = spawn_app_with(backend, |config| {
        config.public_url = url::Url::parse("https://console.example.com").ok();
    })
    .await;
    let response = new_client()
        .post(app.url("/api/sign_up"))
        .header("Origin", "https://console.example.com")
        .form(&[("email", "alice@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response).unwrap().contains("Secure"));
}

async fn guarded_pages_redirect_to_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    for (path, next) in [
        ("/account", "%2Faccount"),
        ("/apps?tab=x", "%2Fapps%3Ftab%3Dx"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), format!("/login?next={next}"));
    }
    assert_eq!(app.get("/login").await.status(), 200);
    let missing = app.get("/no-such-page").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
}

async fn cross_site_posts_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let forged = new_client()
        .post(app.url("/api/sign_up"))
        .header("Origin", "https://evil.example")
        .form(&[("email", "alice@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let fetch_metadata = new_client()
        .post(app.url("/api/sign_up"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("email", "alice@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_metadata.status(), 403);

    // Nothing was created: that email and password sign nobody in.
    assert_eq!(
        app.sign_in("alice@example.com", PASSWORD).await.status(),
        401
    );
}

async fn plain_form_posts_redirect_with_or_without_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let ok = app
        .post_plain_form(
            "sign_up",
            "/signup",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(location(&ok), "/login");
    assert!(app
        .get("/login")
        .await
        .text()
        .await
        .unwrap()
        .contains("Your account is ready. Sign in to continue."));

    app.post_plain_form("sign_out", "/apps", &[]).await;
    let wrong = app
        .post_plain_form(
            "sign_in",
            "/login?next=%2Faccount",
            &[
                ("email", "alice@example.com"),
                ("password", "wrong-password"),
            ],
        )
        .await;
    // The error travels in the session, not the address (tests/forms.rs covers the input).
    assert_eq!(wrong.status(), 303);
    let back = location(&wrong);
    assert_eq!(back, "/login?next=%2Faccount");
    let page = app
        .client
        .get(app.url(&back))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Email or password is incorrect."),
        "the error is on the page"
    );

    let right = app
        .post_plain_form(
            "sign_in",
            "/login?next=%2Faccount",
            &[
                ("email", "alice@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(location(&right), "/account");
}

async fn change_password_checks_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("alice@example.com", PASSWORD).await;
    let new_password = "an even better passphrase";

    let wrong = app
        .call(
            "change_password",
            &[
                ("current_password", "nope-nope-nope"),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("\"field\":\"current_password\""));

    let mismatch = app
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", "something else"),
            ],
        )
        .await;
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("\"field\":\"confirm_password\""));

    let ok = app
        .call(
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);

    let fresh = new_client();
    let old = app
        .call_with(
            &fresh,
            "sign_in",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status(), 401);
    let new = app
        .call_with(
            &fresh,
            "sign_in",
            &[("email", "alice@example.com"), ("password", new_password)],
        )
        .await;
    assert_eq!(new.status(), 200);

    let signed_out = app
        .call_with(
            &new_client(),
            "change_password",
            &[
                ("current_password", new_password),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_out.status(), 401);
}

async fn closed_signup_refuses_new_accounts(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.signup = SignupPolicy::Closed).await;
    let response = app.sign_up("alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("SignupClosed"));
}

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}

on_both_backends!(
    signup_signs_in_and_shows_the_account,
    sign_up_does_not_reveal_who_has_an_account,
    bad_signup_input_names_the_field,
    wrong_password_is_refused,
    five_failures_throttle_the_email,
    twenty_failures_throttle_the_ip,
    sign_out_invalidates_the_session_server_side,
    session_cookie_is_http_only_lax_and_cycled_at_sign_in,
    https_public_url_makes_the_cookie_secure,
    guarded_pages_redirect_to_sign_in,
    cross_site_posts_are_refused,
    plain_form_posts_redirect_with_or_without_errors,
    change_password_checks_the_current_one,
    closed_signup_refuses_new_accounts,
    health_and_readiness,
);

fn set_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("facehook_session="))
        .map(str::to_owned)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    let header = set_cookie(response)?;
    let pair = header.split(';').next()?;
    pair.split_once('=').map(|(_, value)| value.to_owned())
}
