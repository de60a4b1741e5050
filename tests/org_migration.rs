//! Upgrading from the release before organizations, on SQLite and PostgreSQL: a database
//! made by its migrations and filled as it filled them keeps every key, token and secret
//! working, and each account owns a personal organization with its applications.

mod common;

use common::console::{json, PASSWORD};
use common::orgs::current_org;
use common::{new_client, spawn_app_on, Backend, TestDatabase};
use facehook::server::secrets::{api_key_display_prefix, hash_api_key};
use sqlx::migrate::Migrator;
use std::borrow::Cow;

const API_KEY: &str = "fhk_live_oldreleasekey0123456789abcdefghijklmnopq";
const WEBHOOK_TOKEN: &str = "fhw_oldreleasetoken0123456789abcdefghijk";
const SIGNING_SECRET: &str = "whsec_b2xkIHJlbGVhc2Ugc2lnbmluZyBzZWNyZXQ=";

/// The previous release's migrations: everything before organizations.
fn previous_release(full: &Migrator, organizations: i64) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            full.migrations
                .iter()
                .filter(|m| m.version < organizations)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// What the previous release stored for an account with one application and endpoint.
const OLD_ROWS: [&str; 3] = [
    "INSERT INTO accounts (id, email, password_hash, is_operator, created_at, email_verified_at) \
     VALUES ('acc_0old0account0', 'old@example.com', $1, TRUE, 1, 1)",
    "INSERT INTO applications (id, owner_id, name, plan, api_key_hash, api_key_prefix, webhook_token, created_at) \
     VALUES ('fio0ld00app', 'acc_0old0account0', 'Old app', 'business', $1, $2, $3, 2)",
    "INSERT INTO endpoints (id, app_id, url, signing_secret, created_at) \
     VALUES ('ep_0old0endpoint', 'fio0ld00app', 'https://example.com/hook', $1, 3)",
];

macro_rules! fill_previous_release {
    ($pool:expr, $password_hash:expr) => {{
        sqlx::query(OLD_ROWS[0])
            .bind($password_hash)
            .execute($pool)
            .await
            .unwrap();
        sqlx::query(OLD_ROWS[1])
            .bind(hash_api_key(API_KEY))
            .bind(api_key_display_prefix(API_KEY))
            .bind(WEBHOOK_TOKEN)
            .execute($pool)
            .await
            .unwrap();
        sqlx::query(OLD_ROWS[2])
            .bind(SIGNING_SECRET)
            .execute($pool)
            .await
            .unwrap();
    }};
}

async fn the_previous_release_upgrades_with_everything_working(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let password_hash = facehook::server::auth::hash_secret(PASSWORD.to_owned())
        .await
        .unwrap();
    match backend {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(database.url.trim_start_matches("sqlite://"))
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let full = sqlx::migrate!("./migrations/sqlite");
            previous_release(&full, 15).run(&pool).await.unwrap();
            fill_previous_release!(&pool, &password_hash);
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
            let full = sqlx::migrate!("./migrations/postgres");
            previous_release(&full, 14).run(&pool).await.unwrap();
            fill_previous_release!(&pool, &password_hash);
            pool.close().await;
        }
    }

    // The new release migrates at start.
    let app = spawn_app_on(database, |_| {}).await;
    let client = new_client();
    let signed_in = app
        .call_with(
            &client,
            "sign_in",
            &[("email", "old@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signed_in.status(), 200);
    assert_eq!(current_org(&app, &client).await, "org_0old0account0");
    let page = json(app.call_with(&client, "org_settings", &[]).await).await;
    assert_eq!(page["org"]["role"], "owner");
    assert_eq!(
        page["org"]["name"], "old",
        "named after the email's local part"
    );
    assert_eq!(page["members"][0]["email"], "old@example.com");

    let apps = json(app.call_with(&client, "list_apps", &[]).await).await;
    assert_eq!(apps[0]["public_id"], "fio0ld00app");
    assert_eq!(apps[0]["plan"], "business");
    let public_id = [("public_id", "fio0ld00app")];
    let token = json(
        app.call_with(&client, "reveal_webhook_token", &public_id)
            .await,
    )
    .await;
    assert_eq!(token, WEBHOOK_TOKEN);
    let secrets = json(
        app.call_with(
            &client,
            "reveal_signing_secrets",
            &[
                ("public_id", "fio0ld00app"),
                ("endpoint_id", "ep_0old0endpoint"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(secrets["current"], SIGNING_SECRET);

    // The API key still takes events.
    let accepted = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(API_KEY)
        .json(&serde_json::json!({"eventName": "enroll", "facialId": "face-1", "clientIp": "203.0.113.9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        accepted.status(),
        202,
        "{}",
        accepted.text().await.unwrap_or_default()
    );

    // New accounts made after the upgrade get their organization too.
    let newcomer = common::console::owner(&app, "new@example.com").await;
    let created = common::console::create_app(&app, &newcomer, "Fresh").await;
    let hidden = app
        .call_with(&client, "get_app", &[("public_id", &created)])
        .await;
    assert_eq!(hidden.status(), 404, "each organization sees only its own");
}

on_both_backends!(the_previous_release_upgrades_with_everything_working);
