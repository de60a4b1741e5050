//! The account's sessions: where and when each is signed in, this one marked; any other can
//! be signed out, or all of them at once.

use crate::api::security::{list_sessions, RevokeSession, SignOutOtherSessions};
use crate::app::components::{Confirm, SubmitButton};
use crate::app::pages::deliveries::When;
use crate::model::security::SessionView;
use leptos::prelude::*;

#[component]
pub fn SessionsCard() -> impl IntoView {
    let sessions = Resource::new(|| (), |_| list_sessions());
    let sign_out_others = ServerAction::<SignOutOtherSessions>::new();
    let list = move || {
        Suspend::new(async move {
            match sessions.await {
                Ok(list) => {
                    let others = list.sessions.iter().filter(|s| !s.current).count();
                    let now_ms = list.now_ms;
                    view! {
                        <ul class="session-list" data-testid="sessions">
                            {list.sessions.into_iter().map(|session| view! { <SessionItem session now_ms/> }).collect_view()}
                        </ul>
                        <Show when=move || { others > 0 }>
                            <Confirm opener="Sign out everywhere else…"
                                question=format!("Sign out the {others} other session{}?", if others == 1 { "" } else { "s" })
                                consequence="Each has to sign in again with the password (and code). This session stays signed in.">
                                <ActionForm action=sign_out_others attr:class="inline-actions">
                                    <SubmitButton label="Sign out everywhere else" pending_label="Signing out…" pending=sign_out_others.pending() class="danger"/>
                                </ActionForm>
                            </Confirm>
                        </Show>
                    }
                    .into_any()
                }
                Err(err) => {
                    view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any()
                }
            }
        })
    };
    view! {
        <section class="card" id="sessions" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="hint">"Where your account is signed in. Sign out any you do not recognise, then change your password."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>{list}</Suspense>
        </section>
    }
}

#[component]
fn SessionItem(session: SessionView, now_ms: i64) -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let browser = session.browser.clone();
    view! {
        <li class="session" data-testid="session">
            <div class="session-what">
                <strong>{session.browser}</strong>
                {session.current.then(|| view! { " " <span class="badge health-good">"This session"</span> })}
            </div>
            <p class="hint session-facts">
                <span>{session.ip}</span>
                <span>"signed in " <When at_ms=session.signed_in_at now_ms/></span>
                <span>"last seen " <When at_ms=session.last_seen_at now_ms/></span>
            </p>
            {(!session.current).then(|| view! {
                <Confirm opener="Sign out…"
                    question=format!("Sign out the session on {browser}?")
                    consequence="It has to sign in again with the password (and code).">
                    <ActionForm action=revoke attr:class="inline-actions">
                        <input type="hidden" name="session_id" value=session.id.clone()/>
                        <SubmitButton label="Sign out this session" pending_label="Signing out…" pending=revoke.pending() class="danger"/>
                    </ActionForm>
                </Confirm>
            })}
        </li>
    }
}
