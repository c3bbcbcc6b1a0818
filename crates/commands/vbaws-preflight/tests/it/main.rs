//! The preflight's tests, one binary: against moto's server, and signing in.

mod certificate;
mod moto;
mod sign_in;
