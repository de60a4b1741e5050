//! `/apps`: the Application Manager. Applications arrive with the application-manager issue;
//! until then the page explains what will appear here.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AppsPage() -> impl IntoView {
    view! {
        <Title text="Applications"/>
        <section class="card">
            <h1>"Application Manager"</h1>
            <p class="empty">
                "You have no applications yet. Each application gets its webhook endpoints, "
                "its API key and its facial-ID registry here."
            </p>
        </section>
    }
}
