//! Two-factor sign-in: its summary on `/account`, and `/account/two-factor` to set it up
//! (QR code and secret, then a code), see and renew recovery codes, or turn it off.

use crate::api::security::{
    get_two_factor, take_recovery_codes, BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor,
    RegenerateRecoveryCodes,
};
use crate::app::components::{
    field_error, form_error, Confirm, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::app::format::utc_time;
use crate::model::security::{Enrolment, TwoFactorView};
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn TwoFactorSummaryCard() -> impl IntoView {
    let state = Resource::new(|| (), |_| get_two_factor());
    let summary = move || {
        Suspend::new(async move {
            let state = state.await.ok()?;
            Some(match state.enabled_at {
                Some(since) => view! {
                    <p><span class="badge health-good">"On"</span> {format!(" since {}. {} recovery codes left.", utc_time(since), state.recovery_codes_left)}</p>
                    <p><A href="/account/two-factor" attr:class="button-link">"Manage two-factor sign-in"</A></p>
                }
                .into_any(),
                None => view! {
                    <p><span class="badge health-warn">"Off"</span> " Signing in needs only your password."</p>
                    <p><A href="/account/two-factor" attr:class="button-link">"Set up two-factor sign-in"</A></p>
                }
                .into_any(),
            })
        })
    };
    view! {
        <section class="card" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-factor sign-in"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{summary}</Suspense>
        </section>
    }
}

#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let state = Resource::new(|| (), |_| get_two_factor());
    let fresh_codes = Resource::new(|| (), |_| take_recovery_codes());
    let body = move || {
        Suspend::new(async move {
            let codes = fresh_codes.await.unwrap_or_default();
            match state.await {
                Ok(state) => view! { <TwoFactorState state codes/> }.into_any(),
                Err(err) => view! { <section class="card"><p class="form-alert" role="alert">{err.to_string()}</p></section> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Two-factor sign-in"/>
        <p class="breadcrumb"><A href="/account">"Account"</A> " / Two-factor sign-in"</p>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>{body}</Suspense>
    }
}

#[component]
fn TwoFactorState(state: TwoFactorView, codes: Vec<String>) -> impl IntoView {
    let required = state.required;
    match (state.enabled_at, state.enrolment) {
        (Some(since), _) => view! {
            {(!codes.is_empty()).then(|| view! { <RecoveryCodesCard codes/> })}
            <section class="card" aria-labelledby="two-factor-heading">
                <h1 id="two-factor-heading">"Two-factor sign-in"</h1>
                <p><span class="badge health-good">"On"</span> {format!(" since {}. Signing in asks for a code from your authenticator app.", utc_time(since))}</p>
                <p data-testid="codes-left">{format!("{} of 10 recovery codes left.", state.recovery_codes_left)}</p>
                <NewRecoveryCodesForm/>
                {(!required).then(|| view! { <TurnOffForm/> })}
            </section>
        }
        .into_any(),
        (None, Some(enrolment)) => view! { <EnrolCard enrolment required/> }.into_any(),
        (None, None) => view! { <StartCard required/> }.into_any(),
    }
}

#[component]
fn StartCard(required: bool) -> impl IntoView {
    let begin = ServerAction::<BeginTwoFactor>::new();
    view! {
        <section class="card" aria-labelledby="two-factor-heading">
            <h1 id="two-factor-heading">"Set up two-factor sign-in"</h1>
            {required.then(|| view! { <p class="notice" role="status">"This server requires two-factor sign-in: set it up to use the console."</p> })}
            <p>"After your password, signing in will ask for a 6-digit code from an authenticator app on your phone (1Password, Google Authenticator, Authy, …). Someone who learns your password still cannot sign in."</p>
            <ActionForm action=begin attr:class="inline-actions">
                <SubmitButton label="Set up two-factor sign-in" pending_label="Starting…" pending=begin.pending()/>
            </ActionForm>
        </section>
    }
}

#[component]
fn EnrolCard(enrolment: Enrolment, required: bool) -> impl IntoView {
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let restart = ServerAction::<BeginTwoFactor>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || confirm.value().get().and_then(Result::err));
    // The SVG is drawn by our own server from the otpauth URL; only its <svg> element is used.
    let svg = enrolment
        .qr_svg
        .find("<svg")
        .map(|start| enrolment.qr_svg[start..].to_owned())
        .unwrap_or_default();
    let grouped = enrolment
        .secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <section class="card" aria-labelledby="two-factor-heading">
            <h1 id="two-factor-heading">"Set up two-factor sign-in"</h1>
            {required.then(|| view! { <p class="notice" role="status">"This server requires two-factor sign-in: set it up to use the console."</p> })}
            <h2 class="step">"1. Scan this QR code with your authenticator app"</h2>
            <div class="qr" role="img" aria-label="QR code holding your two-factor secret" inner_html=svg></div>
            <p class="hint">"Cannot scan it? Type this key into the app instead:"</p>
            <p class="secret-row">
                <code class="secret" data-testid="totp-secret" data-secret=enrolment.secret.clone()>{grouped}</code>
                " " <CopyButton text=enrolment.secret.clone() label="Copy the key"/>
            </p>
            <h2 class="step">"2. Type the 6-digit code the app shows, and your password"</h2>
            <FormAlert message=form_error(error)/>
            <ActionForm action=confirm attr:class="stack" attr:novalidate=true>
                <Field label="Code" name="code" input_type="text" autocomplete="one-time-code"
                    hint="It changes every 30 seconds." error=field_error(error, "code")/>
                <Field label="Your password" name="password" id="enrol-password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "password")/>
                <SubmitButton label="Turn on two-factor sign-in" pending_label="Checking…" pending=confirm.pending()/>
            </ActionForm>
            <ActionForm action=restart attr:class="inline-actions">
                <SubmitButton label="Start over with a new key" pending_label="Starting…" pending=restart.pending() class="secondary"/>
            </ActionForm>
        </section>
    }
}

#[component]
fn RecoveryCodesCard(codes: Vec<String>) -> impl IntoView {
    let all = codes.join("\n");
    view! {
        <section class="card secret-once" aria-labelledby="codes-heading">
            <h2 id="codes-heading">"Your recovery codes"</h2>
            <p>"Each code signs you in once if you lose your phone. Keep them somewhere safe, such as a password manager: they are shown only now."</p>
            <ul class="recovery-codes" data-testid="recovery-codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
            <CopyButton text=all label="Copy all recovery codes"/>
        </section>
    }
}

#[component]
fn NewRecoveryCodesForm() -> impl IntoView {
    let action = ServerAction::<RegenerateRecoveryCodes>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <details class="disclosure">
            <summary>"Make new recovery codes…"</summary>
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <Field label="Your password" name="password" id="codes-password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "password")/>
                <SubmitButton label="Make new recovery codes" pending_label="Making…" pending=action.pending() class="secondary"/>
            </ActionForm>
        </details>
    }
}

#[component]
fn TurnOffForm() -> impl IntoView {
    let action = ServerAction::<DisableTwoFactor>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <Confirm opener="Turn off two-factor sign-in…"
            question="Turn off two-factor sign-in?"
            consequence="Signing in will need only your password, and your recovery codes stop working. We mail you that it was turned off.">
            <FormAlert message=form_error(error)/>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <Field label="Your password" name="password" id="off-password" input_type="password"
                    autocomplete="current-password" error=field_error(error, "password")/>
                <Field label="Code from your app, or a recovery code" name="code" id="off-code"
                    autocomplete="one-time-code" error=field_error(error, "code")/>
                <SubmitButton label="Turn off two-factor sign-in" pending_label="Turning off…" pending=action.pending() class="danger"/>
            </ActionForm>
        </Confirm>
    }
}
