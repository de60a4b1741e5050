//! The composition root: the one place that sees every part. It builds the state, joins the
//! console (UI) routes, the boundary's HTTP routes and the layers, and starts the dispatcher.
//! The CLI (`commands`) calls it; it never calls back.

use crate::api;
use crate::app::{shell, App};
use crate::server::admin::Admin;
use crate::server::alerts::{self, AlertSettings, Alerts};
use crate::server::apps::Apps;
use crate::server::assets::SiteAssets;
use crate::server::auth::session_store::DbSessionStore;
use crate::server::auth::{AccountMail, AccountPolicy, Auth, ThrottlePolicy};
use crate::server::config::{LogFormat, ServeConfig, WorkerConfig};
use crate::server::deliveries::Deliveries;
use crate::server::dispatch::{Dispatcher, RetrySchedule, TestSender, Transport, TransportError};
use crate::server::ingest::{Ingest, RateLimiter};
use crate::server::listener::{self, ConnectionLimits};
use crate::server::mail::Mailer;
use crate::server::orgs::Orgs;
use crate::server::state::AppState;
use crate::server::store::{Store, StoreError};
use crate::server::system::System;
use axum::http::{header, HeaderValue};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The name cargo-leptos gives the site's CSS, JS and wasm (`[package.metadata.leptos]`).
const OUTPUT_NAME: &str = "facehook";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the dispatcher: {0}")]
    Dispatch(#[from] TransportError),
    #[error("{0}")]
    Command(String),
}

/// A built server, bound to its port but not yet serving: tests read `local_addr` first.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    dispatcher: Option<Dispatcher>,
    /// Sends what the outbox holds; `None` when mail is not configured.
    mailer: Option<Mailer>,
    audit_retention_days: u32,
    stopping: tokio::sync::watch::Sender<bool>,
    limits: ConnectionLimits,
    /// The alert evaluator's settings and the operational webhook's transport and retries.
    alerts: (AlertSettings, Transport, RetrySchedule),
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Self, StartupError> {
        // A wrong mail setting stops the start, before anything else: never a silent no-mail.
        let mailer = config
            .mail
            .settings()
            .and_then(|settings| settings.as_ref().map(Mailer::new).transpose())
            .map_err(StartupError::Command)?;
        let store = Store::connect(&config.database.database_url).await?;
        store.migrate().await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let console_base_url = console_base_url(&config, &listener, mailer.is_some())?;
        let site_root = config.resolve_site_dir();
        let assets = SiteAssets::discover(&site_root, OUTPUT_NAME);
        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(config.listen)
            .hash_files(assets.hashed())
            .hash_file(
                assets
                    .hash_file
                    .as_deref()
                    .map(|path| path.to_string_lossy().into())
                    .unwrap_or_else(|| "hash.txt".into()),
            )
            .build();
        // One HTTP client for queued deliveries and console test events: one connection pool.
        let transport = Transport::new(
            config.targets.allow_list(),
            config.dispatch.extra_ca_file.as_deref(),
        )?;
        let dispatcher = (!config.no_dispatch).then(|| {
            Dispatcher::with_transport(store.clone(), &config.dispatch, transport.clone())
        });
        let (stopping, stopping_seen) = tokio::sync::watch::channel(false);
        let throttle = ThrottlePolicy {
            max_signups_per_ip: i64::from(config.signups_per_ip_hour),
            ..ThrottlePolicy::default()
        };
        let policy = AccountPolicy {
            require_verified_email: config.require_verified_email.unwrap_or(mailer.is_some()),
            require_two_factor: config.require_2fa,
        };
        let account_mail = AccountMail::new(
            store.clone(),
            mailer.is_some().then(|| console_base_url.clone()),
        );
        let alert_settings = AlertSettings {
            check_every: std::time::Duration::from_millis(u64::from(config.alert_check_ms)),
            backlog_after_ms: i64::from(config.backlog_alert_secs) * 1000,
            disable_after_ms: (config.dispatch.disable_failing_after_days * 86_400_000.0) as i64,
            console_url: console_base_url.trim_end_matches('/').to_owned(),
            mail_on: mailer.is_some(),
        };
        let alerts = (
            alert_settings,
            transport.clone(),
            config.dispatch.retry_schedule.clone(),
        );
        let orgs = Orgs::new(store.clone(), account_mail.clone(), console_base_url);
        let auth = Auth::new(store.clone(), config.signup, throttle, account_mail, policy);
        let apps = Apps::new(store.clone(), config.targets.allow_list());
        let alert_service = Alerts::new(store.clone(), Arc::new(config.targets.allow_list()));
        let state = AppState {
            leptos_options,
            assets,
            store: store.clone(),
            auth,
            apps,
            orgs,
            alerts: alert_service,
            admin: Admin::new(store.clone()),
            ingest: Ingest::new(store.clone()),
            deliveries: Deliveries::new(store.clone()),
            // Without a dispatcher in this process its counters stay at zero.
            system: System::new(
                store.clone(),
                dispatcher
                    .as_ref()
                    .map(Dispatcher::metrics)
                    .unwrap_or_default(),
            ),
            tester: TestSender::new(store.clone(), transport),
            rate_limiter: Arc::new(RateLimiter::new(
                config.api_rate_per_second,
                config.api_burst,
            )),
            config: Arc::new(config),
            stopping: stopping_seen,
        };
        let limits = ConnectionLimits::new(listener::connections_within_file_limit(
            usize::try_from(state.config.max_connections).unwrap_or(usize::MAX),
        ));
        let audit_retention_days = state.config.audit_retention_days;
        let router = router(state);
        Ok(Application {
            listener,
            router,
            store,
            dispatcher,
            mailer,
            audit_retention_days,
            stopping,
            limits,
            alerts,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then lets in-flight requests and attempts finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = spawn_sweeper(&self.store, self.audit_retention_days);
        let (alert_settings, alert_transport, alert_retries) = self.alerts;
        let alert_tasks = [
            alerts::spawn(
                self.store.clone(),
                alert_settings,
                self.dispatcher.as_ref().map(Dispatcher::metrics),
            ),
            tokio::spawn(alerts::run_webhook_sender(
                self.store.clone(),
                alert_transport,
                alert_retries,
            )),
        ];
        let mail_sender = self.mailer.map(|mailer| {
            tokio::spawn(crate::server::mail::run_sender(self.store.clone(), mailer))
        });
        // Graceful shutdown waits for every open response; the live feed never ends by
        // itself, so it is told to.
        let stopping = self.stopping;
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(true);
        };
        let served = listener::serve(self.listener, self.router, self.limits, shutdown).await;
        if let Some(dispatcher) = self.dispatcher {
            dispatcher.shutdown().await;
        }
        sweeper.abort();
        for task in alert_tasks {
            task.abort();
        }
        if let Some(mail_sender) = mail_sender {
            mail_sender.abort();
        }
        self.store.close().await;
        served
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

fn router(state: AppState) -> Router {
    let session_layer = SessionManagerLayer::new(DbSessionStore::new(state.store.db()))
        .with_name(api::assets::SESSION_COOKIE)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)))
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_secure(state.config.secure_cookies());
    let routes = console_routes();
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    let stylesheet = state.assets.stylesheet_href.clone();
    let fallback_shell = {
        let stylesheet = stylesheet.clone();
        move |options| shell(options, stylesheet.clone())
    };
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                api::forms::provide_retained_form();
                api::theme::provide_theme();
            },
            move || shell(shell_options.clone(), stylesheet.clone()),
        )
        .merge(api::http::router())
        .merge(api::audit_export::router())
        .nest("/api/v1", api::rest::router())
        .nest_service("/pkg", api::assets::pkg_service(&state))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            fallback_shell,
        ))
        .layer(axum::middleware::from_fn(
            api::status::server_fn_error_status,
        ))
        .layer(axum::middleware::from_fn(api::forms::post_redirect_get))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::guard::require_sign_in,
        ))
        .layer(axum::middleware::from_fn(api::input::mark_nul_input))
        .layer(session_layer)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::guard::refuse_cross_site,
        ))
        // Pages, JSON and the API document are compressed as they are sent; the live feed
        // (text/event-stream) and files already precompressed are left alone.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(api::assets::revalidate_pages))
        // No framing (a hidden frame could trick a click on "Turn off two-factor sign-in"),
        // no content sniffing, and addresses (which can hold a token) never sent to another
        // site; same-origin keeps the Referer that plain form posts are sent back with.
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'",
        ))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        // Spans name the path only: a query string can carry a reset or verification token.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path()
                    )
                },
            ),
        )
        .with_state(state)
}

/// A header every response carries unless its handler set one.
fn always(
    name: axum::http::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The console's route list, generated once per process. Generating it renders the app with
/// resource loading suppressed by a process-wide flag, so a second generation while another
/// server in the process renders a page could leave that page's resources pending forever
/// (leptos-rs/leptos#4773); tests start many servers in one process.
fn console_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// FACEHOOK_PUBLIC_URL, or the address the server listens on; mail needs a real address,
/// so listening on every interface without FACEHOOK_PUBLIC_URL stops the start when mail is on.
fn console_base_url(
    config: &ServeConfig,
    listener: &TcpListener,
    mail_on: bool,
) -> Result<String, StartupError> {
    if let Some(public) = &config.public_url {
        return Ok(public.as_str().trim_end_matches('/').to_owned());
    }
    let local = listener.local_addr().unwrap_or(config.listen);
    if mail_on && local.ip().is_unspecified() {
        return Err(StartupError::Command(format!(
            "set FACEHOOK_PUBLIC_URL: links in mail need the console's address, and {local} is every interface"
        )));
    }
    Ok(format!("http://{local}"))
}

/// Every hour: deletes expired sessions, idempotency replies past 24 hours and audit entries
/// past their retention.
fn spawn_sweeper(store: &Store, audit_retention_days: u32) -> tokio::task::JoinHandle<()> {
    use tower_sessions::ExpiredDeletion;
    let sessions = DbSessionStore::new(store.db());
    let audit = crate::server::orgs::Audit::new(store.clone());
    let store = store.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(tokio::time::Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(err) = sessions.delete_expired().await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
            match store.prune_token_replies().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "idempotency replies past 24 hours deleted"),
                Err(err) => tracing::warn!(error = %err, "could not prune idempotency replies"),
            }
            match audit.prune(audit_retention_days).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "audit entries past retention deleted"),
                Err(err) => tracing::warn!(error = %err, "could not prune the audit log"),
            }
            // Alerts are history like the audit log, and kept as long.
            let cutoff =
                crate::server::clock::now_ms() - i64::from(audit_retention_days) * 86_400_000;
            match store.prune_alerts(cutoff).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "alerts past retention deleted"),
                Err(err) => tracing::warn!(error = %err, "could not prune alerts"),
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FACEHOOK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// `facehook serve`: the console, the API and (unless turned off) the dispatcher.
pub async fn serve(config: ServeConfig) -> Result<(), StartupError> {
    let backend = config
        .database
        .database_url
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned();
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), %backend, "facehook console listening on http://{}", app.local_addr());
    app.run_until_stopped()
        .await
        .map_err(|e| StartupError::Command(format!("server stopped: {e}")))
}

/// `facehook dispatch`: delivers without serving the console or the API.
pub async fn dispatch_only(config: WorkerConfig) -> Result<(), StartupError> {
    let store = Store::connect(&config.database.database_url).await?;
    store.migrate().await?;
    let dispatcher =
        Dispatcher::start(store.clone(), &config.dispatch, config.targets.allow_list())?;
    shutdown_signal().await;
    dispatcher.shutdown().await;
    store.close().await;
    Ok(())
}
