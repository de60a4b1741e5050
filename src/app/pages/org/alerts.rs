//! The organization's alert cards: when an endpoint counts as failing (owners and admins
//! change it; everyone sees it), and the operational webhook that receives every alert.

use crate::api::alerts::{RotateOpsWebhookSecret, SaveAlertRules, SaveOpsWebhook};
use crate::app::components::{
    field_error, form_error, Confirm, CopyButton, Field, FormAlert, SubmitButton,
};
use crate::model::alert::AlertSettingsView;
use crate::model::ids::OrgId;
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn AlertRulesCard(org_id: OrgId, settings: AlertSettingsView) -> impl IntoView {
    let save = ServerAction::<SaveAlertRules>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || save.value().get().and_then(Result::err));
    let rules = settings.rules;
    let summary = format!(
        "An endpoint is failing after {} consecutive failed attempts, or when under {} % of at least {} attempts in an hour succeed.",
        rules.failures, rules.rate_percent, rules.min_attempts
    );
    view! {
        <section class="card" aria-labelledby="alert-rules-heading">
            <h2 id="alert-rules-heading">"Alert rules"</h2>
            <p class="hint" data-testid="alert-rules">{summary}</p>
            <p class="hint">
                "Alerts appear on the " <a href="/alerts">"Alerts page"</a>
                "; each member chooses which are mailed on their account page."
            </p>
            {settings.can_edit.then(|| view! {
                <FormAlert message=form_error(error)/>
                <ActionForm action=save attr:class="stack" attr:novalidate=true>
                    <input type="hidden" name="org_id" value=org_id.to_string()/>
                    <Field label="Consecutive failed attempts" name="failures" id="alert-failures" input_type="number"
                        value=rules.failures.to_string() hint="1 to 1000" error=field_error(error, "failures")/>
                    <Field label="Success rate under (%)" name="rate_percent" id="alert-rate" input_type="number"
                        value=rules.rate_percent.to_string() hint="1 to 99, over the last hour" error=field_error(error, "rate_percent")/>
                    <Field label="… over at least this many attempts" name="min_attempts" id="alert-min-attempts" input_type="number"
                        value=rules.min_attempts.to_string() hint="1 to 100000" error=field_error(error, "min_attempts")/>
                    <SubmitButton label="Save alert rules" pending_label="Saving…" pending=save.pending()/>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
pub fn OpsWebhookCard(org_id: OrgId, settings: AlertSettingsView) -> impl IntoView {
    let save = ServerAction::<SaveOpsWebhook>::new();
    let remove = ServerAction::<SaveOpsWebhook>::new();
    let rotate = ServerAction::<RotateOpsWebhookSecret>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || save.value().get().and_then(Result::err));
    let other_error: Signal<Option<AppError>> = Signal::derive(move || {
        remove
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| rotate.value().get().and_then(Result::err))
    });
    let url = settings.webhook_url.clone();
    let state = match &url {
        Some(url) => format!("Every new alert is posted to {url}, signed with Standard Webhooks."),
        None => "Not set: alerts are not posted anywhere.".to_owned(),
    };
    let edit = settings.can_edit.then(|| {
        let (remove_org, rotate_org) = (org_id.clone(), org_id.clone());
        let secret = settings.webhook_secret.clone();
        let (shown_url, has_url) = (url.clone().unwrap_or_default(), url.is_some());
        view! {
            {secret.map(|secret| view! {
                <div class="field">
                    <p><strong>"Signing secret"</strong></p>
                    <p class="secret-row"><code class="secret" data-testid="ops-secret">{secret.clone()}</code> <CopyButton text=secret label="Copy secret"/></p>
                    <p class="hint">"Verify each message's webhook-signature with it, as for endpoints."</p>
                </div>
            })}
            <FormAlert message=form_error(error)/>
            <ActionForm action=save attr:class="stack" attr:novalidate=true>
                <input type="hidden" name="org_id" value=org_id.to_string()/>
                <Field label="Operational webhook URL" name="url" id="ops-webhook-url" input_type="url"
                    value=shown_url hint="One URL for the whole organization, e.g. your incident tool's."
                    error=field_error(error, "url")/>
                <SubmitButton label="Save webhook" pending_label="Saving…" pending=save.pending()/>
            </ActionForm>
            <FormAlert message=Signal::derive(move || other_error.get().map(|e| e.to_string()))/>
            {has_url.then(|| view! {
                <div class="inline-actions">
                    <Confirm opener="Rotate secret…"
                        question="Make a new signing secret?"
                        consequence="Messages are signed with the new secret at once; a receiver still checking the old one refuses them.">
                        <ActionForm action=rotate attr:class="inline-actions">
                            <input type="hidden" name="org_id" value=rotate_org.to_string()/>
                            <SubmitButton label="Rotate secret" pending_label="Rotating…" pending=rotate.pending() class="danger"/>
                        </ActionForm>
                    </Confirm>
                    <Confirm opener="Remove webhook…"
                        question="Remove the operational webhook?"
                        consequence="New alerts are no longer posted; messages already queued are still sent.">
                        <ActionForm action=remove attr:class="inline-actions">
                            <input type="hidden" name="org_id" value=remove_org.to_string()/>
                            <input type="hidden" name="url" value=""/>
                            <SubmitButton label="Remove webhook" pending_label="Removing…" pending=remove.pending() class="danger"/>
                        </ActionForm>
                    </Confirm>
                </div>
            })}
        }
    });
    view! {
        <section class="card" aria-labelledby="ops-webhook-heading">
            <h2 id="ops-webhook-heading">"Operational webhook"</h2>
            <p class="hint wrap-anywhere" data-testid="ops-webhook-state">{state}</p>
            {edit}
        </section>
    }
}
