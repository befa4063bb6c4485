//! The cost of the last step before encoding, per event: redaction alone, and the whole
//! enrichment (names, alerts, redaction), on audit events built from the generated realistic mix.
//!
//! In: 2 MB of generated audit.log (seed 1), grouped into events by serial and built with the
//! parsers. Out: criterion reports in ns per event (`Throughput::Elements`), for the whole mix,
//! for its execve events, and for one execve event carrying a password.
//! Run: `cargo bench --bench enrich` (about a minute).

use std::hint::black_box;

use auditrail::enrich::Enricher;
use auditrail::event::{Event, EventId, EventKind, HostInfo};
use auditrail::redact::Redactor;
use auditrail::workload::{generate_to_vecs, WorkloadConfig};
use auditrail_parsers::audit::parse_header;
use auditrail_parsers::event::build_event_from_lines;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// Audit events of the generated mix (lines grouped by serial, as the coalescer would).
fn events() -> Vec<Event> {
    let cfg = WorkloadConfig::with_audit_bytes(1, 2_000_000);
    let (audit, _, _, _) = generate_to_vecs(&cfg);
    let host = HostInfo::named("bench");
    let mut groups: Vec<(u64, Vec<&[u8]>)> = Vec::new();
    for line in audit.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(h) = parse_header(line) else { continue };
        match groups
            .iter_mut()
            .rev()
            .take(8)
            .find(|(s, _)| *s == h.serial)
        {
            Some((_, lines)) => lines.push(line),
            None => groups.push((h.serial, vec![line])),
        }
    }
    groups
        .iter()
        .map(|(serial, lines)| {
            let mut ev = Event::new(
                EventKind::Audit,
                EventId(u128::from(*serial)),
                0,
                &host,
                "audit",
            );
            ev.audit = Some(build_event_from_lines(lines).0);
            ev
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let all = events();
    let execs: Vec<Event> = all
        .iter()
        .filter(|e| e.audit.as_ref().is_some_and(|a| a.execve.is_some()))
        .cloned()
        .collect();
    let mut secret = execs[0].clone();
    if let Some(x) = secret.audit.as_mut().and_then(|a| a.execve.as_mut()) {
        x.args = [
            "psql",
            "-h",
            "db.internal",
            "--password",
            "hunter2",
            "-c",
            "select 1",
        ]
        .map(String::from)
        .into();
        x.command_line = x.args.join(" ");
    }
    eprintln!("{} events, {} with execve", all.len(), execs.len());

    let redactor = Redactor::with_defaults();
    let mut g = c.benchmark_group("per_event");
    g.sample_size(20);
    for (name, set) in [("mix", &all), ("execve", &execs)] {
        g.throughput(Throughput::Elements(set.len() as u64));
        g.bench_function(format!("redact/{name}"), |b| {
            b.iter_batched_ref(
                || set.clone(),
                |evs| {
                    evs.iter_mut()
                        .for_each(|e| redactor.redact_event(black_box(e)))
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(format!("clone_only/{name}"), |b| {
            b.iter_batched_ref(
                || set.clone(),
                |evs| black_box(evs.len()),
                BatchSize::LargeInput,
            )
        });
        let mut enricher = Enricher::new();
        g.bench_function(format!("enrich/{name}"), |b| {
            b.iter_batched_ref(
                || set.clone(),
                |evs| evs.iter_mut().for_each(|e| enricher.enrich(black_box(e))),
                BatchSize::LargeInput,
            )
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("redact/execve_with_password", |b| {
        b.iter_batched_ref(
            || secret.clone(),
            |e| redactor.redact_event(black_box(e)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
