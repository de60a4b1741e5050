//! `/admin`: the operator's view of accounts, organizations and application plans.

use crate::api::admin::{operator_overview, system_overview, SetAccountDisabled, SetAppPlan};
use crate::app::components::{form_error, FormAlert};
use crate::app::format::utc_time;
use crate::app::format::PlanBadge;
use crate::app::pages::NotFound;
use crate::model::admin::{AdminAccount, AdminApp};
use crate::model::app::Plan;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminPage() -> impl IntoView {
    let set_plan = ServerAction::<SetAppPlan>::new();
    let set_disabled = ServerAction::<SetAccountDisabled>::new();
    let overview = Resource::new(
        move || (set_plan.version().get(), set_disabled.version().get()),
        |_| operator_overview(),
    );
    let plan_error: Signal<Option<AppError>> =
        Signal::derive(move || set_plan.value().get().and_then(Result::err));
    let account_error: Signal<Option<AppError>> =
        Signal::derive(move || set_disabled.value().get().and_then(Result::err));

    let content = move || {
        Suspend::new(async move {
            match overview.await {
                Ok(overview) => view! {
                    <section class="card">
                        <h1>"Operator"</h1>
                        <h2>"Accounts"</h2>
                        <FormAlert message=form_error(account_error)/>
                        <table class="list">
                            <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Applications"</th><th scope="col">"Status"</th><th scope="col">"Action"</th></tr></thead>
                            <tbody>
                                {overview.accounts.into_iter().map(|account| view! { <AccountRow account set_disabled/> }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <section class="card" aria-labelledby="orgs-heading">
                        <h2 id="orgs-heading">"Organizations"</h2>
                        <table class="list">
                            <thead><tr><th scope="col">"Organization"</th><th scope="col">"Members"</th><th scope="col">"Applications"</th></tr></thead>
                            <tbody>
                                {overview.orgs.into_iter().map(|org| view! {
                                    <tr>
                                        <td>{org.name}" "<code>{org.id.to_string()}</code></td>
                                        <td>{org.members}</td>
                                        <td>{if org.apps.is_empty() { "—".to_owned() } else { org.apps }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <section class="card">
                        <h2>"Applications"</h2>
                        <FormAlert message=form_error(plan_error)/>
                        <table class="list">
                            <thead><tr><th scope="col">"Application"</th><th scope="col">"Organization"</th><th scope="col">"Endpoints"</th><th scope="col">"Plan"</th><th scope="col">"Change plan"</th></tr></thead>
                            <tbody>
                                {overview.apps.into_iter().map(|app| view! { <AppRow app set_plan/> }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }
                .into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(err) => view! { <p class="form-alert" role="alert">{err.to_string()}</p> }.into_any(),
            }
        })
    };
    view! {
        <Title text="Operator"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>{content}</Suspense>
        <SystemPanel/>
    }
}

/// Queue depth, throughput and the dispatcher replicas; the same figures as `/metrics`.
#[component]
fn SystemPanel() -> impl IntoView {
    let system = Resource::new(|| (), |_| system_overview());
    let content = move || {
        Suspend::new(async move {
            let system = system.await.ok()?;
            let oldest = system
                .oldest_pending_age_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_else(|| "—".to_owned());
            let replicas = system
                .replicas
                .iter()
                .map(|r| {
                    view! {
                        <tr>
                            <td><code>{r.replica_id.clone()}</code></td>
                            <td>{r.host.clone()}</td>
                            <td>{utc_time(r.started_at_ms)}</td>
                            <td>{utc_time(r.last_seen_at_ms)}</td>
                            <td>{r.delivered_last_minute}</td>
                            <td>{if r.live { "Live" } else { "Silent" }}</td>
                        </tr>
                    }
                })
                .collect_view();
            Some(view! {
                <section class="card" aria-labelledby="system-heading" data-testid="system-view">
                    <h2 id="system-heading">"Delivery system"</h2>
                    <dl class="counts">
                        <div><dt>"Pending"</dt><dd>{system.pending}</dd></div>
                        <div><dt>"Waiting in order"</dt><dd>{system.held}</dd></div>
                        <div><dt>"Retrying"</dt><dd>{system.retrying}</dd></div>
                        <div><dt>"Delivering"</dt><dd>{system.delivering}</dd></div>
                        <div><dt>"Failed"</dt><dd>{system.failed}</dd></div>
                        <div><dt>"Deliveries/s (1 min)"</dt><dd>{format!("{:.1}", system.deliveries_per_second())}</dd></div>
                        <div><dt>"Oldest pending"</dt><dd>{oldest}</dd></div>
                    </dl>
                    <h3>"Dispatcher replicas"</h3>
                    <table class="list">
                        <thead><tr><th scope="col">"Replica"</th><th scope="col">"Host"</th><th scope="col">"Started"</th><th scope="col">"Last heartbeat"</th><th scope="col">"Delivered (1 min)"</th><th scope="col">"State"</th></tr></thead>
                        <tbody>{replicas}</tbody>
                    </table>
                    <p class="hint">"Also at " <code>"GET /metrics"</code> " in Prometheus format."</p>
                </section>
            })
        })
    };
    view! { <Suspense fallback=|| ()>{content}</Suspense> }
}

#[component]
fn AccountRow(
    account: AdminAccount,
    set_disabled: ServerAction<SetAccountDisabled>,
) -> impl IntoView {
    let (label, value) = if account.disabled {
        ("Enable", "false")
    } else {
        ("Disable", "true")
    };
    view! {
        <tr>
            <td>{account.email.clone()}</td>
            <td>{if account.is_operator { "Operator" } else { "Member" }}</td>
            <td>{account.app_count}</td>
            <td>
                {if account.disabled { "Disabled" } else { "Active" }}
                <span class="status-next" data-testid="account-protection">
                    {if account.email_verified { "email confirmed" } else { "email not confirmed" }}
                    ", "
                    {if account.two_factor { "two-factor on" } else { "two-factor off" }}
                </span>
            </td>
            <td>
                <ActionForm action=set_disabled attr:class="inline-form">
                    <input type="hidden" name="account_id" value=account.id.to_string()/>
                    <input type="hidden" name="disabled" value=value/>
                    <button type="submit" class="secondary" aria-label=format!("{label} {}", account.email)>{label}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn AppRow(app: AdminApp, set_plan: ServerAction<SetAppPlan>) -> impl IntoView {
    let select_id = format!("plan-{}", app.public_id);
    view! {
        <tr>
            <td>{app.name.clone()}" "<code>{app.public_id.to_string()}</code></td>
            <td>{app.organization}</td>
            <td>{app.endpoint_count}</td>
            <td><PlanBadge plan=app.plan/></td>
            <td>
                <ActionForm action=set_plan attr:class="inline-form">
                    <input type="hidden" name="public_id" value=app.public_id.to_string()/>
                    <label for=select_id.clone() class="visually-hidden">{format!("Plan for {}", app.name)}</label>
                    <select id=select_id name="plan">
                        {Plan::ALL.into_iter().map(|plan| view! {
                            <option value=plan.as_str() selected=plan == app.plan>{plan.label()}</option>
                        }).collect_view()}
                    </select>
                    " "
                    <button type="submit" class="secondary" aria-label=format!("Set plan of {}", app.name)>"Set plan"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
