//! The alert bell in the header: how many alerts arrived since the alerts page was last
//! opened. The island listens to `/alerts/live` and updates the count as alerts open;
//! without JavaScript it is a link with the count of when the page was drawn.

use leptos::prelude::*;

#[island]
pub fn AlertBell(count: i64) -> impl IntoView {
    let count = RwSignal::new(count);
    #[cfg(feature = "hydrate")]
    feed::connect(count);
    let shown = move || match count.get() {
        0 => String::new(),
        n if n >= 100 => "99+".to_owned(),
        n => n.to_string(),
    };
    let label = move || match count.get() {
        0 => "Alerts: none unread".to_owned(),
        1 => "Alerts: 1 unread".to_owned(),
        n if n >= 100 => "Alerts: more than 99 unread".to_owned(),
        n => format!("Alerts: {n} unread"),
    };
    view! {
        <a href="/alerts" class="bell" data-testid="alert-bell" aria-label=label title="Alerts">
            <svg class="bell-icon" aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"
                fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>
                <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>
            </svg>
            <span class="bell-count" data-testid="alert-count" aria-hidden="true"
                class:bell-count-zero=move || count.get() == 0>{shown}</span>
        </a>
        // Announced when the count changes while the page is open.
        <span class="visually-hidden" aria-live="polite">{label}</span>
    }
}

#[cfg(feature = "hydrate")]
mod feed {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    /// Opens the count's event stream for as long as the page lives; the browser
    /// reconnects by itself.
    pub fn connect(count: RwSignal<i64>) {
        let Ok(source) = web_sys::EventSource::new("/alerts/live") else {
            return;
        };
        let on_count = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(n) = event.data().as_string().and_then(|d| d.parse::<i64>().ok()) {
                    count.set(n);
                }
            },
        );
        let _ = source.add_event_listener_with_callback("count", on_count.as_ref().unchecked_ref());
        on_count.forget();
    }
}
