//! The reconciliation's tests, one binary: each rule, the published schema, the facts read
//! against moto and the simulator, and signing in.

mod support;

mod against_moto;
mod reconcile;
mod schema;
mod sign_in;
