//! The console's endpoint page, event catalog, delivery search and readable failures, and the
//! theme choice, through the real server on SQLite and PostgreSQL: what a page shows is what
//! receivers get, byte for byte.

mod common;

use common::console::{error_field, json, owner};
use common::dispatch::{dispatching_app, Hooked};
use common::receiver::Receiver;
use common::Backend;
use serde_json::{json, Value};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(15);

async fn call(hooked: &Hooked, function: &str, form: &[(&str, &str)]) -> Value {
    let mut full = vec![("public_id", hooked.public_id.as_str())];
    full.extend_from_slice(form);
    json(hooked.app.call_with(&hooked.owner, function, &full).await).await
}

/// The received body with its `details.timestamp` (the event's own moment) set to `timestamp`.
fn with_timestamp(body: &[u8], timestamp: &str) -> String {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let received: Value = serde_json::from_str(&text).unwrap();
    let actual = received["details"]["timestamp"].as_str().unwrap();
    text.replacen(actual, timestamp, 1)
}

async fn the_catalog_example_is_what_receivers_get(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked.set_plan("business").await;
    let endpoint = hooked
        .add_endpoint(&receiver.url("/hook"), &[("include_payload", "on")])
        .await;
    let catalog = call(&hooked, "event_catalog", &[]).await;
    assert_eq!(catalog["plan_allows_payload"], true);
    let names: Vec<&str> = catalog["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "enroll",
            "auth",
            "deletion",
            "payload_update",
            "pincode_update",
            "test"
        ]
    );
    let example = |name: &str| {
        catalog["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["example_body"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // An enroll sent with the example's values arrives as the example's bytes.
    let enroll = example("enroll");
    let parsed: Value = serde_json::from_str(&enroll).unwrap();
    assert_eq!(parsed["appId"], hooked.public_id.as_str());
    hooked
        .send_event(json!({
            "eventName": "enroll", "facialId": parsed["facialId"], "clientIp": parsed["clientIp"],
            "details": {"gender": parsed["details"]["gender"], "age": parsed["details"]["age"]},
            "payload": parsed["payload"],
        }))
        .await;
    let got = receiver.wait_for(1, SETTLE).await;
    let timestamp = parsed["details"]["timestamp"].as_str().unwrap();
    assert_eq!(with_timestamp(&got[0].body, timestamp), enroll);

    // The test event's example is what "Send test event" sends, but for its moment and the
    // address of whoever pressed the button.
    let test = json(hooked.send_test_event(&hooked.owner, &endpoint.id).await).await;
    assert_eq!(test["delivered"], true, "{test}");
    let got = receiver.wait_for(2, SETTLE).await;
    let test_example = example("test");
    let shown: Value = serde_json::from_str(&test_example).unwrap();
    let sent = with_timestamp(
        &got[1].body,
        shown["details"]["timestamp"].as_str().unwrap(),
    );
    let sent_ip = serde_json::from_str::<Value>(&sent).unwrap()["clientIp"].clone();
    let sent = sent.replacen(
        &format!("\"clientIp\":{sent_ip}"),
        &format!("\"clientIp\":{}", shown["clientIp"]),
        1,
    );
    assert_eq!(sent, test_example);

    // The endpoint page's preview is exactly what the test event sent, but for its moment,
    // with that endpoint's payload option: here on, and on an endpoint without it, off.
    let preview = call(&hooked, "test_event_body", &[("endpoint_id", &endpoint.id)]).await;
    let preview = preview.as_str().unwrap().to_owned();
    let moment = serde_json::from_str::<Value>(&preview).unwrap()["details"]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(preview.contains(r#""payload":null"#), "{preview}");
    assert_eq!(with_timestamp(&got[1].body, &moment), preview);
    let without = hooked.add_endpoint(&receiver.url("/plain"), &[]).await;
    let preview = call(&hooked, "test_event_body", &[("endpoint_id", &without.id)]).await;
    let preview = preview.as_str().unwrap().to_owned();
    assert!(!preview.contains("payload"), "{preview}");
    let test = json(hooked.send_test_event(&hooked.owner, &without.id).await).await;
    assert_eq!(test["delivered"], true, "{test}");
    let got = receiver.wait_for(3, SETTLE).await;
    let moment = serde_json::from_str::<Value>(&preview).unwrap()["details"]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(with_timestamp(&got[2].body, &moment), preview);
    let intruder = owner(&hooked.app, "catalog-intruder@example.com").await;
    for function in ["test_event_body", "event_catalog"] {
        let response = hooked
            .app
            .call_with(
                &intruder,
                function,
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &without.id),
                ],
            )
            .await;
        assert_eq!(response.status(), 404, "{function}");
    }

    // Below the Business plan the examples carry no payload, as deliveries do not.
    hooked.set_plan("premium").await;
    let catalog = call(&hooked, "event_catalog", &[]).await;
    assert_eq!(catalog["plan_allows_payload"], false);
    for event in catalog["events"].as_array().unwrap() {
        let body: Value = serde_json::from_str(event["example_body"].as_str().unwrap()).unwrap();
        assert!(body.get("payload").is_none(), "{body}");
    }
}

async fn a_test_event_can_be_sent_as_any_event_type(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let form = |kind: &'static str| -> [(&str, String); 2] {
        [
            ("endpoint_id", endpoint.id.clone()),
            ("event_type", kind.to_owned()),
        ]
    };
    let deletion = form("deletion");
    let deletion: Vec<(&str, &str)> = deletion.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = call(&hooked, "test_event_body", &deletion).await;
    let preview = preview.as_str().unwrap().to_owned();
    let sent = call(&hooked, "send_test_event", &deletion).await;
    assert_eq!(sent["delivered"], true, "{sent}");
    let got = receiver.wait_for(1, SETTLE).await;
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (body["eventName"].as_str(), body["facialId"].as_str()),
        (Some("deletion"), Some("test"))
    );
    let moment = serde_json::from_str::<Value>(&preview).unwrap()["details"]["timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(with_timestamp(&got[0].body, &moment), preview);

    // It is still a test: listed as one, and its detail shows the bytes that went out.
    let delivery_id = sent["delivery_id"].as_str().unwrap();
    let detail = call(&hooked, "get_delivery", &[("delivery_id", delivery_id)]).await;
    assert_eq!(detail["summary"]["event_name"], "test");
    assert_eq!(
        detail["request"]["body"].as_str().unwrap().as_bytes(),
        &got[0].body[..]
    );
    let tests = call(&hooked, "list_deliveries", &[("event", "test")]).await;
    assert_eq!(tests["items"].as_array().unwrap().len(), 1);

    for bad in ["login", "TEST", "enroll\0"] {
        let refused = hooked
            .app
            .call_with(
                &hooked.owner,
                "send_test_event",
                &[
                    ("public_id", &hooked.public_id),
                    ("endpoint_id", &endpoint.id),
                    ("event_type", bad),
                ],
            )
            .await;
        let (status, field, _) = error_field(refused).await;
        assert_eq!((status, field.as_str()), (422, "event_type"), "{bad:?}");
    }
    assert_eq!(receiver.count(), 1);
}

async fn the_detail_shows_the_bytes_that_were_signed(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let endpoint = hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let event = hooked
        .send_event(json!({
            "eventName": "enroll", "facialId": "face-bytes", "clientIp": "2001:db8::7",
            "details": {"age": 40}, "payload": {"z": 1, "a": [true, null], "m": "é\u{1F600}"}
        }))
        .await;
    let delivery_id = hooked.wait_for_status(&event, "delivered", SETTLE).await[0]
        .id
        .clone();
    let detail = call(
        &hooked,
        "get_delivery",
        &[("delivery_id", delivery_id.as_str())],
    )
    .await;
    let shown = detail["request"]["body"].as_str().unwrap();
    let got = receiver.wait_for(1, SETTLE).await;
    assert_eq!(shown.as_bytes(), &got[0].body[..]);
    // The signature the receiver got verifies over what the page shows.
    standardwebhooks::Webhook::new(&endpoint.secret)
        .unwrap()
        .verify(shown.as_bytes(), &got[0].headers)
        .expect("the shown body is the signed one");
}

async fn search_finds_a_delivery_by_any_of_its_ids(backend: Backend) {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    hooked.add_endpoint(&receiver.url("/hook"), &[]).await;
    let first = hooked.enroll("face-search-1").await;
    let second = hooked.enroll("face-search-2").await;
    let delivery = hooked.wait_for_status(&first, "delivered", SETTLE).await[0]
        .id
        .clone();
    hooked.wait_for_status(&second, "delivered", SETTLE).await;
    for q in [
        delivery.as_str(),
        first.as_str(),
        "face-search-1",
        " face-search-1 ",
    ] {
        let page = call(&hooked, "list_deliveries", &[("q", q)]).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{q}: {page}");
        assert_eq!(items[0]["id"], delivery.as_str());
    }
    let none = call(&hooked, "list_deliveries", &[("q", "del_nothing")]).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let all = call(&hooked, "list_deliveries", &[("q", "")]).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    for bad in ["del\0x".to_owned(), "x".repeat(201)] {
        let mut form = vec![("public_id", hooked.public_id.as_str())];
        form.push(("q", &bad));
        let refused = hooked
            .app
            .call_with(&hooked.owner, "list_deliveries", &form)
            .await;
        let (status, field, _) = error_field(refused).await;
        assert_eq!((status, field.as_str()), (422, "q"));
    }
}

async fn an_endpoint_page_has_its_own_health_chart_and_failures_in_words(backend: Backend) {
    let good = Receiver::start("127.0.0.1:0").await;
    let hooked = dispatching_app(backend, "0s").await;
    let ok = hooked
        .add_endpoint(&good.url("/ok"), &[("description", "Primary receiver")])
        .await;
    // Nothing listens here once the receiver is gone: the connection is refused.
    let gone = Receiver::start("127.0.0.1:0").await;
    let refused_url = gone.url("/gone");
    gone.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = hooked.add_endpoint(&refused_url, &[]).await;
    let event = hooked.enroll("face-page").await;
    let deadline = std::time::Instant::now() + SETTLE;
    while hooked
        .deliveries(&event)
        .await
        .iter()
        .any(|d| d.status != "delivered" && d.status != "failed")
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let page = call(&hooked, "get_endpoint", &[("endpoint_id", &ok.id)]).await;
    assert_eq!(page["description"], "Primary receiver");
    assert_eq!(page["health"]["recent_total"], 1);
    assert!(page["health"]["last_delivery_at_ms"].as_i64().unwrap() > 0);
    let chart = call(&hooked, "delivery_chart", &[("endpoint_id", &ok.id)]).await;
    let count = |chart: &Value, key: &str| -> i64 {
        chart["hours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[key].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        (count(&chart, "delivered"), count(&chart, "not_delivered")),
        (1, 0)
    );
    let chart = call(&hooked, "delivery_chart", &[("endpoint_id", &refused.id)]).await;
    assert_eq!(
        (count(&chart, "delivered"), count(&chart, "not_delivered")),
        (0, 1)
    );
    let whole = call(&hooked, "delivery_chart", &[]).await;
    assert_eq!(
        (count(&whole, "delivered"), count(&whole, "not_delivered")),
        (1, 1)
    );

    let listed = call(&hooked, "list_deliveries", &[("endpoint", &refused.id)]).await;
    let item = &listed["items"][0];
    assert_eq!(item["last_error_class"], "connect");
    let message = item["last_error_message"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(message.contains("refused"), "{message}");
    let listed = call(&hooked, "list_deliveries", &[("endpoint", &ok.id)]).await;
    assert_eq!(
        listed["items"][0]["endpoint_description"],
        "Primary receiver"
    );

    // The page itself, and a 404 for a missing endpoint or another owner's.
    let path = format!("/apps/{}/webhooks/{}", hooked.public_id, ok.id);
    let html = hooked
        .owner
        .get(hooked.app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("Primary receiver") && html.contains(&good.url("/ok")));
    let missing = format!("/apps/{}/webhooks/ep_missing", hooked.public_id);
    let response = hooked
        .owner
        .get(hooked.app.url(&missing))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let intruder = owner(&hooked.app, "page-intruder@example.com").await;
    let response = intruder.get(hooked.app.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 404);
    for function in ["get_endpoint", "delivery_chart"] {
        let response = hooked
            .app
            .call_with(
                &intruder,
                function,
                &[("public_id", &hooked.public_id), ("endpoint_id", &ok.id)],
            )
            .await;
        assert_eq!(response.status(), 404, "{function}");
    }
    let refused_page = format!(
        "/apps/{}/deliveries?endpoint={}",
        hooked.public_id, refused.id
    );
    let html = hooked
        .owner
        .get(hooked.app.url(&refused_page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Connection refused"),
        "the list says it in words"
    );
}

async fn the_theme_is_remembered_per_browser(backend: Backend) {
    let hooked = dispatching_app(backend, "0s").await;
    let browser = common::new_client();
    let chosen = hooked
        .app
        .post_plain_form_with(&browser, "set_theme", "/login", &[("theme", "dark")])
        .await;
    assert_eq!(chosen.status(), 303);
    let cookies: Vec<&str> = chosen
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("facehook_theme=dark;")),
        "{cookies:?}"
    );
    // The browser keeps the cookie; the next page arrives dark from its first byte.
    let page = browser
        .get(hooked.app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"data-theme="dark""#), "{page}");
    assert!(page.contains(r#"<meta name="color-scheme" content="dark""#));
    let default = common::new_client()
        .get(hooked.app.url("/login"))
        .send()
        .await
        .unwrap();
    assert!(default
        .text()
        .await
        .unwrap()
        .contains(r#"data-theme="system""#));
    let refused = hooked
        .app
        .call_with(&browser, "set_theme", &[("theme", "neon")])
        .await;
    let (status, field, _) = error_field(refused).await;
    assert_eq!((status, field.as_str()), (422, "theme"));
}

/// No page can be framed or sniffed, and no address (which may hold a token) is sent to
/// another site as a Referer.
async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = common::spawn_app(backend).await;
    for path in [
        "/login",
        "/reset-password?token=fhr_x",
        "/api/v1/docs",
        "/nowhere",
    ] {
        let response = app.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(
            header("content-security-policy"),
            "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
}

on_both_backends!(
    every_response_carries_the_security_headers,
    the_catalog_example_is_what_receivers_get,
    a_test_event_can_be_sent_as_any_event_type,
    the_detail_shows_the_bytes_that_were_signed,
    search_finds_a_delivery_by_any_of_its_ids,
    an_endpoint_page_has_its_own_health_chart_and_failures_in_words,
    the_theme_is_remembered_per_browser,
);
