//! The account's alert mail: which alert kinds are mailed to it (operators also see the
//! server's own alerts). One form, one repeated field, one primary action.

use crate::api::alerts::{alert_mail_settings, SaveAlertMail};
use crate::app::components::{field_error, form_error, FormAlert, SubmitButton};
use crate::model::alert::{AlertKind, AlertMailChoices};
use crate::model::AppError;
use leptos::prelude::*;

#[component]
pub fn AlertMailCard() -> impl IntoView {
    let choices = Resource::new(|| (), |_| alert_mail_settings());
    let content = move || {
        Suspend::new(async move {
            choices
                .await
                .ok()
                .map(|choices| view! { <AlertMailForm choices/> })
        })
    };
    view! {
        <section class="card" aria-labelledby="alert-mail-heading">
            <h2 id="alert-mail-heading">"Alert emails"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        </section>
    }
}

#[component]
fn AlertMailForm(choices: AlertMailChoices) -> impl IntoView {
    let save = ServerAction::<SaveAlertMail>::new();
    let error: Signal<Option<AppError>> =
        Signal::derive(move || save.value().get().and_then(Result::err));
    let kinds: Vec<AlertKind> = AlertKind::ALL
        .into_iter()
        .filter(|kind| choices.is_operator || !kind.for_operators())
        .collect();
    view! {
        <p class="hint">
            {format!("Mailed to {} for every organization you belong to. Every alert also shows on the ", choices.email)}
            <a href="/alerts">"Alerts page"</a>"."
        </p>
        {if !choices.mail_configured {
            Some(view! { <p class="notice">"This server sends no mail (its operator has not set SMTP up): your choices apply once it does."</p> })
        } else if !choices.email_verified {
            Some(view! { <p class="notice">"Your email is not confirmed: alerts are mailed once it is (see the top of this page)."</p> })
        } else {
            None
        }}
        <FormAlert message=field_error(error, "kinds")/>
        <ActionForm action=save attr:class="stack">
            <fieldset class="events">
                <legend>"Mail me when"</legend>
                {kinds.into_iter().enumerate().map(|(index, kind)| {
                    let id = format!("alert-mail-{}", kind.as_str().replace('.', "-"));
                    let checked = choices.chosen.iter().any(|c| c == kind.as_str());
                    view! {
                        <div class="check">
                            <input type="checkbox" id=id.clone() name=format!("kinds[{index}]")
                                value=kind.as_str() checked=checked/>
                            <label for=id>
                                <code>{kind.as_str()}</code>" — "{kind.description()}
                            </label>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <FormAlert message=form_error(error)/>
            <SubmitButton label="Save alert emails" pending_label="Saving…" pending=save.pending()/>
        </ActionForm>
    }
}
