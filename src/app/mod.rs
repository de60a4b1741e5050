//! The console UI, rendered on the server. Only islands (`#[island]`: copy buttons, the live
//! feed) are compiled to wasm and hydrated; everything else is HTML with plain links and forms,
//! so every flow works without JavaScript and the browser downloads little.
//! Talks to the server only through `api` server functions; never touches storage.

mod bell;
mod components;
mod format;
mod layout;
mod pages;

use crate::model::theme::Theme;
use layout::Layout;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};
use pages::{
    AccountPage, AdminPage, AlertsPage, AppFrame, AppOverview, AppsPage, AuditPage, DeliveriesTab,
    DeliveryDetailPage, EndpointPage, EventCatalogTab, FacialIdsTab, ForgotPasswordPage, HomePage,
    InvitePage, LoginPage, NotFound, OrgPage, ResetPasswordPage, SignInCodePage, SignupPage,
    TwoFactorPage, VerifyEmailPage, WebhooksTab,
};

/// The HTML document around the app, rendered on the server only. `stylesheet` is the
/// built CSS's address (hashed in release builds).
pub fn shell(options: LeptosOptions, stylesheet: String) -> impl IntoView {
    // The theme chosen in this browser (a cookie), so the first paint has the right colours.
    let theme = use_context::<Theme>().unwrap_or_default();
    let color_scheme = match theme {
        Theme::System => "light dark",
        Theme::Light => "light",
        Theme::Dark => "dark",
    };
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content=color_scheme/>
                <link rel="stylesheet" id="facehook" href=stylesheet/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Async SSR: pages wait for their data so redirects, statuses and session changes
    // are settled before the first byte is sent.
    view! {
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Title formatter=|page: String| format!("{page} · Facehook")/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/code") view=SignInCodePage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/two-factor") view=TwoFactorPage ssr=SsrMode::Async/>
                    <Route path=path!("/apps") view=AppsPage ssr=SsrMode::Async/>
                    <ParentRoute path=path!("/apps/:public_id") view=AppFrame ssr=SsrMode::Async>
                        <Route path=path!("") view=AppOverview/>
                        <Route path=path!("webhooks") view=WebhooksTab/>
                        <Route path=path!("webhooks/:endpoint_id") view=EndpointPage/>
                        <Route path=path!("events") view=EventCatalogTab/>
                        <Route path=path!("facial-ids") view=FacialIdsTab/>
                        <Route path=path!("deliveries") view=DeliveriesTab/>
                        <Route path=path!("deliveries/:delivery_id") view=DeliveryDetailPage/>
                    </ParentRoute>
                    <Route path=path!("/org") view=OrgPage ssr=SsrMode::Async/>
                    <Route path=path!("/org/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/invite/:token") view=InvitePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/alerts") view=AlertsPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
