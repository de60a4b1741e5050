//! Facehook: a self-hosted webhook console for facial-authentication applications.
//! Arrows point one way: `startup` → `app`, `api` → `server` → `model`.

pub mod api;
pub mod app;
pub mod model;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod commands;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod startup;

/// Set here rather than in `main.rs` so benchmarks and tests measure the allocator the server
/// ships with.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Entry point of the wasm bundle: brings the page's islands to life (the rest stays HTML).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
