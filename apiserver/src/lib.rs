//! apiserver (being written)
pub mod patch;
pub mod store;
