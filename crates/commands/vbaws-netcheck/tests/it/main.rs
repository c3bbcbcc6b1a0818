//! The checker's tests, one binary: the guide's examples, the AWS CLI's outputs, the worker
//! networks accounts publish, --collect against moto, and signing in.

mod aws_output;
mod collect_moto;
mod guide_examples;
mod published_workers;
mod sign_in;
