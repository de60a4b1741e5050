//! The frame around every page: navigation, the signed-in user, one-time notices.

use crate::api::auth::{take_flash, whoami, SignOut};
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
    let sign_out = ServerAction::<SignOut>::new();

    let nav = move || {
        Suspend::new(async move {
            match user.await.1 {
                Ok(Some(user)) => view! {
                    <ul class="nav-links">
                        <li><A href="/apps">"Applications"</A></li>
                        <li><A href="/account">"Account"</A></li>
                        {user.is_operator.then(|| view! { <li><A href="/admin">"Operator"</A></li> })}
                        <li class="nav-user" title="Signed in">{user.email}</li>
                        <li>
                            <ActionForm action=sign_out attr:class="inline-form">
                                <button type="submit" class="link-button" disabled=move || sign_out.pending().get()>
                                    "Sign out"
                                </button>
                            </ActionForm>
                        </li>
                    </ul>
                }
                .into_any(),
                _ => view! {
                    <ul class="nav-links">
                        <li><A href="/login">"Sign in"</A></li>
                        <li><A href="/signup">"Sign up"</A></li>
                    </ul>
                }
                .into_any(),
            }
        })
    };

    let notice = move || {
        Suspend::new(async move {
            flash
                .await
                .ok()
                .flatten()
                .map(|message| view! { <p class="flash" role="status">{message}</p> })
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
            {children()}
        </main>
        <footer class="site-footer">
            "Facehook — webhooks for facial authentication · "
            <a href="/api/v1/docs" rel="external">"REST API reference"</a>
        </footer>
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
