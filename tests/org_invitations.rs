//! Invitations on SQLite and PostgreSQL, mailed through a real SMTP server (aiosmtpd): used
//! once, resent (the old link dies), revoked, expired; bad addresses and roles named.

mod common;

use common::console::{json, owner};
use common::orgs::{current_org, invitation_token};
use common::smtp::SmtpServer;
use common::{spawn_app_with, Backend};

const JOIN: &str = "Join Acme on Facehook";

async fn invitations_are_mailed_used_once_resent_and_revoked(backend: Backend) {
    let server = SmtpServer::start().await;
    let url = server.url();
    let app = spawn_app_with(backend, move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.mail_from = Some("Facehook <facehook@example.com>".into());
        config.require_verified_email = Some(false);
    })
    .await;
    let alice = owner(&app, "alice@example.com").await;
    let org_id = current_org(&app, &alice).await;
    let renamed = app
        .call_with(
            &alice,
            "rename_org",
            &[("org_id", &org_id), ("name", "Acme")],
        )
        .await;
    assert_eq!(renamed.status(), 200);

    let invite = |email: &'static str| {
        let (app, alice, org_id) = (&app, &alice, &org_id);
        async move {
            app.call_with(
                alice,
                "invite_member",
                &[("org_id", org_id), ("email", email), ("role", "developer")],
            )
            .await
        }
    };
    // With mail, the link goes by mail only.
    assert_eq!(
        json(invite("bob@example.com").await).await,
        serde_json::Value::Null
    );
    let mails = server.wait_for_mails_to("bob@example.com", JOIN, 1).await;
    let mail = &mails[0];
    assert!(
        mail.contains("alice@example.com invited you to join Acme on Facehook as Developer"),
        "{mail}"
    );
    let first_token = invitation_token(mail);

    // A resend mails a new link; the first stops working.
    let pending = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let invitation_id = pending["invitations"][0]["id"].as_str().unwrap().to_owned();
    let resent = app
        .call_with(
            &alice,
            "resend_invitation",
            &[("org_id", &org_id), ("invitation_id", &invitation_id)],
        )
        .await;
    assert_eq!(resent.status(), 200);
    let mails = server.wait_for_mails_to("bob@example.com", JOIN, 2).await;
    let second_token = mails
        .iter()
        .map(|m| invitation_token(m))
        .find(|t| *t != first_token)
        .expect("a second link");
    let bob = owner(&app, "bob@example.com").await;
    let stale = app
        .call_with(&bob, "accept_invitation", &[("token", &first_token)])
        .await;
    assert_eq!(stale.status(), 422);
    let preview = json(
        app.call_with(&bob, "invitation_details", &[("token", &second_token)])
            .await,
    )
    .await;
    assert_eq!(preview["org_name"], "Acme");
    assert_eq!(preview["role"], "developer");
    let accepted = app
        .call_with(&bob, "accept_invitation", &[("token", &second_token)])
        .await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(
        current_org(&app, &bob).await,
        org_id,
        "joining opens the organization"
    );
    // Used once.
    let again = app
        .call_with(&bob, "accept_invitation", &[("token", &second_token)])
        .await;
    assert_eq!(again.status(), 422);
    let members = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let roles: Vec<_> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert!(roles.contains(&("bob@example.com".into(), "developer".into())));

    // A member is not invited again; a bad address names its field.
    let twice = invite("bob@example.com").await;
    assert_eq!(twice.status(), 409);
    let bad = app
        .call_with(
            &alice,
            "invite_member",
            &[
                ("org_id", &org_id),
                ("email", "not an email"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("\"field\":\"email\""));
    let bad_role = app
        .call_with(
            &alice,
            "invite_member",
            &[
                ("org_id", &org_id),
                ("email", "x@example.com"),
                ("role", "root"),
            ],
        )
        .await;
    assert!(bad_role
        .text()
        .await
        .unwrap()
        .contains("\"field\":\"role\""));

    // Revoked: the link stops working.
    invite("carol@example.com").await;
    let mails = server.wait_for_mails_to("carol@example.com", JOIN, 1).await;
    let carol_token = invitation_token(&mails[0]);
    let pending = json(app.call_with(&alice, "org_settings", &[]).await).await;
    let carol_invitation = pending["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "carol@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A developer cannot revoke; the owner can.
    let refused = app
        .call_with(
            &bob,
            "revoke_invitation",
            &[("org_id", &org_id), ("invitation_id", &carol_invitation)],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let revoked = app
        .call_with(
            &alice,
            "revoke_invitation",
            &[("org_id", &org_id), ("invitation_id", &carol_invitation)],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let carol = owner(&app, "carol@example.com").await;
    let dead = app
        .call_with(&carol, "accept_invitation", &[("token", &carol_token)])
        .await;
    assert_eq!(dead.status(), 422);

    // Expired after 7 days.
    invite("dave@example.com").await;
    let mails = server.wait_for_mails_to("dave@example.com", JOIN, 1).await;
    let dave_token = invitation_token(&mails[0]);
    let store = app.database.store().await;
    expire_invitations(&store).await;
    let dave = owner(&app, "dave@example.com").await;
    let expired = app
        .call_with(&dave, "accept_invitation", &[("token", &dave_token)])
        .await;
    assert_eq!(expired.status(), 422);
}

async fn expire_invitations(store: &facehook::server::store::Store) {
    use facehook::server::store::Db;
    let sql = "UPDATE invitations SET expires_at = 0";
    match store.db() {
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .expect("expire invitations");
}

on_both_backends!(invitations_are_mailed_used_once_resent_and_revoked);
