//! Integration tests of the node lifecycle controller, the garbage collector and the namespace
//! controller, each against a real in-process API server.

mod common;
mod endpoints;
mod gc;
mod namespace;
mod node_lifecycle;
