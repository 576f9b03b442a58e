//! Integration tests: the client against a real kubelab API server running in-process.
//! One test binary (modules below) so it links once.

mod common;
mod crud;
mod leader;
mod scripted;
mod watching;
