//! A destructive action behind a second step that names what it acts on. A `<details>`, so
//! it needs no JavaScript: the first click opens the question, the red button acts.

use leptos::prelude::*;

#[component]
pub fn Confirm(
    /// The opener's text, e.g. "Delete endpoint…".
    opener: &'static str,
    /// The question, naming the thing: "Delete the endpoint “Orders”?".
    #[prop(into)]
    question: String,
    /// What happens then, e.g. "Its queued deliveries are dropped. This cannot be undone."
    #[prop(into)]
    consequence: String,
    /// The form whose red button acts.
    children: Children,
) -> impl IntoView {
    view! {
        <details class="confirm">
            <summary class="danger-opener">{opener}</summary>
            <div class="confirm-panel">
                <p class="confirm-question">{question}</p>
                <p class="hint">{consequence}</p>
                {children()}
            </div>
        </details>
    }
}
