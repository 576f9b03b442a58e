//! The scheduler against a real API server, in-process on a loopback port, with Node objects
//! created through the API (no agents: a node is only an object to the scheduler).

mod common;
mod leader;
mod scheduling;
