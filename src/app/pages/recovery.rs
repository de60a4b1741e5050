//! `/forgot-password` and `/reset-password?token=…`: ask for a single-use link by mail, then
//! choose a new password with it. Plain forms; they answer alike whether or not an email has
//! an account. And `/verify-email?token=…`, where a mailed link confirms an address.

use crate::api::recovery::{reset_link_usable, RequestPasswordReset, ResetPassword};
use crate::api::security::VerifyEmail;
use crate::app::components::{field_error, form_error, Field, FormAlert, SubmitButton};
use crate::model::{AppError, NewPassword};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Title text="Forgot password"/>
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            <p>"Enter your account's email: we mail you a link to choose a new password."</p>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <Field label="Email" name="email" input_type="email" autocomplete="email"
                    error=field_error(error, "email")/>
                <SubmitButton label="Send reset link" pending_label="Sending…" pending=action.pending()/>
            </ActionForm>
            <p class="aside"><A href="/login">"Back to sign in"</A></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let usable = Resource::new(move || token.get(), reset_link_usable);
    let action = ServerAction::<ResetPassword>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    let body = move || {
        Suspend::new(async move {
            // A failed post keeps its own error, whatever the link's state now.
            let failed = error.get_untracked().is_some();
            if !failed && !usable.await.unwrap_or(false) {
                return view! {
                    <p class="form-alert" role="alert">"This reset link has expired or was already used."</p>
                    <p><A href="/forgot-password">"Ask for a new link"</A></p>
                }
                .into_any();
            }
            view! {
                <FormAlert message=form_error(error)/>
                {move || field_error(error, "token").get().map(|message| view! {
                    <p class="form-alert" role="alert">{message} " " <A href="/forgot-password">"Ask for a new link"</A></p>
                })}
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    <input type="hidden" name="token" value=token.get_untracked()/>
                    <Field label="New password" name="password" input_type="password"
                        autocomplete="new-password" hint=NewPassword::HINT
                        error=field_error(error, "password")/>
                    <Field label="Repeat the new password" name="confirm_password" input_type="password"
                        autocomplete="new-password" error=field_error(error, "confirm_password")/>
                    <SubmitButton label="Set new password" pending_label="Saving…" pending=action.pending()/>
                </ActionForm>
            }
            .into_any()
        })
    };
    view! {
        <Title text="Choose a new password"/>
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            <p>"Every session of your account is signed out when you save it."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{body}</Suspense>
        </section>
    }
}

/// Where a verification mail's link leads. Confirming takes a click: mail scanners that
/// follow links must not confirm an address on their own.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<VerifyEmail>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    let failure = Signal::derive(move || {
        form_error(error)
            .get()
            .or_else(|| field_error(error, "token").get())
    });
    view! {
        <Title text="Confirm your email"/>
        <section class="card narrow">
            <h1>"Confirm your email"</h1>
            <p>"Confirm that this address belongs to your Facehook account."</p>
            <FormAlert message=failure/>
            <ActionForm action=action attr:class="stack">
                <input type="hidden" name="token" value=token/>
                <SubmitButton label="Confirm my email" pending_label="Confirming…" pending=action.pending()/>
            </ActionForm>
        </section>
    }
}
