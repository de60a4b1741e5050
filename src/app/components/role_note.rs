//! What a member sees in place of a control its role does not allow: the reason, not a
//! button that would only be refused.

use crate::model::org::{Action, Role};
use leptos::prelude::*;

#[component]
pub fn RoleNote(role: Role, action: Action) -> impl IntoView {
    view! {
        <p class="hint role-note" data-testid="role-note">
            {format!("Your role ({}) cannot {}; an owner or admin of this organization can.", role.label(), action.what())}
        </p>
    }
}
