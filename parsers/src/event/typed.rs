//! The typed records of an event: SYSCALL and PATH fields into their slots (anything without a
//! slot, or a repeat, into `extra`), and any other record kept whole as text. In: one record's
//! [`Body`]. Out: [`Syscall`], [`PathItem`] or [`OtherRecord`]. Never fails; linear in the body.

use super::fields::{enriched, text_list, text_pair, MapBuilder};
use super::syscalls::{arch_name, syscall_name};
use super::{split_pair, Id, OtherRecord, PathItem, Syscall};
use crate::audit::{Body, Record, Value};

/// `4294967295` (unset) → `Some(None)`; a number → `Some(Some(n))`; anything else → `None`.
fn id(value: &Value) -> Id {
    match value.as_u64()? {
        4_294_967_295 => Some(None),
        n => u32::try_from(n).ok().map(Some),
    }
}

/// Fills `slot` (and its hex sibling) from text if still empty; false if it could not.
fn fill_text(
    slot: &mut Option<String>,
    hex_slot: &mut Option<String>,
    key: &[u8],
    value: &Value,
) -> bool {
    match (&slot, value.text(key)) {
        (None, Some(text)) => {
            (*slot, *hex_slot) = split_pair(text_pair(&text));
            true
        }
        _ => false,
    }
}

/// Fills `slot` if still empty and `parsed` is `Some`; false if it could not.
fn fill<T>(slot: &mut Option<T>, parsed: Option<T>) -> bool {
    match (&slot, parsed) {
        (None, Some(v)) => {
            *slot = Some(v);
            true
        }
        _ => false,
    }
}

pub(super) fn syscall(body: &Body) -> Syscall {
    let mut s = Syscall::default();
    let mut extra = MapBuilder::default();
    let mut keys_seen = false;
    for field in &body.fields {
        let (key, value) = (field.key, &field.value);
        let taken = match key {
            b"arch" => fill(&mut s.arch, text_utf8(key, value)),
            b"syscall" => fill(&mut s.number, value.as_u64()),
            b"success" => fill(
                &mut s.success,
                match value {
                    Value::Bare(b"yes") => Some(true),
                    Value::Bare(b"no") => Some(false),
                    _ => None,
                },
            ),
            b"exit" => fill(&mut s.exit, value.as_i64()),
            b"items" => fill(&mut s.items, value.as_u64()),
            b"pid" => fill(&mut s.pid, value.as_u64()),
            b"ppid" => fill(&mut s.ppid, value.as_u64()),
            b"auid" => fill(&mut s.auid, id(value)),
            b"uid" => fill(&mut s.uid, id(value)),
            b"gid" => fill(&mut s.gid, id(value)),
            b"euid" => fill(&mut s.euid, id(value)),
            b"suid" => fill(&mut s.suid, id(value)),
            b"fsuid" => fill(&mut s.fsuid, id(value)),
            b"egid" => fill(&mut s.egid, id(value)),
            b"sgid" => fill(&mut s.sgid, id(value)),
            b"fsgid" => fill(&mut s.fsgid, id(value)),
            b"ses" => fill(&mut s.ses, id(value)),
            b"tty" => fill_text(&mut s.tty, &mut s.tty_hex, key, value),
            b"comm" => fill_text(&mut s.comm, &mut s.comm_hex, key, value),
            b"exe" => fill_text(&mut s.exe, &mut s.exe_hex, key, value),
            b"subj" => fill_text(&mut s.subj, &mut s.subj_hex, key, value),
            b"key" if !keys_seen => {
                keys_seen = true;
                if let Some(text) = value.text(key) {
                    let keys: Vec<Vec<u8>> =
                        text.split(|&b| b == 0x01).map(<[u8]>::to_vec).collect();
                    (s.keys, s.keys_hex) = text_list(&keys);
                }
                matches!(value, Value::Null | Value::Quoted(_) | Value::Bare(_))
            }
            _ => false,
        };
        if !taken {
            extra.value(key, value);
        }
    }
    if let Some(text) = body.text {
        extra.text("text", text);
    }
    s.extra = extra.finish();
    s.enriched = enriched(body);
    let host_name = |key: &[u8]| body.get_enriched(key).and_then(|v| text_utf8(key, v));
    s.arch_name = host_name(b"ARCH").or_else(|| {
        let name = arch_name(s.arch.as_deref()?)?;
        Some(name.to_owned())
    });
    s.name = host_name(b"SYSCALL").or_else(|| {
        let name = syscall_name(s.arch_name.as_deref()?, s.number?)?;
        Some(name.to_owned())
    });
    s
}

/// A value's text if it is UTF-8.
fn text_utf8(key: &[u8], value: &Value) -> Option<String> {
    String::from_utf8(value.text(key)?.into_owned()).ok()
}

pub(super) fn path_item(body: &Body) -> PathItem {
    let mut p = PathItem::default();
    let mut extra = MapBuilder::default();
    let mut name_seen = false;
    for field in &body.fields {
        let (key, value) = (field.key, &field.value);
        let taken = match key {
            b"item" => fill(&mut p.item, value.as_u64()),
            b"name" if !name_seen => {
                name_seen = true;
                // `name=(null)`: the kernel had no name; nothing to keep.
                matches!(value, Value::Null) || fill_text(&mut p.name, &mut p.name_hex, key, value)
            }
            b"inode" => fill(&mut p.inode, value.as_u64()),
            b"dev" => fill(&mut p.dev, text_utf8(key, value)),
            b"mode" => fill(&mut p.mode, text_utf8(key, value)),
            b"ouid" => fill(&mut p.ouid, id(value)),
            b"ogid" => fill(&mut p.ogid, id(value)),
            b"nametype" => fill(&mut p.nametype, text_utf8(key, value)),
            _ => false,
        };
        if !taken {
            extra.value(key, value);
        }
    }
    if let Some(text) = body.text {
        extra.text("text", text);
    }
    p.extra = extra.finish();
    p.enriched = enriched(body);
    p
}

pub(super) fn other_record(record: &Record) -> OtherRecord {
    let mut fields = MapBuilder::default();
    for field in &record.body.fields {
        fields.value(field.key, &field.value);
    }
    let (text, text_hex) = match record.body.text {
        Some(text) => split_pair(text_pair(text)),
        None => (None, None),
    };
    OtherRecord {
        record_type: record.header.rtype.to_name().into_owned(),
        fields: fields.finish(),
        text,
        text_hex,
        enriched: enriched(&record.body),
    }
}
