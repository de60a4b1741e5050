//! Small display helpers shared by pages.

use crate::model::app::Plan;
use leptos::prelude::*;

#[component]
pub fn PlanBadge(plan: Plan) -> impl IntoView {
    view! { <span class=format!("badge plan-{}", plan.as_str())>{plan.label()}</span> }
}

pub use crate::model::time::utc_time;
