//! `/account`: the signed-in owner's email (confirmed or not, and changing it), password,
//! two-factor state, alert emails and sessions. Each card has one primary action.

mod alert_mail;
mod sessions;
mod two_factor;

pub use two_factor::TwoFactorPage;

use crate::api::auth::{whoami, ChangePassword};
use crate::api::security::{ChangeEmail, ResendVerification};
use crate::app::components::{field_error, form_error, Field, FormAlert, SubmitButton};
use crate::model::{AppError, CurrentUser, NewPassword};
use alert_mail::AlertMailCard;
use leptos::prelude::*;
use leptos_meta::Title;
use sessions::SessionsCard;
use two_factor::TwoFactorSummaryCard;

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    let profile = move || {
        Suspend::new(async move {
            user.await
                .ok()
                .flatten()
                .map(|user| view! { <ProfileCard user/> })
        })
    };
    view! {
        <Title text="Account"/>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>{profile}</Suspense>
        <ChangeEmailCard/>
        <ChangePasswordCard/>
        <TwoFactorSummaryCard/>
        <AlertMailCard/>
        <SessionsCard/>
    }
}

#[component]
fn ProfileCard(user: CurrentUser) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || resend.value().get().and_then(Result::err));
    let role = if user.is_operator {
        "Operator"
    } else {
        "Account owner"
    };
    let status = if user.email_verified {
        view! { <span class="badge health-good">"Confirmed"</span> }.into_any()
    } else {
        view! { <span class="badge health-warn">"Not confirmed"</span> }.into_any()
    };
    view! {
        <section class="card" aria-labelledby="account-heading">
            <h1 id="account-heading">"Account"</h1>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd><span data-testid="account-email">{user.email}</span> " " {status}</dd>
                <dt>"Role"</dt>
                <dd>{role}</dd>
            </dl>
            <Show when=move || !user.email_verified>
                <p class="hint">
                    {if user.must_verify_email {
                        "Open the link we mailed you to confirm this address: until then you cannot create applications."
                    } else {
                        "Open the link we mailed you to confirm this address."
                    }}
                </p>
                <FormAlert message=Signal::derive(move || form_error(error).get().or_else(|| field_error(error, "email").get()))/>
                <ActionForm action=resend attr:class="inline-actions">
                    <SubmitButton label="Send the link again" pending_label="Sending…" pending=resend.pending() class="secondary"/>
                </ActionForm>
            </Show>
        </section>
    }
}

#[component]
fn ChangeEmailCard() -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <section class="card" aria-labelledby="email-heading">
            <h2 id="email-heading">"Change email"</h2>
            <p class="hint">"We mail a link to the new address to confirm it, and tell the old one."</p>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <Field label="New email" name="email" id="new-email" input_type="email" autocomplete="email"
                    error=field_error(error, "email")/>
                <Field label="Your password" name="password" id="email-password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "password")/>
                <SubmitButton label="Change email" pending_label="Changing…" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChangePasswordCard() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <p class="hint">"Every other session is signed out, and we mail you that it changed."</p>
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
