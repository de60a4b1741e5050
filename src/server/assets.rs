//! The compiled site's files: which names they carry and how they are served.
//!
//! A release build (`make build`) names the CSS, JS and wasm after a hash of their contents and
//! writes those hashes to `hash.txt`; it also writes a brotli and a gzip copy of every file.
//! Hashed files never change under their name, so browsers may keep them for a year; a debug
//! build's plain names must be asked for again every time.

use std::path::{Path, PathBuf};

/// What the server serves at `/pkg/…` and the file names pages point at.
#[derive(Clone, Debug)]
pub struct SiteAssets {
    /// The hash file, when the build hashed its files (absolute, so Leptos can read it).
    pub hash_file: Option<PathBuf>,
    /// The stylesheet's address, e.g. `/pkg/facehook.3xQ….css`.
    pub stylesheet_href: String,
}

/// Served with every hashed file: its content never changes under its name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Served with pages and unhashed files: keep a copy, but ask before using it.
pub const REVALIDATE: &str = "no-cache";
/// Served with signed-in pages: they may show a secret, so no cache keeps them.
pub const PRIVATE: &str = "private, no-store";

impl SiteAssets {
    /// Reads `hash.txt` from the site folder, else from beside the binary (where cargo-leptos
    /// writes it). Without one, files keep their plain names.
    pub fn discover(site_root: &Path, output_name: &str) -> SiteAssets {
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(HASH_FILE)));
        let hash_file = [Some(site_root.join(HASH_FILE)), beside_binary]
            .into_iter()
            .flatten()
            .find(|path| path.is_file())
            .map(|path| std::path::absolute(&path).unwrap_or(path));
        let css_hash = hash_file
            .as_deref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| hash_of(&text, "css"));
        let stylesheet_href = match css_hash {
            Some(hash) => format!("/pkg/{output_name}.{hash}.css"),
            None => format!("/pkg/{output_name}.css"),
        };
        SiteAssets {
            hash_file,
            stylesheet_href,
        }
    }

    pub fn hashed(&self) -> bool {
        self.hash_file.is_some()
    }

    /// The `Cache-Control` for files under `/pkg`.
    pub fn pkg_cache_control(&self) -> &'static str {
        if self.hashed() {
            IMMUTABLE
        } else {
            REVALIDATE
        }
    }
}

const HASH_FILE: &str = "hash.txt";

/// The hash recorded for `kind` (`js`, `wasm`, `css`) in a cargo-leptos hash file.
fn hash_of(text: &str, kind: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, hash) = line.split_once(':')?;
        (name.trim() == kind).then(|| hash.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_kind_from_the_hash_file() {
        let text = "js: abc\nwasm: def\ncss: Gh-1\n";
        assert_eq!(hash_of(text, "css").as_deref(), Some("Gh-1"));
        assert_eq!(hash_of(text, "wasm").as_deref(), Some("def"));
        assert_eq!(hash_of(text, "split"), None);
    }

    #[test]
    fn plain_names_without_a_hash_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Test binaries live in target/*/deps, where cargo-leptos never writes a hash file.
        let assets = SiteAssets::discover(dir.path(), "facehook");
        assert_eq!(assets.stylesheet_href, "/pkg/facehook.css");
        assert_eq!(assets.pkg_cache_control(), REVALIDATE);
    }

    #[test]
    fn hashed_names_from_the_site_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(HASH_FILE), "js: a\nwasm: b\ncss: c3\n").expect("write");
        let assets = SiteAssets::discover(dir.path(), "facehook");
        assert_eq!(assets.stylesheet_href, "/pkg/facehook.c3.css");
        assert_eq!(assets.pkg_cache_control(), IMMUTABLE);
        assert!(assets.hash_file.is_some_and(|path| path.is_absolute()));
    }
}
