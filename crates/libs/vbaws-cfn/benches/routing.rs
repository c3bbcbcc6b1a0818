//! In-process cost of reading an event's routing fields, the first step of every invocation.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vbaws_cfn::{ResponseUrlPolicy, Routing};

fn bench(c: &mut Criterion) {
    let event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/events/random-ext-id-update.json"
    ))
    .expect("fixture");
    let policy = ResponseUrlPolicy::s3_only();
    c.bench_function("routing_from_event", |b| {
        b.iter(|| black_box(Routing::from_event(black_box(&event), &policy)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
