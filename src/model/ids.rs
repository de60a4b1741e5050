//! Typed identifiers, so an application's ID cannot be passed where an endpoint's is expected.
//! Each holds the public text (`fio…`, `ep_…`, `del_…`) and no other rule: an ID read from a
//! URL that no row holds is simply not found, so parsing never refuses one.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        // The only database-facing line in `model`: the ID is stored as its text, and a row's
        // column decodes straight into the type.
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// What a new ID of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        // A pasted ID often carries a space or a line break: it is taken without them.
        impl From<String> for $name {
            fn from(text: String) -> Self {
                match text.trim() {
                    trimmed if trimmed.len() == text.len() => Self(text),
                    trimmed => Self(trimmed.to_owned()),
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.trim().to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Hashes as its text does, so maps keyed by the ID can be searched with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

typed_id!(
    /// A person's account (`acc_…`).
    AccountId,
    "acc"
);
typed_id!(
    /// An organization, which owns applications (`org_…`).
    OrgId,
    "org"
);
typed_id!(
    /// An application's public ID (`fio…`, as FACEIO spells it).
    AppId,
    "fio"
);
typed_id!(
    /// A webhook endpoint of an application (`ep_…`).
    EndpointId,
    "ep"
);
typed_id!(
    /// One event sent to one endpoint (`del_…`).
    DeliveryId,
    "del"
);
typed_id!(
    /// An event taken in by the API (`evt_…`).
    EventId,
    "evt"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_its_text() {
        let id = EndpointId::from("ep_0abc");
        assert_eq!(id.to_string(), "ep_0abc");
        assert_eq!(id, "ep_0abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"ep_0abc\"");
        let back: EndpointId = serde_json::from_str("\" ep_0abc\\n\"").unwrap();
        assert_eq!(back, id, "a pasted ID is taken without its spaces");
        let mut seen = std::collections::HashSet::new();
        seen.insert(id);
        assert!(seen.contains("ep_0abc"));
    }
}
