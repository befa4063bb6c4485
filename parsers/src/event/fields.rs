//! Text and generic fields as JSON: exact when UTF-8, else lossy with an upper-case `<name>_hex`
//! sibling holding the exact bytes. In: bytes or audit [`Value`]s. Out: strings and [`FieldMap`]s.
//! Map keys that repeat within one record get `_2`, `_3` … so that no value is overwritten.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::audit::{Body, Value};
use crate::hex;

/// Generic `key → value` fields of one record: text as JSON strings, `(null)` and `?` as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct FieldMap(pub BTreeMap<String, serde_json::Value>);

impl FieldMap {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The field `key`, if present.
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key)
    }
}

/// The UTF-8 text, or a lossy copy and the exact bytes as upper-case hex.
pub fn text_pair(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), None),
        Err(_) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(hex::encode_upper(bytes)),
        ),
    }
}

/// [`text_pair`] of every item; the hex list (of every item, so indices line up) only when some
/// item is not UTF-8.
pub fn text_list(items: &[Vec<u8>]) -> (Vec<String>, Option<Vec<String>>) {
    let texts = items
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    let all_utf8 = items.iter().all(|b| std::str::from_utf8(b).is_ok());
    let hexes = (!all_utf8).then(|| items.iter().map(|b| hex::encode_upper(b)).collect());
    (texts, hexes)
}

/// Builds a [`FieldMap`], renaming repeated keys. Linear in the number of inserts.
#[derive(Debug, Default)]
pub(crate) struct MapBuilder {
    map: BTreeMap<String, serde_json::Value>,
    next_suffix: HashMap<String, u32>,
}

impl MapBuilder {
    /// Inserts under `key`, or `key_N` if taken; returns the name used.
    pub(crate) fn insert(&mut self, key: &str, value: serde_json::Value) -> String {
        if !self.map.contains_key(key) {
            self.map.insert(key.to_owned(), value);
            return key.to_owned();
        }
        let next = self.next_suffix.entry(key.to_owned()).or_insert(2);
        loop {
            let candidate = format!("{key}_{next}");
            *next = next.saturating_add(1);
            if !self.map.contains_key(&candidate) {
                self.map.insert(candidate.clone(), value);
                return candidate;
            }
        }
    }

    /// `key` as text, plus `key_hex` when the bytes are not UTF-8.
    pub(crate) fn text(&mut self, key: &str, bytes: &[u8]) {
        let (text, hex) = text_pair(bytes);
        let used = self.insert(key, serde_json::Value::String(text));
        if let Some(hex) = hex {
            self.insert(&format!("{used}_hex"), serde_json::Value::String(hex));
        }
    }

    /// One audit field: text decoded per [`Value::text`], `(null)`/`?` as `null`, a nested
    /// `msg='…'` flattened into this map (its free text under `msg`).
    pub(crate) fn value(&mut self, key: &[u8], value: &Value) {
        let name = String::from_utf8_lossy(key);
        match value {
            Value::Nested(body) => self.body(body, "msg"),
            Value::Null | Value::Unset => {
                self.insert(&name, serde_json::Value::Null);
            }
            Value::Quoted(_) | Value::Bare(_) => match value.text(key) {
                Some(text) => self.text(&name, &text),
                None => {
                    self.insert(&name, serde_json::Value::Null);
                }
            },
        }
    }

    /// Every raw field of `body`, and its free text under `text_key`.
    pub(crate) fn body(&mut self, body: &Body, text_key: &str) {
        for field in &body.fields {
            self.value(field.key, &field.value);
        }
        if let Some(text) = body.text {
            self.text(text_key, text);
        }
    }

    pub(crate) fn finish(self) -> FieldMap {
        FieldMap(self.map)
    }
}

/// The ENRICHED fields of `body` as a map.
pub(crate) fn enriched(body: &Body) -> FieldMap {
    let mut map = MapBuilder::default();
    for field in &body.enriched {
        map.value(field.key, &field.value);
    }
    map.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repeated_keys_and_non_utf8_keep_everything() {
        let mut m = MapBuilder::default();
        m.text("x", b"1");
        m.text("x", b"2");
        m.insert("x_3", json!("real"));
        m.text("x", b"\xff");
        m.value(b"cmd", &Value::Bare(b"6C73202D6C"));
        m.value(b"hostname", &Value::Unset);
        let got = serde_json::to_value(m.finish()).unwrap();
        assert_eq!(
            got,
            json!({"x": "1", "x_2": "2", "x_3": "real", "x_4": "\u{fffd}", "x_4_hex": "FF",
                   "cmd": "ls -l", "hostname": null})
        );
    }

    #[test]
    fn lists_get_hex_only_when_needed() {
        assert_eq!(text_list(&[b"a".to_vec()]), (vec!["a".into()], None));
        assert_eq!(
            text_list(&[b"a".to_vec(), b"\xfe".to_vec()]),
            (
                vec!["a".into(), "\u{fffd}".into()],
                Some(vec!["61".into(), "FE".into()])
            )
        );
    }
}
