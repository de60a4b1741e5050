//! The frame around every page: navigation, the signed-in user, one-time notices.

use crate::api::alerts::unread_alerts;
use crate::api::auth::{take_flash, whoami, SignOut};
use crate::api::orgs::{current_orgs, SwitchOrg};
use crate::api::theme::SetTheme;
use crate::app::bell::AlertBell;
use crate::model::org::OrgChoice;
use crate::model::theme::Theme;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let location = use_location();
    // Each answer remembers the path it was fetched for, so a stale answer from the
    // previous page is never taken as the truth about the current one.
    let user = Resource::new(
        move || location.pathname.get(),
        |path| async move { (path, whoami().await) },
    );
    let flash = Resource::new(move || location.pathname.get(), |_| take_flash());
    let orgs = Resource::new(
        move || location.pathname.get(),
        |_| async move { current_orgs().await.ok() },
    );
    // The alerts page marks every alert read as it renders: its bell starts at none.
    let unread = Resource::new(
        move || location.pathname.get(),
        |path| async move {
            if path == "/alerts" {
                Some(0)
            } else {
                unread_alerts().await.ok()
            }
        },
    );
    let sign_out = ServerAction::<SignOut>::new();

    // Wide screens show the links in a row; narrow ones fold the same links into a menu
    // (a `<details>`, so it opens without JavaScript). CSS shows one of the two.
    let nav = move || {
        Suspend::new(async move {
            let user = user.await.1.ok().flatten();
            let (orgs, unread) = match user {
                Some(_) => (orgs.await, unread.await),
                None => (None, None),
            };
            let links = move || match user.clone() {
                Some(user) => {
                    let (email, title) = (user.email.clone(), user.email.clone());
                    view! {
                    <ul class="nav-links">
                        {orgs.clone().map(|orgs| view! { <li><OrgSwitch orgs/></li> })}
                        <li><A href="/apps">"Applications"</A></li>
                        <li><A href="/org">"Organization"</A></li>
                        <li><A href="/account">"Account"</A></li>
                        {user.is_operator.then(|| view! { <li><A href="/admin">"Operator"</A></li> })}
                        <li class="nav-user" title=title>{email}</li>
                        <li>
                            <ActionForm action=sign_out attr:class="inline-form">
                                <button type="submit" class="link-button" disabled=move || sign_out.pending().get()>
                                    "Sign out"
                                </button>
                            </ActionForm>
                        </li>
                    </ul>
                }
                .into_any()
                }
                None => view! {
                    <ul class="nav-links">
                        <li><A href="/login">"Sign in"</A></li>
                        <li><A href="/signup">"Sign up"</A></li>
                    </ul>
                }
                .into_any(),
            };
            // The bell stays outside the two link lists: one live feed per page.
            view! {
                <div class="nav-end">
                    {unread.map(|count| view! { <AlertBell count/> })}
                    <div class="nav-wide">{links()}</div>
                    <details class="nav-menu">
                        <summary>"Menu"</summary>
                        {links()}
                    </details>
                </div>
            }
        })
    };

    let notice = move || {
        Suspend::new(async move {
            flash
                .await
                .ok()
                .flatten()
                // Focused on arrival, so keyboard and screen-reader users hear what the
                // action did without hunting for it.
                .map(|message| view! { <p class="flash" role="status" tabindex="-1" autofocus>{message}</p> })
        })
    };

    // Until the email is confirmed (when the operator requires it), every page says so.
    let verify_banner = move || {
        Suspend::new(async move {
            let user = user.await.1.ok().flatten()?;
            user.must_verify_email.then(|| view! {
                <p class="notice verify-banner">
                    {format!("Confirm your email to create applications: open the link we mailed to {}. ", user.email)}
                    <A href="/account">"Send it again"</A>
                </p>
            })
        })
    };

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <HydrationMarker/>
        <header class="site-header">
            <nav aria-label="Main">
                <A href="/" attr:class="brand">"Facehook"</A>
                <Transition fallback=|| ()>{nav}</Transition>
            </nav>
        </header>
        <main id="main">
            <Transition fallback=|| ()>{notice}</Transition>
            <Transition fallback=|| ()>{verify_banner}</Transition>
            {children()}
        </main>
        <footer class="site-footer">
            <p>
                "Facehook — webhooks for facial authentication · "
                <a href="/api/v1/docs" rel="external">"REST API reference"</a>
            </p>
            <ThemeSwitch/>
        </footer>
    }
}

/// The organization the console shows, opening to a button per other organization (plain
/// forms in a `<details>`, so switching needs no JavaScript).
#[component]
fn OrgSwitch(orgs: OrgChoice) -> impl IntoView {
    let switch = ServerAction::<SwitchOrg>::new();
    let others: Vec<_> = orgs
        .all
        .into_iter()
        .filter(|org| org.id != orgs.current.id)
        .collect();
    if others.is_empty() {
        return view! { <span class="org-current" data-testid="current-org">{orgs.current.name}</span> }.into_any();
    }
    view! {
        <details class="org-switch">
            <summary data-testid="current-org" aria-label=format!("Organization: {}. Switch organization", orgs.current.name)>
                {orgs.current.name.clone()}
            </summary>
            <ul class="org-choices">
                {others.into_iter().map(|org| view! {
                    <li>
                        <ActionForm action=switch attr:class="inline-form">
                            <input type="hidden" name="org_id" value=org.id.to_string()/>
                            <button type="submit" class="link-button">{org.name}" "<span class="hint">{org.role.label()}</span></button>
                        </ActionForm>
                    </li>
                }).collect_view()}
            </ul>
        </details>
    }
    .into_any()
}

/// System, light or dark: three buttons of one plain form; the choice is kept in a cookie.
#[component]
fn ThemeSwitch() -> impl IntoView {
    let set_theme = ServerAction::<SetTheme>::new();
    let current = use_context::<Theme>().unwrap_or_default();
    view! {
        <ActionForm action=set_theme attr:class="theme-switch" attr:aria-label="Theme">
            <span class="theme-label" aria-hidden="true">"Theme"</span>
            {Theme::ALL
                .into_iter()
                .map(|theme| view! {
                    <button type="submit" name="theme" value=theme.as_str()
                        class="theme-option" aria-pressed=(theme == current).to_string()>
                        {theme.label()}
                    </button>
                })
                .collect_view()}
        </ActionForm>
    }
}

/// Marks the page once its islands are live; browser tests wait for it before clicking one.
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
