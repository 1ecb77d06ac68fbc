//! The billops server: configuration, the command line, and the HTTP router. The binary
//! (`main.rs`) only parses arguments and calls [`cli::run`]; tests drive [`router::router`]
//! directly, without a socket.

// The UI's page types nest deeply; rendering them (in the router) needs a deeper query limit
// than rustc's default 128.
#![recursion_limit = "256"]

pub mod alerts;
pub mod billmgr;
pub mod bulk;
pub mod cli;
pub mod config;
pub mod engine;
pub mod events;
pub mod export;
pub mod guard;
pub mod metrics;
pub mod router;
pub mod tls;
pub mod trace;
