//! The live feed: while a delivery page is open, the browser listens to the server's
//! `change` events and bumps a counter the page's resources depend on. Rendered on the
//! server it does nothing, so pages without JavaScript show a refresh link instead.

use leptos::prelude::*;

pub struct LiveFeed {
    /// Bumped on every change the server reports.
    pub changes: RwSignal<usize>,
    /// True while the feed is connected.
    pub connected: RwSignal<bool>,
}

pub fn use_live_feed(public_id: Memo<String>) -> LiveFeed {
    let changes = RwSignal::new(0usize);
    let connected = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        let url = format!("/apps/{}/live", public_id.get());
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        let on_ready = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            connected.set(true);
        });
        let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            changes.update(|n| *n += 1);
        });
        // The browser reconnects by itself; `ready` arrives again when it has.
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            connected.set(false);
        });
        let _ = source.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
        let _ =
            source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // Closed when the page (or the application shown) changes; the closures live as long.
        let held = send_wrapper::SendWrapper::new((source, on_ready, on_change, on_error));
        on_cleanup(move || held.0.close());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = public_id;
    LiveFeed { changes, connected }
}

/// "Live" while connected; otherwise a link that reloads the page.
#[component]
pub fn LiveStatus(
    connected: RwSignal<bool>,
    #[prop(into)] refresh_href: Signal<String>,
) -> impl IntoView {
    view! {
        <p class="live-status" data-testid="live-status">
            <Show
                when=move || connected.get()
                fallback=move || view! { <a href=move || refresh_href.get()>"Refresh"</a> " to see new deliveries." }
            >
                <span class="live-dot" aria-hidden="true"></span>
                "Live: new deliveries and status changes appear as they happen."
            </Show>
        </p>
    }
}
