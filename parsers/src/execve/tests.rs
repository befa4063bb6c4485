//! Tests of EXECVE reassembly: hand-built bodies, real lines through `parse_record`, a property test
//! that renders argv the way the kernel does, and laurel's split-argument sample.

use super::*;
use crate::audit::{parse_record, Field};
use proptest::prelude::*;

fn body<'a>(fields: &[(&'a [u8], Value<'a>)]) -> Body<'a> {
    Body {
        fields: fields
            .iter()
            .map(|(key, value)| Field {
                key,
                value: value.clone(),
            })
            .collect(),
        ..Body::default()
    }
}

fn q(s: &[u8]) -> Value<'_> {
    Value::Quoted(s)
}

fn bare(s: &[u8]) -> Value<'_> {
    Value::Bare(s)
}

fn build(bodies: &[Body]) -> Argv {
    let mut b = ArgvBuilder::new();
    for body in bodies {
        b.push(body).unwrap();
    }
    b.finish()
}

#[test]
fn plain_quoted_and_hex_arguments() {
    let argv = build(&[body(&[
        (b"argc", bare(b"4")),
        (b"a0", q(b"printf")),
        (b"a1", bare(b"6120622063")), // "a b c"
        (b"a2", bare(b"22272227")),   // "'"' : quotes
        (b"a3", bare(b"FF00C3A90A")), // non-UTF-8, NUL, é, newline
    ])]);
    assert_eq!(
        argv.args,
        vec![
            b"printf".to_vec(),
            b"a b c".to_vec(),
            b"\"'\"'".to_vec(),
            b"\xff\x00\xc3\xa9\n".to_vec()
        ]
    );
    assert_eq!(argv.argc, Some(4));
    assert!(argv.complete);
}

#[test]
fn split_argument_across_two_records() {
    let argv = build(&[
        body(&[
            (b"argc", bare(b"3")),
            (b"a0", q(b"/bin/echo")),
            (b"a1_len", bare(b"12")),
            (b"a1[0]", bare(b"616263")),
        ]),
        body(&[(b"a1[1]", bare(b"646566")), (b"a2", q(b"end"))]),
    ]);
    assert_eq!(
        argv.args,
        vec![b"/bin/echo".to_vec(), b"abcdef".to_vec(), b"end".to_vec()]
    );
    assert!(argv.complete);
}

#[test]
fn quoted_chunks_count_their_bytes() {
    // A short argument that did not fit the record's remaining space: quoted chunks, byte length.
    let argv = build(&[
        body(&[
            (b"argc", bare(b"1")),
            (b"a0_len", bare(b"6")),
            (b"a0[0]", q(b"abc")),
        ]),
        body(&[(b"a0[1]", q(b"def"))]),
    ]);
    assert_eq!(argv.args, vec![b"abcdef".to_vec()]);
    assert!(argv.complete);
}

#[test]
fn split_length_mismatch_or_missing_chunk_is_incomplete() {
    let short = build(&[body(&[
        (b"argc", bare(b"1")),
        (b"a0_len", bare(b"10")),
        (b"a0[0]", bare(b"6162")),
    ])]);
    assert_eq!(short.args, vec![b"ab".to_vec()]);
    assert!(!short.complete);

    let gap = build(&[body(&[
        (b"argc", bare(b"1")),
        (b"a0_len", bare(b"4")),
        (b"a0[0]", bare(b"61")),
        (b"a0[2]", bare(b"62")),
    ])]);
    assert_eq!(gap.args, vec![b"ab".to_vec()]);
    assert!(!gap.complete);

    let no_len = build(&[body(&[(b"argc", bare(b"1")), (b"a0[0]", bare(b"61"))])]);
    assert_eq!(no_len.args, vec![b"a".to_vec()]);
    assert!(!no_len.complete);
}

#[test]
fn argc_mismatch_keeps_what_exists() {
    // Seen in elastic's corpus: `argc=0 a0="whoami"`.
    let too_few = build(&[body(&[(b"argc", bare(b"0")), (b"a0", q(b"whoami"))])]);
    assert_eq!(too_few.args, vec![b"whoami".to_vec()]);
    assert_eq!(too_few.argc, Some(0));
    assert!(!too_few.complete);

    let missing = build(&[body(&[
        (b"argc", bare(b"3")),
        (b"a0", q(b"a")),
        (b"a2", q(b"c")),
    ])]);
    assert_eq!(missing.args, vec![b"a".to_vec(), b"c".to_vec()]);
    assert!(!missing.complete);

    let no_argc = build(&[body(&[(b"a0", q(b"a"))])]);
    assert_eq!(no_argc.argc, None);
    assert!(!no_argc.complete);
}

#[test]
fn giant_numbers_allocate_nothing() {
    let argv = build(&[body(&[
        (b"argc", bare(b"4000000000")),
        (b"a0", q(b"x")),
        (b"a1_len", bare(b"999999999999")),
        (b"a1[0]", bare(b"6162")),
        (b"a4000000000", q(b"far")),
    ])]);
    assert_eq!(argv.argc, Some(4_000_000_000));
    assert_eq!(
        argv.args,
        vec![b"x".to_vec(), b"ab".to_vec(), b"far".to_vec()]
    );
    assert!(!argv.complete);
    assert!(argv.args.capacity() < 16);
}

#[test]
fn malformed_keys_and_numbers_are_reported_but_not_fatal() {
    let mut b = ArgvBuilder::new();
    let err = b
        .push(&body(&[
            (b"argc", bare(b"99999999999")),
            (b"a0", q(b"ok")),
            (b"a1[x]", bare(b"61")),
            (b"a99999999999", q(b"no")),
        ]))
        .unwrap_err();
    assert_eq!(err.what, "EXECVE `argc` is not a number");
    let argv = b.finish();
    assert_eq!(argv.args, vec![b"ok".to_vec()]);
    assert!(!argv.complete);
    assert!(is_argv_key(b"a12[3]") && is_argv_key(b"a0_len") && is_argv_key(b"argc"));
    assert!(!is_argv_key(b"arch") && !is_argv_key(b"a1[") && !is_argv_key(b"ax"));
}

#[test]
fn duplicates_keep_the_first_and_out_of_order_pieces_are_sorted() {
    let dup = build(&[body(&[
        (b"argc", bare(b"1")),
        (b"a0", q(b"one")),
        (b"a0", q(b"two")),
    ])]);
    assert_eq!(dup.args, vec![b"one".to_vec()]);
    assert!(!dup.complete);

    let shuffled = build(&[
        body(&[(b"a1[1]", bare(b"64")), (b"a2", q(b"z"))]),
        body(&[
            (b"argc", bare(b"3")),
            (b"a0", q(b"x")),
            (b"a1_len", bare(b"4")),
            (b"a1[0]", bare(b"63")),
        ]),
    ]);
    assert_eq!(
        shuffled.args,
        vec![b"x".to_vec(), b"cd".to_vec(), b"z".to_vec()]
    );
    assert!(shuffled.complete);
}

#[test]
fn empty_and_bare_non_hex_values_are_literal() {
    let argv = build(&[body(&[
        (b"argc", bare(b"3")),
        (b"a0", q(b"")),
        (b"a1", bare(b"abc")),
        (b"a2", Value::Null),
    ])]);
    assert_eq!(
        argv.args,
        vec![b"".to_vec(), b"abc".to_vec(), b"(null)".to_vec()]
    );
    assert!(argv.complete);
}

#[test]
fn shell_quote_quotes_only_what_needs_it() {
    let args: Vec<Vec<u8>> = vec![
        b"grep".to_vec(),
        b"--color=auto".to_vec(),
        b"a b".to_vec(),
        b"it's".to_vec(),
        b"".to_vec(),
        b"$HOME;rm".to_vec(),
        b"\xffx".to_vec(),
        b"/usr/bin/x,y:z@h%1+2".to_vec(),
    ];
    assert_eq!(
        shell_quote(&args),
        "grep --color=auto 'a b' 'it'\\''s' '' '$HOME;rm' '\u{fffd}x' /usr/bin/x,y:z@h%1+2"
    );
    assert_eq!(shell_quote(&[]), "");
}

#[test]
fn parses_real_lines() {
    let lines: [&[u8]; 2] = [
        b"type=EXECVE msg=audit(1615150974.493:21028): argc=3 a0=\"perl\" a1=\"-e\" a2_len=8 a2[0]=7573",
        b"type=EXECVE msg=audit(1615150974.493:21028):  a2[1]=6520",
    ];
    let mut b = ArgvBuilder::new();
    for line in lines {
        b.push(&parse_record(line).unwrap().body).unwrap();
    }
    let argv = b.finish();
    assert_eq!(
        argv.args,
        vec![b"perl".to_vec(), b"-e".to_vec(), b"use ".to_vec()]
    );
    assert!(argv.complete);
}

/// How the generator lays arguments out, mimicking `audit_log_execve_info` with small limits.
#[derive(Debug, Clone)]
struct Layout {
    /// Longest value (as written) kept as a single `aN=`.
    max_plain: usize,
    /// Bytes per chunk of a split argument.
    chunk_bytes: usize,
    /// Body length after which a new EXECVE record starts.
    record_budget: usize,
    /// Split printable arguments as quoted chunks (else always hex, as for > 7500-byte arguments).
    quoted_split: bool,
}

fn needs_hex(arg: &[u8]) -> bool {
    arg.iter()
        .any(|&b| b == b'"' || !(0x21..=0x7e).contains(&b))
}

/// Renders `argv` into EXECVE lines the way the kernel does.
fn render(argv: &[Vec<u8>], layout: &Layout) -> Vec<Vec<u8>> {
    let mut groups: Vec<String> = Vec::new(); // fields that stay together
    for (n, arg) in argv.iter().enumerate() {
        let hexed = needs_hex(arg);
        let written = if hexed {
            hex::encode_upper(arg)
        } else {
            format!("\"{}\"", String::from_utf8_lossy(arg))
        };
        if written.len() <= layout.max_plain {
            groups.push(format!("a{n}={written}"));
            continue;
        }
        let as_hex = hexed || !layout.quoted_split;
        let total = if as_hex { arg.len() * 2 } else { arg.len() };
        for (i, chunk) in arg.chunks(layout.chunk_bytes).enumerate() {
            let value = if as_hex {
                hex::encode_upper(chunk)
            } else {
                format!("\"{}\"", String::from_utf8_lossy(chunk))
            };
            let len = if i == 0 {
                format!("a{n}_len={total} ")
            } else {
                String::new()
            };
            groups.push(format!("{len}a{n}[{i}]={value}"));
        }
    }
    let mut bodies = vec![format!("argc={}", argv.len())];
    for group in groups {
        let current = bodies.last_mut().expect("one body");
        if current.len() + group.len() + 1 > layout.record_budget {
            bodies.push(String::new());
        }
        let current = bodies.last_mut().expect("one body");
        current.push(' ');
        current.push_str(&group);
    }
    bodies
        .into_iter()
        .map(|b| format!("type=EXECVE msg=audit(1700000000.123:42): {b}").into_bytes())
        .collect()
}

#[test]
fn renderer_splits_long_arguments_over_records() {
    let argv = vec![
        b"/bin/echo".to_vec(),
        vec![b'x'; 300],
        b"with space".to_vec(),
        vec![0xff; 40],
    ];
    for quoted_split in [false, true] {
        let layout = Layout {
            max_plain: 64,
            chunk_bytes: 50,
            record_budget: 200,
            quoted_split,
        };
        let lines = render(&argv, &layout);
        assert!(lines.len() >= 3, "{}", lines.len());
        let joined = lines.concat();
        let needle: &[u8] = if quoted_split {
            b"a1_len=300 a1[0]=\"xx"
        } else {
            b"a1_len=600 a1[0]=7878"
        };
        assert!(joined.windows(needle.len()).any(|w| w == needle));
        assert!(joined.windows(6).any(|w| w == b"a1[5]="));
        let argv_back = reassemble(
            &lines
                .iter()
                .map(|l| parse_record(l).unwrap().body)
                .collect::<Vec<_>>(),
        );
        assert_eq!(argv_back.args, argv);
        assert!(argv_back.complete);
    }
}

fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z0-9/._=-]{0,24}".prop_map(String::into_bytes),
        2 => proptest::collection::vec(
            proptest::sample::select(b" \"'\\ab$\xff\xc3\x0a\x09=".to_vec()), 0..48),
        2 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..4000),
        1 => "[a-z ]{100,3000}".prop_map(String::into_bytes),
    ]
}

fn layout_strategy() -> impl Strategy<Value = Layout> {
    (8usize..400, 1usize..200, 60usize..1200, any::<bool>()).prop_map(
        |(max_plain, chunk_bytes, record_budget, quoted_split)| Layout {
            max_plain,
            chunk_bytes,
            record_budget,
            quoted_split,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trips_kernel_rendering(
        argv in proptest::collection::vec(arg_strategy(), 0..6),
        layout in layout_strategy(),
    ) {
        let lines = render(&argv, &layout);
        let mut b = ArgvBuilder::new();
        for line in &lines {
            let rec = parse_record(line).unwrap();
            prop_assert!(rec.header.rtype.is("EXECVE"));
            b.push(&rec.body).unwrap();
        }
        let got = b.finish();
        prop_assert_eq!(&got.args, &argv);
        prop_assert_eq!(got.argc, Some(argv.len() as u32));
        prop_assert!(got.complete);
    }

    #[test]
    fn arbitrary_fields_never_panic_and_stay_small(
        fields in proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    "argc", "a0", "a1", "a2", "a1_len", "a1[0]", "a1[1]", "a1[7]", "a0[0]",
                    "a4294967295", "a4294967295[4294967295]", "a2_len", "a[", "a1[]", "x",
                ]),
                "[0-9A-Fa-f\"? ]{0,12}",
            ),
            0..40,
        ),
    ) {
        let values: Vec<(&str, Value)> = fields
            .iter()
            .map(|(k, v)| (*k, if v.len() % 3 == 0 { Value::Quoted(v.as_bytes()) } else { Value::Bare(v.as_bytes()) }))
            .collect();
        let input_len: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
        let b = body(&values.iter().map(|(k, v)| (k.as_bytes(), v.clone())).collect::<Vec<_>>());
        let mut builder = ArgvBuilder::new();
        let _ = builder.push(&b);
        let argv = builder.finish();
        let out_len: usize = argv.args.iter().map(Vec::len).sum();
        prop_assert!(out_len <= input_len);
    }
}

/// laurel's sample: `a1` (8192 bytes) split into hex chunks over three EXECVE records.
#[test]
fn laurel_split_argument_sample() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/threathunters-io_laurel");
    let (Ok(text), Ok(json)) = (
        std::fs::read(dir.join("record-execve-long.txt")),
        std::fs::read(dir.join("record-execve-long.json")),
    ) else {
        println!("skipped: corpus not found at {}", dir.display());
        return;
    };
    let mut b = ArgvBuilder::new();
    let mut records = 0;
    for line in text.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let rec = parse_record(line).unwrap();
        if rec.header.rtype.is("EXECVE") {
            records += 1;
            b.push(&rec.body).unwrap();
        }
    }
    assert_eq!(records, 3);
    let argv = b.finish();
    let expected: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let expected: Vec<Vec<u8>> = expected["EXECVE"]["ARGV"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().as_bytes().to_vec())
        .collect();
    assert_eq!(argv.args.len(), 2);
    assert_eq!(argv.args[1].len(), 8192);
    assert_eq!(argv.args, expected);
    assert_eq!(argv.argc, Some(2));
    assert!(argv.complete);
}
