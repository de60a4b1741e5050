//! `/account`: who is signed in, and the password change form.

use crate::api::auth::{whoami, ChangePassword};
use crate::app::components::{field_error, form_error, Field, FormAlert, SubmitButton};
use crate::model::{AppError, NewPassword};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    let action = ServerAction::<ChangePassword>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));

    let profile = move || {
        Suspend::new(async move {
            user.await.ok().flatten().map(|user| {
                let role = if user.is_operator {
                    "Operator"
                } else {
                    "Account owner"
                };
                view! {
                    <dl class="facts">
                        <dt>"Email"</dt>
                        <dd>{user.email}</dd>
                        <dt>"Role"</dt>
                        <dd>{role}</dd>
                    </dl>
                }
            })
        })
    };

    view! {
        <Title text="Account"/>
        <section class="card">
            <h1>"Account"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{profile}</Suspense>
        </section>
        <section class="card">
            <h2>"Change password"</h2>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <Field label="Current password" name="current_password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "current_password")/>
                <Field label="New password" name="new_password" input_type="password"
                    autocomplete="new-password" hint=NewPassword::HINT
                    error=field_error(error, "new_password")/>
                <Field label="Repeat new password" name="confirm_password" input_type="password"
                    autocomplete="new-password" error=field_error(error, "confirm_password")/>
                <SubmitButton label="Change password" pending_label="Changing…" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}
