//! Parser throughput on the generated realistic mix, and proof that long hex arguments decode in
//! linear time.
//!
//! In: a workload generated once in memory (`AUDITRAIL_BENCH_MB` MB of audit.log, default 100,
//! seed `AUDITRAIL_BENCH_SEED`, default 1). Out: criterion reports (MB/s via
//! `Throughput::Bytes`) plus records/s and a per-byte linearity table printed to stderr.
//! Run: `cargo bench --bench parse` (a few minutes; small sample sizes on purpose).

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use auditrail::workload::{generate_to_vecs, EventLines, Stamp, WorkloadConfig, WorkloadSummary};
use auditrail_parsers::audit::{parse_header, parse_record};
use auditrail_parsers::execve::ArgvBuilder;
use auditrail_parsers::history::parse_history;
use auditrail_parsers::hook::parse_hook_verdict;
use auditrail_parsers::syslog::parse_syslog;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// The generated streams, leaked so that line slices are `'static`.
struct Workload {
    audit_bytes: usize,
    audit_lines: Vec<&'static [u8]>,
    syslog_bytes: usize,
    syslog_lines: Vec<&'static [u8]>,
    hook_bytes: usize,
    hook_lines: Vec<&'static [u8]>,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn split_lines(bytes: &'static [u8]) -> Vec<&'static [u8]> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}

fn workload() -> &'static Workload {
    static WORKLOAD: OnceLock<Workload> = OnceLock::new();
    WORKLOAD.get_or_init(|| {
        let mb = env_u64("AUDITRAIL_BENCH_MB", 100);
        let seed = env_u64("AUDITRAIL_BENCH_SEED", 1);
        let cfg = WorkloadConfig::with_audit_bytes(seed, mb * 1_000_000);
        let started = Instant::now();
        let (audit, syslog, hooks, summary) = generate_to_vecs(&cfg);
        let took = started.elapsed();
        report_generation(&summary, took);
        let (audit, syslog, hooks) = (audit.leak(), syslog.leak(), hooks.leak());
        Workload {
            audit_bytes: audit.len(),
            audit_lines: split_lines(audit),
            syslog_bytes: syslog.len(),
            syslog_lines: split_lines(syslog),
            hook_bytes: hooks.len(),
            hook_lines: split_lines(hooks),
        }
    })
}

fn report_generation(s: &WorkloadSummary, took: Duration) {
    eprintln!(
        "workload: {:.1} MB audit.log ({} events, {} records, {} with long args, {} interleaved \
         pairs), {:.1} MB messages ({} lines), {:.2} MB hooks ({} lines), generated in {:.2} s \
         ({:.0} MB/s)",
        s.audit_bytes as f64 / 1e6,
        s.events,
        s.audit_records,
        s.long_arg_events,
        s.interleaved_pairs,
        s.syslog_bytes as f64 / 1e6,
        s.syslog_lines,
        s.hook_bytes as f64 / 1e6,
        s.hook_lines,
        took.as_secs_f64(),
        (s.audit_bytes + s.syslog_bytes + s.hook_bytes) as f64 / 1e6 / took.as_secs_f64(),
    );
}

/// Best of three timed passes of `pass` over `lines`: prints records/s and MB/s.
fn print_rate(label: &str, lines: &[&[u8]], bytes: usize, pass: impl Fn(&[u8])) {
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            for line in lines {
                pass(line);
            }
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
        .as_secs_f64();
    eprintln!(
        "{label}: {:.2} M records/s, {:.0} MB/s ({} records, {:.1} MB, best of 3: {:.3} s)",
        lines.len() as f64 / best / 1e6,
        bytes as f64 / best / 1e6,
        lines.len(),
        bytes as f64 / 1e6,
        best
    );
}

fn audit_lines(c: &mut Criterion) {
    let w = workload();
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Bytes(w.audit_bytes as u64));
    group.bench_function("parse_header", |b| {
        b.iter(|| {
            for line in &w.audit_lines {
                let _ = black_box(parse_header(black_box(line)));
            }
        })
    });
    group.bench_function("parse_record", |b| {
        b.iter(|| {
            for line in &w.audit_lines {
                let _ = black_box(parse_record(black_box(line)));
            }
        })
    });
    group.finish();
    print_rate("audit parse_header", &w.audit_lines, w.audit_bytes, |l| {
        let _ = black_box(parse_header(l));
    });
    print_rate("audit parse_record", &w.audit_lines, w.audit_bytes, |l| {
        let _ = black_box(parse_record(l));
    });
}

fn text_lines(c: &mut Criterion) {
    let w = workload();
    let mut group = c.benchmark_group("text");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Bytes(w.syslog_bytes as u64));
    group.bench_function("syslog+history", |b| {
        b.iter(|| {
            for line in &w.syslog_lines {
                if let Ok(msg) = parse_syslog(black_box(line)) {
                    black_box(parse_history(&msg));
                }
            }
        })
    });
    group.throughput(Throughput::Bytes(w.hook_bytes as u64));
    group.bench_function("hook_verdict", |b| {
        b.iter(|| {
            for line in &w.hook_lines {
                let _ = black_box(parse_hook_verdict(black_box(line)));
            }
        })
    });
    group.finish();
    print_rate("syslog+history", &w.syslog_lines, w.syslog_bytes, |l| {
        if let Ok(msg) = parse_syslog(l) {
            black_box(parse_history(&msg));
        }
    });
}

/// Hex-argument sizes, in hex digits: 1 KB, the 8,000-char line, 64 KB, 1 MiB.
const HEX_SIZES: [usize; 4] = [1_000, 8_000, 64_000, 1 << 20];

/// One EXECVE line whose `a1` is `hex_len` hex digits, not split (what a hostile or buggy writer
/// could produce: a single line far past the kernel's 7,500-byte records).
fn single_line(hex_len: usize) -> Vec<u8> {
    let mut line =
        b"type=EXECVE msg=audit(1795383371.760:4195): argc=2 a0=\"/bin/echo\" a1=".to_vec();
    line.extend((0..hex_len / 2).flat_map(|i| {
        let b = b"0123456789ABCDEF";
        [b[(i * 7 + 3) % 16], b[(i * 5 + 1) % 16]]
    }));
    line
}

/// The EXECVE records the kernel writes for an argument of `hex_len / 2` bytes (split into
/// `a1[i]` chunks of ≤ 7,500 bytes).
fn kernel_split(hex_len: usize) -> Vec<Vec<u8>> {
    let arg: Vec<u8> = (0..hex_len / 2).map(|i| b"abcdefgh\n"[i % 9]).collect();
    let mut ev = EventLines::default();
    let stamp = Stamp {
        millis: 1_795_383_371_760,
        serial: 4195,
    };
    ev.execve(stamp, &[b"/bin/echo", &arg]);
    (0..ev.records())
        .map(|i| {
            ev.line(i)
                .strip_suffix(b"\n")
                .unwrap_or(ev.line(i))
                .to_vec()
        })
        .collect()
}

/// Parses `lines` and reassembles their argv; returns the decoded argument bytes.
fn parse_and_reassemble(lines: &[Vec<u8>]) -> usize {
    let mut builder = ArgvBuilder::new();
    for line in lines {
        if let Ok(rec) = parse_record(line) {
            let _ = builder.push(&rec.body);
        }
    }
    builder.finish().args.iter().map(Vec::len).sum()
}

fn long_hex(c: &mut Criterion) {
    let mut group = c.benchmark_group("long_hex");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    let mut per_byte = Vec::new();
    for &size in &HEX_SIZES {
        for (shape, lines) in [
            ("single_line", vec![single_line(size)]),
            ("kernel_split", kernel_split(size)),
        ] {
            let bytes: usize = lines.iter().map(Vec::len).sum();
            assert!(
                parse_and_reassemble(&lines) >= size / 2,
                "{shape}/{size} did not decode"
            );
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_with_input(BenchmarkId::new(shape, size), &lines, |b, lines| {
                b.iter(|| parse_and_reassemble(black_box(lines)))
            });
            // Best of five rounds of ~4 MB each: steadier than one pass on a shared machine.
            let reps = (4 << 20) / bytes + 1;
            let best = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..reps {
                        black_box(parse_and_reassemble(black_box(&lines)));
                    }
                    t.elapsed()
                })
                .min()
                .unwrap_or_default();
            per_byte.push((shape, size, best.as_nanos() as f64 / (reps * bytes) as f64));
        }
    }
    group.finish();
    eprintln!("long_hex linearity (parse_record + ArgvBuilder), ns per input byte, best of 5:");
    for (shape, size, ns) in &per_byte {
        eprintln!("  {shape:>12} {size:>8} hex digits: {ns:.3} ns/byte");
    }
    let ns: Vec<f64> = per_byte.iter().map(|p| p.2).collect();
    let (lo, hi) = ns
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    eprintln!(
        "  spread max/min = {:.2} over a 1,000x range of sizes (quadratic decoding would be ~1000)",
        hi / lo
    );
}

criterion_group!(benches, audit_lines, text_lines, long_hex);
criterion_main!(benches);
