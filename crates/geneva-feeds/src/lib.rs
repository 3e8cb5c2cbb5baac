//! Talking to other TAXII 2.1 servers: pulling a collection page by page
//! from a date added, and pushing an envelope to a collection.
//!
//! This crate owns outgoing TAXII requests and their safety: the host is
//! resolved once and pinned, private, loopback and link-local addresses are
//! refused unless allowed, and redirects never leave the host. It must never
//! store what it fetches (callers import it through the store) nor decide
//! who may see it.
#![forbid(unsafe_code)]

mod guard;
mod pull;

pub use guard::{Target, connect};
pub use pull::{PullError, Pulled, pull, push};
