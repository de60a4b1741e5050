//! Management API helpers: organization tokens made in the console, and JSON requests
//! sent with them.

use super::console::json;
use super::TestApp;
use serde_json::Value;

/// Makes a token with `role` in `org_id` as `client` would on the settings page, and returns
/// the secret the page shows once.
pub async fn token(app: &TestApp, client: &reqwest::Client, org_id: &str, role: &str) -> String {
    let made = app
        .call_with(
            client,
            "create_api_token",
            &[
                ("org_id", org_id),
                ("name", &format!("{role} token")),
                ("role", role),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(
        made.status(),
        200,
        "{}",
        made.text().await.unwrap_or_default()
    );
    json(app.call_with(client, "org_settings", &[]).await).await["issued_token"]
        .as_str()
        .expect("the new token, shown once")
        .to_owned()
}

/// A management API client for one token.
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl Api<'_> {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body), None)
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body), None)
            .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None, None).await
    }

    /// Every item of a list, page by page with `limit`; panics past 100 pages.
    pub async fn all(&self, path: &str, limit: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..100 {
            let joiner = if path.contains('?') { '&' } else { '?' };
            let page_path = match &after {
                Some(after) => format!("{path}{joiner}limit={limit}&after={after}"),
                None => format!("{path}{joiner}limit={limit}"),
            };
            let (status, page) = self.get(&page_path).await;
            assert_eq!(status, 200, "{page}");
            items.extend(page["data"].as_array().expect("data").iter().cloned());
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return items,
            }
        }
        panic!("more than 100 pages of {path}");
    }
}
