//! Console helpers: call server functions as a signed-in owner would.

use super::{new_client, TestApp};
use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery";

/// Signs a new client up as `email`, then in; the app's first account is the operator.
pub async fn owner(app: &TestApp, email: &str) -> reqwest::Client {
    let client = new_client();
    let credentials = [("email", email), ("password", PASSWORD)];
    let response = app.call_with(&client, "sign_up", &credentials).await;
    assert_eq!(response.status(), 200);
    let response = app.call_with(&client, "sign_in", &credentials).await;
    assert_eq!(response.status(), 200);
    client
}

pub async fn create_app(app: &TestApp, client: &reqwest::Client, name: &str) -> String {
    let response = app.call_with(client, "create_app", &[("name", name)]).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let location = super::location(&response);
    location
        .strip_prefix("/apps/")
        .expect("create_app opens the application page")
        .to_owned()
}

/// The signed-in account's email, or null when `client` is signed out.
pub async fn email_of(app: &TestApp, client: &reqwest::Client) -> Value {
    json(app.call_with(client, "whoami", &[]).await).await["email"].clone()
}

pub async fn json(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
}

pub async fn save_endpoint(
    app: &TestApp,
    client: &reqwest::Client,
    public_id: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("public_id", public_id), ("enabled", "on")];
    form.extend_from_slice(extra);
    app.call_with(client, "save_endpoint", &form).await
}

pub async fn error_field(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body = json(response).await;
    let invalid = &body["Invalid"];
    (
        status,
        invalid["field"].as_str().unwrap_or_default().to_owned(),
        invalid["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// An application of `client` with one endpoint at `https://example.com/hook`:
/// returns the application's public ID and the endpoint's ID.
pub async fn app_with_endpoint(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
) -> (String, String) {
    let public_id = create_app(app, client, name).await;
    let endpoint = json(
        save_endpoint(
            app,
            client,
            &public_id,
            &[("url", "https://example.com/hook")],
        )
        .await,
    )
    .await;
    let endpoint_id = endpoint["id"]
        .as_str()
        .expect("the saved endpoint has an id")
        .to_owned();
    (public_id, endpoint_id)
}
