//! Alerts on SQLite and PostgreSQL: an endpoint whose receiver refuses connections raises
//! `endpoint.failing` once, then `delivery.exhausted` grouped, the disable warnings, then
//! `endpoint.disabled`; bringing the receiver back and re-enabling raises
//! `endpoint.recovered` and closes the episode. Mails reach a real SMTP server, the
//! operational webhook's messages verify with the `standardwebhooks` crate, and a restart
//! sends nothing again. Plus the settings' validation and who may change them.

mod common;

use common::console::{json, owner, save_endpoint};
use common::dispatch::{dispatching_app_with, loopback_dispatch, Hooked};
use common::orgs::current_org;
use common::receiver::Receiver;
use common::smtp::{free_port, SmtpServer};
use common::Backend;
use facehook::server::alerts::{AlertSettings, Evaluator};
use facehook::server::clock::now_ms;
use facehook::server::config::ServeConfig;
use facehook::server::dispatch::DispatchMetrics;
use facehook::server::store::{AttemptOutcome, AttemptRecord, EndpointVerdict, NextStep};
use facehook::startup::Application;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OWNER: &str = "owner@example.com";
const BYSTANDER: &str = "bystander@example.com";
const ENDPOINT_KINDS: [&str; 5] = [
    "endpoint.failing",
    "endpoint.disable_warning",
    "endpoint.disabled",
    "endpoint.recovered",
    "delivery.exhausted",
];
/// An endpoint failing this long is disabled (FACEHOOK_DISABLE_AFTER_DAYS, in seconds).
const DISABLE_AFTER_SECS: f64 = 3.0;

fn alerting(config: &mut ServeConfig, smtp: &SmtpServer) {
    loopback_dispatch(config, "0s,100ms");
    config.dispatch.disable_failing_after_days = DISABLE_AFTER_SECS / 86_400.0;
    config.mail.smtp_url = Some(smtp.url());
    config.mail.mail_from = Some("Facehook <facehook@example.com>".to_owned());
    config.require_verified_email = Some(false);
    config.alert_check_ms = 100;
}

async fn alerts(hooked: &Hooked) -> Vec<Value> {
    let page = json(
        hooked
            .app
            .call_with(&hooked.owner, "list_alerts", &[])
            .await,
    )
    .await;
    let mut alerts = page["alerts"].as_array().cloned().unwrap_or_default();
    alerts.reverse(); // oldest first
    alerts
}

fn kinds(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn wait_for_alert(hooked: &Hooked, kind: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let alerts = alerts(hooked).await;
        if kinds(&alerts).iter().any(|k| k == kind) {
            return alerts;
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} alert; got {:?}",
            kinds(&alerts)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(alerts: &[Value], kind: &str) -> usize {
    alerts.iter().filter(|a| a["kind"] == kind).count()
}

async fn an_outage_raises_each_alert_once_and_recovery_closes_it(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let ops = Receiver::start("127.0.0.1:0").await;
    let refused = free_port();
    let hooked = dispatching_app_with(backend, |config| alerting(config, &smtp)).await;
    let account = hooked.store.account_by_email(OWNER).await.unwrap().unwrap();
    hooked.store.mark_email_verified(&account.id).await.unwrap();
    let org_id = current_org(&hooked.app, &hooked.owner).await;
    let bystander = owner(&hooked.app, BYSTANDER).await;
    let other = hooked
        .store
        .account_by_email(BYSTANDER)
        .await
        .unwrap()
        .unwrap();
    hooked.store.mark_email_verified(&other.id).await.unwrap();
    let everything: Vec<(&str, &str)> =
        ["kinds[0]", "kinds[1]", "kinds[2]", "kinds[3]", "kinds[4]"]
            .into_iter()
            .zip(ENDPOINT_KINDS)
            .collect();
    let opted = hooked
        .app
        .call_with(&bystander, "save_alert_mail", &everything)
        .await;
    assert!(opted.status().is_success());
    let post = |function: &'static str, form: Vec<(&'static str, String)>| {
        let (app, owner) = (&hooked.app, &hooked.owner);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_with(owner, function, &form).await
        }
    };
    let chosen: Vec<(&'static str, String)> =
        ["kinds[0]", "kinds[1]", "kinds[2]", "kinds[3]", "kinds[4]"]
            .into_iter()
            .zip(ENDPOINT_KINDS.map(str::to_owned))
            .collect();
    assert!(post("save_alert_mail", chosen).await.status().is_success());
    let rules = post(
        "save_alert_rules",
        vec![
            ("org_id", org_id.clone()),
            ("failures", "3".into()),
            ("rate_percent", "50".into()),
            ("min_attempts", "20".into()),
        ],
    )
    .await;
    assert!(rules.status().is_success());
    let saved = post(
        "save_ops_webhook",
        vec![("org_id", org_id.clone()), ("url", ops.url("/ops"))],
    )
    .await;
    assert!(saved.status().is_success());
    let settings = json(post("alert_settings", vec![]).await).await;
    let secret = settings["webhook_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{settings}");

    let endpoint = hooked
        .add_endpoint(&format!("http://127.0.0.1:{refused}/hook"), &[])
        .await;
    for n in 0..3 {
        hooked.enroll(&format!("face-{n}")).await;
    }
    let failing = wait_for_alert(&hooked, "endpoint.failing").await;
    assert_eq!(
        failing[0]["kind"],
        "endpoint.failing",
        "{:?}",
        kinds(&failing)
    );
    assert!(failing[0]["endpoint_href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/webhooks/{}", endpoint.id)));

    // 50 % and 90 % of the failure window pass with a warning each; past the window, the next
    // failure disables the endpoint.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !alerts(&hooked).await.iter().any(|a| {
        a["kind"] == "endpoint.disable_warning"
            && a["message"].as_str().unwrap_or_default().contains("90 %")
    }) {
        assert!(Instant::now() < deadline, "no 90 % warning");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(DISABLE_AFTER_SECS / 10.0)).await;
    hooked.enroll("face-late").await;
    wait_for_alert(&hooked, "endpoint.disabled").await;
    // Failed deliveries are counted a little after they fail: all three into the episode,
    // and into one alert (those counted after it wait for the next hour's).
    let deadline = Instant::now() + Duration::from_secs(30);
    let outage = loop {
        let alerts = alerts(&hooked).await;
        let counted = alerts
            .iter()
            .filter_map(|a| a["episode"]["deliveries_affected"].as_i64())
            .max()
            .unwrap_or(0);
        if counted >= 3 && count(&alerts, "delivery.exhausted") > 0 {
            break alerts;
        }
        assert!(
            Instant::now() < deadline,
            "{counted} of 3 exhausted deliveries counted: {:?}",
            kinds(&alerts)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen = kinds(&outage);
    assert_eq!(count(&outage, "endpoint.failing"), 1, "{seen:?}");
    assert_eq!(count(&outage, "delivery.exhausted"), 1, "{seen:?}");
    assert_eq!(count(&outage, "endpoint.disabled"), 1, "{seen:?}");
    assert_eq!(count(&outage, "endpoint.disable_warning"), 2, "{seen:?}");
    let position = |kind: &str| seen.iter().position(|k| k == kind).unwrap();
    assert!(position("endpoint.failing") < position("endpoint.disabled"));
    let exhausted = &outage[position("delivery.exhausted")];
    let grouped = exhausted["deliveries_affected"].as_i64().unwrap_or(0);
    assert!((1..=3).contains(&grouped), "grouped: {exhausted}");
    let episode = &outage[position("endpoint.disabled")]["episode"];
    assert_eq!(episode["id"], outage[0]["episode"]["id"], "one episode");
    assert!(episode["closed_at_ms"].is_null());

    // The receiver is back and the owner re-enables the endpoint: its held delivery goes out.
    let back = Receiver::start(&format!("127.0.0.1:{refused}")).await;
    let enabled = save_endpoint(
        &hooked.app,
        &hooked.owner,
        &hooked.public_id,
        &[
            ("endpoint_id", endpoint.id.as_str()),
            ("url", &format!("http://127.0.0.1:{refused}/hook")),
        ],
    )
    .await;
    assert!(enabled.status().is_success());
    back.wait_for(1, Duration::from_secs(15)).await;
    let recovered = wait_for_alert(&hooked, "endpoint.recovered").await;
    assert_eq!(count(&recovered, "endpoint.recovered"), 1);
    let closing = recovered.last().unwrap();
    assert_eq!(closing["kind"], "endpoint.recovered");
    assert!(closing["episode"]["closed_at_ms"].is_i64(), "{closing}");
    assert_eq!(closing["episode"]["deliveries_affected"], 3);

    // Every alert was mailed to the owner who chose it, and posted, signed, to the webhook.
    let raised = recovered.len();
    for kind in [
        "endpoint.failing",
        "delivery.exhausted",
        "endpoint.disabled",
        "endpoint.recovered",
    ] {
        smtp.wait_for_mails_to(OWNER, &format!("Facehook alert: {kind}"), 1)
            .await;
    }
    let posted = ops.wait_for(raised, Duration::from_secs(15)).await;
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    let mut ids = std::collections::HashSet::new();
    for message in &posted {
        verifier
            .verify(&message.body, &message.headers)
            .expect("operational webhook messages verify with the standardwebhooks crate");
        let body = message.json();
        assert!(
            ENDPOINT_KINDS.contains(&body["type"].as_str().unwrap()),
            "{body}"
        );
        assert_eq!(body["data"]["endpointId"], endpoint.id.as_str());
        assert_eq!(message.header("webhook-id"), body["data"]["alertId"]);
        ids.insert(message.header("webhook-id").to_owned());
    }
    assert_eq!(ids.len(), raised, "one message per alert");
    let mails = smtp.mails().len();
    assert!(
        !smtp
            .mails()
            .iter()
            .any(|m| m.contains(&format!("To: {BYSTANDER}")) && m.contains("Facehook alert")),
        "alerts are mailed to the organization's members only"
    );

    // A restart on the same database raises, mails and posts nothing again.
    let mut app = hooked.app;
    app.stop_serving().await;
    let mut config = ServeConfig::for_database(app.database.url.clone());
    alerting(&mut config, &smtp);
    let restarted = Application::build(config).await.expect("restart");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(restarted.run_until(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _ = stop.send(());
    let _ = running.await;
    let store = app.database.store().await;
    let alerts_now = store
        .alerts_for(&org_id.as_str().into(), false, 100)
        .await
        .expect("read alerts");
    assert_eq!(alerts_now.len(), raised, "no alert raised twice");
    assert_eq!(smtp.mails().len(), mails, "no mail sent twice");
    assert_eq!(ops.count(), raised, "no webhook message sent twice");
}

async fn settings_are_validated_and_only_owners_and_admins_change_them(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| loopback_dispatch(config, "0s")).await;
    let org_id = current_org(&hooked.app, &hooked.owner).await;
    let owner_posts = |function: &'static str, form: Vec<(&'static str, String)>| {
        let (app, owner) = (&hooked.app, &hooked.owner);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            common::console::error_field(app.call_with(owner, function, &form).await).await
        }
    };
    let (status, field, message) = owner_posts(
        "save_alert_rules",
        vec![
            ("org_id", org_id.clone()),
            ("failures", "0".into()),
            ("rate_percent", "50".into()),
            ("min_attempts", "20".into()),
        ],
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "failures"), "{message}");
    let (status, field, _) = owner_posts(
        "save_ops_webhook",
        vec![
            ("org_id", org_id.clone()),
            ("url", "http://10.0.0.1/ops".into()),
        ],
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "url"));
    let (status, field, _) = owner_posts(
        "save_alert_mail",
        vec![("kinds[0]", "endpoint.exploded".into())],
    )
    .await;
    assert_eq!((status, field.as_str()), (422, "kinds"));
    // The first account is the server's operator: it may choose the server's own alerts.
    let (status, _, _) = owner_posts(
        "save_alert_mail",
        vec![("kinds[0]", "queue.backlog".into())],
    )
    .await;
    assert_eq!(status, 200);

    // Another organization's id is not found; a viewer is refused by role.
    let stranger = owner(&hooked.app, "stranger@example.com").await;
    let foreign = hooked
        .app
        .call_with(
            &stranger,
            "save_ops_webhook",
            &[("org_id", &org_id), ("url", "https://example.com/ops")],
        )
        .await;
    assert_eq!(foreign.status().as_u16(), 404);
    let not_operator = common::console::error_field(
        hooked
            .app
            .call_with(
                &stranger,
                "save_alert_mail",
                &[("kinds[0]", "queue.backlog")],
            )
            .await,
    )
    .await;
    assert_eq!(not_operator.0, 422);
    assert!(not_operator.2.contains("operators"), "{not_operator:?}");
    let viewer = common::orgs::member(
        &hooked.app,
        &hooked.owner,
        &org_id,
        "viewer@example.com",
        "viewer",
    )
    .await;
    let refused = hooked
        .app
        .call_with(
            &viewer,
            "save_alert_rules",
            &[
                ("org_id", &org_id),
                ("failures", "2"),
                ("rate_percent", "50"),
                ("min_attempts", "20"),
            ],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 403);
    let seen = json(hooked.app.call_with(&viewer, "alert_settings", &[]).await).await;
    assert_eq!(seen["rules"]["failures"], 5, "the defaults");
    assert!(
        seen["webhook_secret"].is_null(),
        "viewers never see the secret"
    );
    assert_eq!(seen["can_edit"], false);
}

/// Two evaluators (two replicas) at once raise the success-rate alert once; an episode the
/// rate rule opened is closed only by a process that sees the rate recover.
async fn replicas_raise_once_and_only_a_judge_of_the_rate_closes_its_episode(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.alert_check_ms = 600_000;
    })
    .await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let settings = AlertSettings {
        check_every: Duration::from_secs(600),
        backlog_after_ms: 300_000,
        disable_after_ms: 86_400_000,
        console_url: "http://console.test".to_owned(),
        mail_on: false,
    };
    let judging = Arc::new(DispatchMetrics::default());
    let outcome = |healthy: bool| AttemptOutcome {
        delivery_id: "del_x".into(),
        lease_token: "lease_x".into(),
        endpoint_id: endpoint.id.as_str().into(),
        attempt: AttemptRecord::default(),
        duration: Duration::ZERO,
        next: NextStep::Delivered,
        endpoint: if healthy {
            EndpointVerdict::Healthy
        } else {
            EndpointVerdict::Failing {
                disable_if_failing_since: 0,
                reason: String::new(),
            }
        },
        order_key: None,
        pause_endpoint_until: None,
    };
    // 8 of 20 attempts succeeded: under 50 %, alternating, so never 5 failures in a row.
    let now = now_ms();
    let mixed: Vec<AttemptOutcome> = (0..20).map(|n| outcome(n % 5 < 2)).collect();
    judging.success_rates.record(&mixed, now);
    let mut first = Evaluator::new(
        hooked.store.clone(),
        settings.clone(),
        Some(judging.clone()),
    );
    let mut second = Evaluator::new(
        hooked.store.clone(),
        settings.clone(),
        Some(judging.clone()),
    );
    let (a, b) = tokio::join!(first.check(now), second.check(now));
    a.unwrap();
    b.unwrap();
    let raised = alerts(&hooked).await;
    assert_eq!(kinds(&raised), ["endpoint.failing"], "raised once");
    assert!(raised[0]["message"]
        .as_str()
        .unwrap()
        .contains("only 8 of its last 20 attempts"));

    // The endpoint delivers again; a process that sees none of its attempts cannot tell
    // whether the rate recovered, so the episode stays open …
    hooked.enroll("face-back").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // its outcome is recorded
    let mut blind = Evaluator::new(hooked.store.clone(), settings.clone(), None);
    blind.check(now_ms()).await.unwrap();
    assert_eq!(kinds(&alerts(&hooked).await), ["endpoint.failing"]);
    // … until one that sees the rate back above the threshold closes it.
    let healthy: Vec<AttemptOutcome> = (0..30).map(|_| outcome(true)).collect();
    judging.success_rates.record(&healthy, now_ms());
    first.check(now_ms()).await.unwrap();
    let closed = alerts(&hooked).await;
    assert_eq!(kinds(&closed), ["endpoint.failing", "endpoint.recovered"]);
    assert!(closed[1]["episode"]["closed_at_ms"].is_i64());
}

/// With deliveries due and no dispatcher running, the operator is told of the backlog and of
/// the silence, once each, and an organization's members see neither.
async fn a_stalled_queue_alerts_the_operator(backend: Backend) {
    let hooked = dispatching_app_with(backend, |config| {
        loopback_dispatch(config, "0s");
        config.no_dispatch = true;
        config.alert_check_ms = 600_000;
    })
    .await;
    let receiver = Receiver::start("127.0.0.1:0").await;
    hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    hooked.enroll("face-waiting").await;
    let org_id = current_org(&hooked.app, &hooked.owner).await;
    let settings = AlertSettings {
        check_every: Duration::from_secs(600),
        backlog_after_ms: 120_000,
        disable_after_ms: 86_400_000,
        console_url: "http://console.test".to_owned(),
        mail_on: false,
    };
    let mut evaluator = Evaluator::new(hooked.store.clone(), settings, None);
    // Checked as if three minutes had passed, twice: raised once.
    let later = now_ms() + 180_000;
    evaluator.check(later).await.unwrap();
    evaluator.check(later + 1_000).await.unwrap();
    let operator = hooked
        .store
        .alerts_for(&org_id.as_str().into(), true, 100)
        .await
        .unwrap();
    let mut raised: Vec<&str> = operator.iter().map(|a| a.kind.as_str()).collect();
    raised.sort();
    assert_eq!(raised, ["dispatcher.silent", "queue.backlog"]);
    assert!(
        operator.iter().all(|a| a.message.contains("3 minutes")),
        "{operator:?}"
    );
    let members = hooked
        .store
        .alerts_for(&org_id.as_str().into(), false, 100)
        .await
        .unwrap();
    assert!(members.is_empty(), "the server's alerts are the operator's");
}

on_both_backends!(
    a_stalled_queue_alerts_the_operator,
    replicas_raise_once_and_only_a_judge_of_the_rate_closes_its_episode,
    an_outage_raises_each_alert_once_and_recovery_closes_it,
    settings_are_validated_and_only_owners_and_admins_change_them,
);
