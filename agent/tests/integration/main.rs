//! Agent integration tests: a real API server in-process and agents on the hollow runtime.

mod common;
mod lifecycle;
mod node;
mod probes;
mod scale;
mod volumes;
