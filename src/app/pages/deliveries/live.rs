//! The live feed: while a delivery page is open, an island listens to the server's `change`
//! events and redraws the page's live regions (elements with `data-live-region` and an `id`)
//! from a fresh server render of the same address. Forms outside those regions keep what the
//! user typed. Without JavaScript the island stays a "Refresh" link.

use crate::model::ids::AppId;
use leptos::prelude::*;

/// "Live" while connected; otherwise a link that reloads the page.
#[island]
pub fn LiveUpdates(public_id: AppId, refresh_href: String) -> impl IntoView {
    let connected = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    feed::connect(public_id.as_str(), connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = public_id;
    view! {
        <p class="live-status" data-testid="live-status">
            <Show
                when=move || connected.get()
                fallback=move || view! { <a href=refresh_href.clone()>"Refresh"</a> " to see new deliveries." }
            >
                <span class="live-dot" aria-hidden="true"></span>
                "Live: new deliveries and status changes appear as they happen."
            </Show>
        </p>
    }
}

#[cfg(feature = "hydrate")]
mod feed {
    use leptos::prelude::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// Opens the page's event stream; the browser reconnects by itself and `ready` arrives
    /// again when it has. The stream and its handlers live as long as the page.
    pub fn connect(public_id: &str, connected: RwSignal<bool>) {
        let Ok(source) = web_sys::EventSource::new(&format!("/apps/{public_id}/live")) else {
            return;
        };
        let redraw = Redraw::default();
        // Whatever changed between the page's render and the stream's start is drawn at once.
        let on_ready = {
            let redraw = redraw.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                connected.set(true);
                redraw.request();
            })
        };
        let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            redraw.request();
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            connected.set(false);
        });
        let _ = source.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
        let _ =
            source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_ready.forget();
        on_change.forget();
        on_error.forget();
    }

    /// One redraw at a time: changes that arrive during one are folded into one more.
    #[derive(Clone, Default)]
    struct Redraw {
        running: Rc<Cell<bool>>,
        again: Rc<Cell<bool>>,
    }

    impl Redraw {
        fn request(&self) {
            self.again.set(true);
            if self.running.replace(true) {
                return;
            }
            let this = self.clone();
            leptos::task::spawn_local(async move {
                while this.again.replace(false) {
                    if let Err(err) = redraw_regions().await {
                        leptos::logging::warn!("live redraw failed: {err:?}");
                    }
                }
                this.running.set(false);
            });
        }
    }

    async fn redraw_regions() -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        // Marked, so the server takes no one-time notice or failed form for this render.
        let headers = web_sys::Headers::new()?;
        headers.set("facehook-live-redraw", "1")?;
        let init = web_sys::RequestInit::new();
        init.set_headers(&headers);
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(&window.location().href()?, &init))
                .await?
                .dyn_into()?;
        if !response.ok() {
            return Ok(());
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let fresh = web_sys::DomParser::new()?
            .parse_from_string(&html, web_sys::SupportedType::TextHtml)?;
        let document = window.document().ok_or("no document")?;
        let regions = document.query_selector_all("[data-live-region]")?;
        for index in 0..regions.length() {
            let Some(region) = regions
                .item(index)
                .and_then(|node| node.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            if let Some(replacement) = fresh.get_element_by_id(&region.id()) {
                region.set_inner_html(&replacement.inner_html());
            }
        }
        Ok(())
    }
}
