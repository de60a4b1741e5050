//! The console's colour theme: the system's, or one the person chose, remembered per
//! browser in a cookie so it works without JavaScript and before the first paint.

use super::AppError;
use serde::{Deserialize, Serialize};

/// The cookie that remembers the choice; not a credential.
pub const THEME_COOKIE: &str = "facehook_theme";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, AppError> {
        Theme::ALL
            .into_iter()
            .find(|theme| theme.as_str() == raw.trim())
            .ok_or_else(|| AppError::invalid("theme", "Choose the system, light or dark theme."))
    }

    /// The theme a `Cookie` header asks for; anything unreadable is the system's.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == THEME_COOKIE)
            .and_then(|(_, value)| Theme::parse(value).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_choice_from_cookies() {
        let read = Theme::from_cookie_header;
        assert_eq!(read("a=1; facehook_theme=dark; b=2"), Theme::Dark);
        assert_eq!(read("facehook_theme=light"), Theme::Light);
        assert_eq!(read("facehook_theme=neon"), Theme::System);
        assert_eq!(read(""), Theme::System);
        assert!(Theme::parse("purple").is_err());
    }
}
