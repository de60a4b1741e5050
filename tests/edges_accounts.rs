//! Accounts under attack: concurrent guesses are counted before they are checked, sign-up is
//! throttled per IP, and a password change ends every other session.

mod common;

use common::console::{json, owner, PASSWORD};
use common::{new_client, spawn_app, Backend};
use tokio::task::JoinSet;

async fn concurrent_guesses_are_counted_before_they_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    owner(&app, "alice@example.com").await;
    let url = app.url("/api/sign_in");
    let mut guesses = JoinSet::new();
    for n in 0..300 {
        let (url, origin) = (url.clone(), app.address.clone());
        // One of the 300 is the right password: it must not get through either.
        let password = if n == 150 {
            PASSWORD.to_owned()
        } else {
            format!("guess {n}")
        };
        guesses.spawn(async move {
            new_client()
                .post(url)
                .header("Origin", origin)
                .form(&[("email", "alice@example.com"), ("password", &password)])
                .send()
                .await
                .expect("sign-in answers")
                .status()
                .as_u16()
        });
    }
    let mut checked = 0;
    while let Some(status) = guesses.join_next().await {
        match status.expect("the guess task") {
            429 => {}
            200 | 401 => checked += 1,
            other => panic!("a guess was answered {other}"),
        }
    }
    assert!(
        checked <= 5,
        "{checked} guesses were checked; the allowance is 5"
    );
}

async fn sign_up_is_throttled_per_ip(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..10 {
        let response = app
            .call_with(
                &new_client(),
                "sign_up",
                &[
                    ("email", &format!("user{n}@example.com")),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "sign-up {n}");
    }
    let refused = app
        .call_with(
            &new_client(),
            "sign_up",
            &[("email", "user10@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}

async fn a_password_change_ends_every_other_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = owner(&app, "alice@example.com").await;
    let phone = new_client();
    let signed_in = app
        .call_with(
            &phone,
            "sign_in",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status(), 200);
    assert!(json(app.call_with(&phone, "whoami", &[]).await)
        .await
        .is_object());

    let changed = app
        .call_with(
            &laptop,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
                ("confirm_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);

    assert!(
        json(app.call_with(&phone, "whoami", &[]).await)
            .await
            .is_null(),
        "the other session is over"
    );
    let me = json(app.call_with(&laptop, "whoami", &[]).await).await;
    assert_eq!(
        me["email"], "alice@example.com",
        "the changing session stays"
    );
}

on_both_backends!(
    concurrent_guesses_are_counted_before_they_are_checked,
    sign_up_is_throttled_per_ip,
    a_password_change_ends_every_other_session,
);
