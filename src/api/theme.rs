//! The console's theme: chosen with a plain form, remembered in a cookie, and given to the
//! page shell before the first byte so the page never flashes the wrong colours.

use crate::model::AppError;
use leptos::prelude::*;

/// Remembers the chosen theme in this browser for a year; no account needed.
#[server(endpoint = "set_theme")]
pub async fn set_theme(theme: String) -> Result<(), AppError> {
    use crate::model::theme::{Theme, THEME_COOKIE};
    use axum::http::header::{HeaderValue, SET_COOKIE};

    let theme = Theme::parse(&theme)?;
    let cookie = format!(
        "{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        theme.as_str()
    );
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&cookie),
    ) {
        response.append_header(SET_COOKIE, value);
    }
    Ok(())
}

/// Puts the request's chosen theme into the page's context, for the shell and the switcher.
#[cfg(feature = "ssr")]
pub fn provide_theme() {
    use crate::model::theme::Theme;
    use axum::http::{header::COOKIE, request::Parts};

    let theme = use_context::<Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get_all(COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .map(Theme::from_cookie_header)
                .find(|theme| *theme != Theme::System)
        })
        .unwrap_or_default();
    provide_context(theme);
}
