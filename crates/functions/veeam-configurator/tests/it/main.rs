//! The configurator's tests, one binary, each against the real binary through the Runtime
//! API stand-in: the role and worker lifecycles, the confirmation (with moto), ownership, and
//! where credentials come from.

mod harness;

mod against_moto;
mod confirmation;
mod credentials;
mod lifecycle;
mod ownership;
