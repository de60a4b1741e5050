//! `spawn_app()`: the real server on port 0 with a fresh database, on either backend.
//! PostgreSQL tests get a database of their own and fail (never skip) when it is unreachable.
#![allow(dead_code)]

pub mod api;
pub mod console;
pub mod dispatch;
pub mod orgs;
pub mod process;
pub mod receiver;
pub mod smtp;

use facehook::server::config::ServeConfig;
use facehook::server::store::Store;
use facehook::startup::Application;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use sqlx::Connection;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` once per backend, as `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("FACEHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists only for one test and is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("facehook.db").display());
                TestDatabase {
                    url,
                    _sqlite_dir: Some(dir),
                    postgres_name: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("fh_test_{}", random_suffix());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin_url} is required for this test: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                let mut url =
                    url::Url::parse(&admin_url).expect("FACEHOOK_TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    _sqlite_dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside async code: use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for cleanup");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            });
        })
        .join();
    }
}

pub fn random_suffix() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 12)
        .to_lowercase()
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// A browser-like client: keeps cookies, does not follow redirects (tests assert them).
    pub client: reqwest::Client,
    pub database: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    spawn_app_on(TestDatabase::create(backend).await, configure).await
}

/// Serves an existing database (one a previous release made, say).
pub async fn spawn_app_on(
    database: TestDatabase,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestApp {
    let mut config = ServeConfig::for_database(database.url.clone());
    configure(&mut config);
    let app = Application::build(config)
        .await
        .expect("build the application");
    let port = app.local_addr().port();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: new_client(),
        database,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        // A stalled response fails its test instead of hanging the whole run.
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("build the HTTP client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Calls a server function the way the hydrated console does (form-encoded, JSON back).
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.call_with(&self.client, function, form).await
    }

    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{function}")))
            .header("Origin", &self.address)
            .form(form)
            .send()
            .await
            .expect("server function request")
    }

    /// Posts a form as a browser without JavaScript does, from `page`.
    pub async fn post_plain_form(
        &self,
        function: &str,
        page: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_plain_form_with(&self.client, function, page, form)
            .await
    }

    pub async fn post_plain_form_with(
        &self,
        client: &reqwest::Client,
        function: &str,
        page: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            "Accept",
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert(
            "Origin",
            HeaderValue::from_str(&self.address).expect("origin header"),
        );
        headers.insert(
            "Referer",
            HeaderValue::from_str(&self.url(page)).expect("referer header"),
        );
        client
            .post(self.url(&format!("/api/{function}")))
            .headers(headers)
            .form(form)
            .send()
            .await
            .expect("form post")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(&self.client, path).await
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// Signs up as the console does and, when that succeeds, signs in with the same client:
    /// sign-up itself starts no session, so that it answers alike whether or not the email
    /// already had an account. Returns the sign-up's response.
    pub async fn sign_up(&self, email: &str, password: &str) -> reqwest::Response {
        let response = self
            .call("sign_up", &[("email", email), ("password", password)])
            .await;
        if response.status() == 200 {
            let signed_in = self.sign_in(email, password).await;
            assert_eq!(signed_in.status(), 200, "signing in after signing up");
        }
        response
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn stop(mut self) {
        self.stop_serving().await;
    }

    /// Shuts the server down gracefully but keeps its database for inspection.
    pub async fn stop_serving(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
