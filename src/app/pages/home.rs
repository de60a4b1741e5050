//! `/`: the console starts at the Application Manager (the guard sends strangers to sign in).

use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn HomePage() -> impl IntoView {
    view! { <Redirect path="/apps"/> }
}
