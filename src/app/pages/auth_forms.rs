//! `/login`, its second step `/login/code`, and `/signup`: plain forms that work without
//! JavaScript.

use crate::api::auth::{sign_in_code_pending, SignIn, SignInCode, SignUp};
use crate::app::components::{field_error, form_error, Field, FormAlert, SubmitButton};
use crate::model::{AppError, NewPassword};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let signed_out = move || query.read().get("signed_out").is_some();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));

    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Show when=signed_out>
                <p class="flash" role="status">"You have signed out."</p>
            </Show>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                <Field label="Email" name="email" input_type="email" autocomplete="email"
                    error=field_error(error, "email")/>
                <Field label="Password" name="password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "password")/>
                <SubmitButton label="Sign in" pending_label="Signing in…" pending=action.pending()/>
            </ActionForm>
            <p class="aside"><A href="/forgot-password">"Forgot password?"</A></p>
            <p class="aside">"New to Facehook? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let query = use_query_map();
    // Where to go once signed in (an invitation link, say); the sign-in page carries it on.
    let next = move || query.read().get("next").unwrap_or_default();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));

    view! {
        <Title text="Sign up"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="next" value=next/>
                <Field label="Email" name="email" input_type="email" autocomplete="email"
                    error=field_error(error, "email")/>
                <Field label="Password" name="password" input_type="password"
                    autocomplete="new-password" hint=NewPassword::HINT
                    error=field_error(error, "password")/>
                <SubmitButton label="Create account" pending_label="Creating account…" pending=action.pending()/>
            </ActionForm>
            <p class="aside">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}

/// The second step of a sign-in with two-factor on: a code from the app, or a recovery code.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let action = ServerAction::<SignInCode>::new();
    let pending = Resource::new(|| (), |_| sign_in_code_pending());
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    let body = move || {
        Suspend::new(async move {
            if !pending.await.unwrap_or(false) && error.get_untracked().is_none() {
                return view! {
                    <p>"No sign-in is waiting for a code, or it took longer than 10 minutes."</p>
                    <p><A href="/login">"Sign in again"</A></p>
                }
                .into_any();
            }
            view! {
                <p>"Open your authenticator app and type the 6-digit code it shows for Facehook."</p>
                <FormAlert message=form_error(error)/>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    <Field label="Code" name="code" autocomplete="one-time-code"
                        hint="Lost your phone? Type one of your recovery codes instead."
                        error=field_error(error, "code")/>
                    <SubmitButton label="Sign in" pending_label="Checking…" pending=action.pending()/>
                </ActionForm>
                <p class="aside"><A href="/login">"Start again"</A></p>
            }
            .into_any()
        })
    };
    view! {
        <Title text="Two-factor sign-in"/>
        <section class="card narrow">
            <h1>"Two-factor sign-in"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{body}</Suspense>
        </section>
    }
}
