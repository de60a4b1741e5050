//! Organization helpers: an account's current organization, and joining one by invitation
//! link (the no-mail flow, where the inviter is shown the link).

use super::console::{json, owner};
use super::TestApp;

/// The id of the organization the console shows `client`.
pub async fn current_org(app: &TestApp, client: &reqwest::Client) -> String {
    let choice = json(app.call_with(client, "current_orgs", &[]).await).await;
    choice["current"]["id"]
        .as_str()
        .expect("a current organization")
        .to_owned()
}

/// The token at the end of an invitation link.
pub fn invitation_token(link: &str) -> String {
    let start = link.find("/invite/").expect("an invitation link") + "/invite/".len();
    link[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Invites `email` to `org_id` as `role` (the server sends no mail) and returns the token.
pub async fn invite(
    app: &TestApp,
    inviter: &reqwest::Client,
    org_id: &str,
    email: &str,
    role: &str,
) -> String {
    let response = app
        .call_with(
            inviter,
            "invite_member",
            &[("org_id", org_id), ("email", email), ("role", role)],
        )
        .await;
    let link = json(response).await;
    invitation_token(
        link.as_str()
            .expect("the invitation link, as no mail is sent"),
    )
}

/// A new account `email` that joined `org_id` as `role`; it now shows that organization.
pub async fn member(
    app: &TestApp,
    inviter: &reqwest::Client,
    org_id: &str,
    email: &str,
    role: &str,
) -> reqwest::Client {
    let token = invite(app, inviter, org_id, email, role).await;
    let client = owner(app, email).await;
    let accepted = app
        .call_with(&client, "accept_invitation", &[("token", &token)])
        .await;
    assert_eq!(
        accepted.status(),
        200,
        "{}",
        accepted.text().await.unwrap_or_default()
    );
    client
}

/// Each member of the organization `client`'s console shows, by email: (account id, role).
pub async fn members(
    app: &TestApp,
    client: &reqwest::Client,
) -> std::collections::HashMap<String, (String, String)> {
    let page = json(app.call_with(client, "org_settings", &[]).await).await;
    let text = |m: &serde_json::Value, key: &str| m[key].as_str().expect(key).to_owned();
    page["members"]
        .as_array()
        .expect("a member list")
        .iter()
        .map(|m| (text(m, "email"), (text(m, "account_id"), text(m, "role"))))
        .collect()
}

/// Each member's account id, by email.
pub async fn member_ids(
    app: &TestApp,
    client: &reqwest::Client,
) -> std::collections::HashMap<String, String> {
    let all = members(app, client).await;
    all.into_iter()
        .map(|(email, (id, _))| (email, id))
        .collect()
}

/// Each member's role, by email.
pub async fn member_roles(
    app: &TestApp,
    client: &reqwest::Client,
) -> std::collections::HashMap<String, String> {
    let all = members(app, client).await;
    all.into_iter()
        .map(|(email, (_, role))| (email, role))
        .collect()
}
