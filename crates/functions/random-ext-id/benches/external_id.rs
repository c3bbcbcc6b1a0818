//! In-process cost of issuing an external ID: the OS seed, and its expansion.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use random_ext_id::{Seed, external_id};

fn bench(c: &mut Criterion) {
    c.bench_function("seed_from_os", |b| b.iter(|| black_box(Seed::generate())));
    let seed = Seed::from_bytes([7; 32]);
    c.bench_function("external_id_32", |b| b.iter(|| black_box(external_id(&seed, 32))));
    c.bench_function("external_id_1224", |b| {
        b.iter(|| black_box(external_id(&seed, 1224)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
