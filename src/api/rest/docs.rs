//! The REST API's OpenAPI 3.1 document, generated from the handlers and body types, and a
//! readable reference page rendered from that same document.

use super::*;
use axum::response::Html;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Facehook API",
        description = "Event intake (authenticate with `Authorization: Bearer <application API key>`, `fhk_live_…`) and management of applications, endpoints, deliveries, facial IDs, members, invitations and the audit log (authenticate with `Authorization: Bearer <organization API token>`, `fht_…`, made on the organization's settings page; it acts with its own role). Lists take `?limit=&after=` and answer `{\"data\": [...], \"next\"}`; every POST takes an `Idempotency-Key`."
    ),
    paths(post_event, get_facial_id, put_payload, put_pincode, delete_facial_id,
        manage::list_applications, manage::create_application, manage::get_application,
        manage::rename_application, manage::delete_application, manage::rotate_api_key,
        manage::rotate_webhook_token, manage::list_endpoints, manage::create_endpoint,
        manage::get_endpoint, manage::update_endpoint, manage::delete_endpoint,
        manage::enable_endpoint, manage::disable_endpoint, manage::reveal_signing_secret,
        manage::rotate_signing_secret, manage::send_test_event, manage::replay_failed,
        manage::list_deliveries, manage::get_delivery, manage::redeliver, manage::get_replay,
        manage::list_facial_ids, manage::get_app_facial_id, manage::delete_app_facial_id,
        manage::list_event_types, manage::list_members, manage::change_member_role,
        manage::remove_member, manage::list_invitations, manage::invite_member,
        manage::revoke_invitation, manage::list_audit_log),
    components(schemas(EventBody, DetailsBody, PayloadBody, PincodeBody, AcceptedReply, FacialIdReply, ErrorReply, ErrorDetail)),
    modifiers(&BearerApiKey, &CommonReplies)
)]
pub struct ApiDoc;

/// Replies any operation can give, added to each once here instead of repeated per handler.
struct CommonReplies;

impl utoipa::Modify for CommonReplies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorReply")))
                            .build(),
                    )
                    .build(),
            )
        };
        let common = [
            ("400", "Malformed JSON (with its line and column)"),
            ("401", "Missing or invalid API key"),
            ("403", "The token's role does not allow this (the message says which role may)"),
            ("404", "Not found, or another organization's"),
            ("413", "Body over 64 KiB"),
            ("415", "Body not sent as JSON"),
            ("409", "Conflicts with the current state (a facial ID already enrolled, an organization's last owner), or the Idempotency-Key is in use or was used with another request"),
            ("422", "Invalid field (named in `field`)"),
            ("429", "Rate limited; see Retry-After"),
            (
                "503",
                "The database cannot take writes now; nothing was stored. See Retry-After",
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                let takes_body = operation.request_body.is_some();
                let managed = operation.security.as_ref().is_some_and(|requirements| {
                    serde_json::to_string(requirements).is_ok_and(|text| text.contains("org_token"))
                });
                for (status, description) in common {
                    if !takes_body && matches!(status, "400" | "413" | "415") {
                        continue;
                    }
                    if !managed && status == "403" {
                        continue;
                    }
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// The document as served: generated from the handlers and types, then `constrain`ed.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    constrain(&mut doc);
    doc
}

/// States what the server enforces beyond the body types, so clients and fuzzers see it: an
/// event's required fields by kind (one variant per kind, from the one list of event kinds),
/// IP addresses, text without NUL, the facial-ID and `Idempotency-Key` formats. Edited as
/// JSON: the document model cannot hold every JSON Schema form used here.
fn constrain(doc: &mut Value) {
    let ip = json!({"anyOf": [
        {"type": "string", "format": "ipv4"},
        {"type": "string", "format": "ipv6"}
    ], "description": "An IPv4 or IPv6 address."});
    let facial_id = json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"});
    let payload = json!({"description": "Any JSON value up to 16 KiB: the linked payload."});
    let schemas = &mut doc["components"]["schemas"];
    for body in ["PayloadBody", "PincodeBody"] {
        if let Some(properties) = schemas[body]["properties"].as_object_mut() {
            properties.insert("clientIp".into(), ip.clone());
        }
    }
    schemas["PayloadBody"]["properties"]["payload"] = payload.clone();
    schemas["FacialIdReply"]["properties"]["payload"] =
        json!({"description": "The linked payload (any JSON value), or null."});
    let base = schemas["EventBody"].clone();
    let variants: Vec<Value> = crate::model::app::EventKind::ALL
        .iter()
        .map(|kind| {
            let mut variant = base.clone();
            variant["properties"]["eventName"] = json!({"type": "string", "enum": [kind.as_str()]});
            variant["properties"]["clientIp"] = ip.clone();
            variant["properties"]["payload"] = payload.clone();
            // Text is stored as text: no NUL, and not only spaces.
            variant["properties"]["details"] = json!({"oneOf": [{"type": "null"}, {
                "type": "object", "additionalProperties": false,
                "properties": {
                    "gender": {"type": ["string", "null"], "minLength": 1, "maxLength": 32,
                               // Not only white space as Rust's `trim` sees it (which
                               // keeps U+001C..U+001F, unlike Python's `\\s`).
                               "pattern": "^[^\\u0000]*(?:\\S|[\\u001c-\\u001f])[^\\u0000]*$"},
                    "age": {"type": ["integer", "null"], "minimum": 0, "maximum": 150}
                }
            }]});
            let mut required = vec!["eventName", "clientIp"];
            if *kind != crate::model::app::EventKind::Enroll {
                required.push("facialId");
                variant["properties"]["facialId"] = facial_id.clone();
            }
            if *kind == crate::model::app::EventKind::PincodeUpdate {
                required.push("pincode");
                variant["properties"]["pincode"] =
                    json!({"type": "string", "pattern": "^[0-9]{4,16}$"});
            }
            variant["required"] = json!(required);
            variant["title"] = json!(format!("{} event", kind.as_str()));
            variant
        })
        .collect();
    schemas["EventBody"] = json!({
        "oneOf": variants,
        "description": "An event reported by the application's back end: `facialId` is required except for `enroll`, `pincode` for `pincode_update`."
    });
    let kinds: Vec<&str> = crate::model::app::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    for body in ["NewEndpointBody", "EndpointPatchBody"] {
        if let Some(properties) = schemas[body]["properties"].as_object_mut() {
            properties.insert(
                "events".into(),
                json!({"type": ["array", "null"], "items": {"type": "string", "enum": kinds},
                       "description": "Event types to send; null means every type, including types added later."}),
            );
        }
    }
    // Where `test` is taken too: the deliveries filter and the test event's type.
    let mut kinds_and_test = kinds.clone();
    kinds_and_test.push(crate::model::delivery::TEST_EVENT_NAME);
    let event_filter = json!({"type": "string", "enum": kinds_and_test});
    let mut event_types = kinds_and_test.iter().map(|k| json!(k)).collect::<Vec<_>>();
    event_types.push(Value::Null);
    if let Some(properties) = schemas["TestEventBody"]["properties"].as_object_mut() {
        properties.insert(
            "eventType".into(),
            json!({"type": ["string", "null"], "enum": event_types,
                   "description": "`test` (default) or an event type, sent with example values."}),
        );
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        // `get_mut`: indexing would add a `parameters: null` to operations that take none.
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for parameter in parameters {
            match parameter["name"].as_str() {
                Some("facialId") => parameter["schema"] = facial_id.clone(),
                Some("event") if parameter["in"] == "query" => {
                    parameter["schema"] = event_filter.clone()
                }
                Some("Idempotency-Key") => {
                    parameter["schema"] = json!({"type": "string", "pattern": "^[!-~]{1,255}$"})
                }
                _ => {}
            }
        }
    }
}

struct BearerApiKey;

impl utoipa::Modify for BearerApiKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "org_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn openapi_json() -> Json<Value> {
    Json(document())
}

/// A plain HTML reference: every operation with its summary, parameters and replies.
pub async fn reference_page(State(state): State<AppState>) -> Html<String> {
    let doc = document();
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>API reference · Facehook</title><link rel=\"stylesheet\" href=\"{}\"></head><body><main id=\"main\">\
         <section class=\"card\"><h1>Facehook API</h1>\
         <p>Event intake takes <code>Authorization: Bearer &lt;application API key&gt;</code>; \
         management takes <code>Authorization: Bearer &lt;organization API token&gt;</code> (made on the \
         organization's settings page). \
         Errors are <code>{{\"error\": {{\"code\", \"message\", \"field\"?}}}}</code>. \
         Machine-readable: <a href=\"/api/v1/openapi.json\">openapi.json</a> (OpenAPI 3.1). \
         <a href=\"/apps\">Back to the console</a>.</p></section>",
        state.assets.stylesheet_href
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (path, operations) in paths {
            let Some(operations) = operations.as_object() else {
                continue;
            };
            for (method, operation) in operations {
                html.push_str(&format!(
                    "<section class=\"card\"><h2><code>{} {}</code></h2><p>{}</p>",
                    escape(&method.to_uppercase()),
                    escape(path),
                    escape(operation["summary"].as_str().unwrap_or_default())
                ));
                if let Some(description) = operation["description"].as_str() {
                    html.push_str(&format!("<p class=\"hint\">{}</p>", escape(description)));
                }
                if let Some(params) = operation["parameters"].as_array() {
                    html.push_str("<h3>Parameters</h3><ul>");
                    for param in params {
                        html.push_str(&format!(
                            "<li><code>{}</code> ({}) {}</li>",
                            escape(param["name"].as_str().unwrap_or_default()),
                            escape(param["in"].as_str().unwrap_or_default()),
                            escape(param["description"].as_str().unwrap_or_default())
                        ));
                    }
                    html.push_str("</ul>");
                }
                if let Some(schema) = operation["requestBody"]["content"]["application/json"]
                    ["schema"]["$ref"]
                    .as_str()
                {
                    html.push_str(&format!(
                        "<p>Body: <code>{}</code></p>",
                        escape(schema.rsplit('/').next().unwrap_or(schema))
                    ));
                }
                if let Some(responses) = operation["responses"].as_object() {
                    html.push_str("<h3>Replies</h3><ul>");
                    for (status, response) in responses {
                        html.push_str(&format!(
                            "<li><code>{}</code> {}</li>",
                            escape(status),
                            escape(response["description"].as_str().unwrap_or_default())
                        ));
                    }
                    html.push_str("</ul>");
                }
                html.push_str("</section>");
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        html.push_str("<section class=\"card\"><h2>Bodies</h2>");
        for (name, schema) in schemas {
            html.push_str(&format!("<h3><code>{}</code></h3><ul>", escape(name)));
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema["properties"].as_object() {
                for (field, spec) in properties {
                    html.push_str(&format!(
                        "<li><code>{}</code>{} {}</li>",
                        escape(field),
                        if required.contains(&field.as_str()) {
                            " (required)"
                        } else {
                            ""
                        },
                        escape(spec["description"].as_str().unwrap_or_default())
                    ));
                }
            }
            html.push_str("</ul>");
        }
        html.push_str("</section>");
    }
    html.push_str("</main></body></html>");
    Html(html)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
