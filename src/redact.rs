//! Secret redaction: the last step before an event leaves the host.
//!
//! In: text (command lines, history lines, hook commands, raw lines) or a whole [`Event`]. Out:
//! the same text with every secret replaced by `[REDACTED:<kind>:<hash>]`, where `<hash>` is the
//! first 8 hex digits of SHA-256 of the secret — or of HMAC-SHA256 keyed with
//! `redaction.hash_key_file` — so that an analyst can see that two events carry the same secret
//! without seeing it. The event lists the kinds it lost in `redacted`.
//!
//! Guarantees: one pass of one compiled alternation per text (plus one pass per configured extra
//! pattern), linear in the text; a text without secrets is not copied; redacting twice changes
//! nothing more (a marker is never redacted again); never panics.

mod event;
mod patterns;
mod settings;

use std::sync::Arc;

use hmac::{KeyInit, Mac};
use regex::bytes::{Captures, Regex as BytesRegex, RegexBuilder};
use regex::Regex;
use sha2::{Digest, Sha256};

pub use self::patterns::BUILTIN_KINDS;
use self::patterns::{builtin_rules, expand, kind_of_key, KindRule, SPECIFIC_VALUE};
pub use self::settings::{ExtraPattern, RedactError, RedactionSettings};

/// What a built-in rule's groups mean in the compiled alternation.
#[derive(Debug)]
struct CompiledRule {
    whole: usize,
    secrets: Vec<usize>,
    key: Option<usize>,
    kind: KindRule,
}

#[derive(Debug)]
struct Extra {
    kind: Arc<str>,
    regex: Regex,
    secret_group: usize,
}

/// Replaces secrets in text. Cheap to share: build once, use for every event.
#[derive(Debug)]
pub struct Redactor {
    /// `None` when redaction is disabled. ASCII-only (`unicode(false)`), matched on bytes: it
    /// compiles in a third of the time of its Unicode form, which matters to `auditrail hook`.
    builtin: Option<BytesRegex>,
    rules: Vec<CompiledRule>,
    /// Compiled on first use (only a generic `KEY=value` match needs it).
    specific: std::sync::OnceLock<Option<BytesRegex>>,
    extras: Vec<Extra>,
    disabled: Vec<String>,
    key: Option<hmac::Hmac<Sha256>>,
    /// Interned kind names, so that events share them.
    kinds: std::sync::Mutex<Vec<Arc<str>>>,
}

/// One secret found in a text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Builtin(&'static str),
    /// Index into `extras`.
    Extra(usize),
}

/// Length of the window before a match that is searched for an open marker.
const MARKER_WINDOW: usize = 96;
const MARKER_OPEN: &str = "[REDACTED:";

impl Redactor {
    /// A redactor for `settings`; reads the key file if one is configured.
    pub fn new(settings: &RedactionSettings) -> Result<Redactor, RedactError> {
        if !settings.enabled {
            return Ok(Redactor::disabled());
        }
        let key = match &settings.hash_key_file {
            None => None,
            Some(path) => Some(read_key(path)?),
        };
        let mut redactor = Redactor::builtin_only(key)?;
        redactor.disabled = settings.disabled_kinds.clone();
        for p in &settings.patterns {
            let regex = Regex::new(&p.regex).map_err(|source| RedactError::Pattern {
                kind: p.kind.clone(),
                source,
            })?;
            let secret_group = regex
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(usize::from(regex.captures_len() > 1));
            redactor.extras.push(Extra {
                kind: Arc::from(p.kind.as_str()),
                regex,
                secret_group,
            });
        }
        Ok(redactor)
    }

    /// A redactor that changes nothing.
    pub fn disabled() -> Redactor {
        Redactor {
            builtin: None,
            rules: Vec::new(),
            specific: std::sync::OnceLock::new(),
            extras: Vec::new(),
            disabled: Vec::new(),
            key: None,
            kinds: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The built-in rules, unkeyed, nothing disabled (the defaults).
    pub fn with_defaults() -> Redactor {
        // The built-in patterns are constants covered by the tests: this cannot fail, and if it
        // ever did, redaction must not take the daemon down; the hook and the daemon log it.
        Redactor::builtin_only(None).unwrap_or_else(|e| {
            eprintln!("auditrail: built-in redaction patterns do not compile: {e}");
            Redactor::disabled()
        })
    }

    fn builtin_only(key: Option<Vec<u8>>) -> Result<Redactor, RedactError> {
        let rules = builtin_rules();
        let pattern = rules
            .iter()
            .enumerate()
            .map(|(n, r)| expand(r, n))
            .collect::<Vec<_>>()
            .join("|");
        let regex = compile_ascii(&pattern).map_err(|source| RedactError::Pattern {
            kind: "built-in".into(),
            source,
        })?;
        let names: Vec<Option<&str>> = regex.capture_names().collect();
        let index = |name: &str| names.iter().position(|n| *n == Some(name));
        let compiled = rules
            .iter()
            .enumerate()
            .map(|(n, r)| CompiledRule {
                whole: index(&format!("r{n}")).unwrap_or(0),
                secrets: (0..).map_while(|i| index(&format!("s{n}_{i}"))).collect(),
                key: index(&format!("k{n}")),
                kind: r.kind,
            })
            .collect();
        let key = match key {
            None => None,
            Some(k) => hmac::Hmac::<Sha256>::new_from_slice(&k).ok(),
        };
        Ok(Redactor {
            builtin: Some(regex),
            rules: compiled,
            specific: std::sync::OnceLock::new(),
            extras: Vec::new(),
            disabled: Vec::new(),
            key,
            kinds: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Whether this redactor changes anything at all.
    pub fn is_enabled(&self) -> bool {
        self.builtin.is_some()
    }

    /// `text` with its secrets replaced, or `None` if it has none. The kinds replaced are added to
    /// `kinds` (each once).
    pub fn redact(&self, text: &str, kinds: &mut Vec<Arc<str>>) -> Option<String> {
        let spans = self.find_spans(text);
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len() + spans.len() * 32);
        let mut at = 0;
        for s in &spans {
            out.push_str(&text[at..s.start]);
            self.push_marker(&mut out, self.kind_name(s.kind), &text[s.start..s.end]);
            self.note_kind(s.kind, kinds);
            at = s.end;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// Redacts `text` in place; returns whether it changed.
    pub fn redact_in_place(&self, text: &mut String, kinds: &mut Vec<Arc<str>>) -> bool {
        match self.redact(text, kinds) {
            Some(r) => {
                *text = r;
                true
            }
            None => false,
        }
    }

    /// Redacts an argument vector as one command: the words are scanned joined by spaces (so that
    /// `--password X` and a key block spread over several words are found), and the part of each
    /// word that a secret covers is replaced by that secret's marker (so `argc` is unchanged).
    /// Returns the indices of the words that changed.
    pub fn redact_words(&self, words: &mut [String], kinds: &mut Vec<Arc<str>>) -> Vec<usize> {
        if !self.is_enabled() || words.is_empty() {
            return Vec::new();
        }
        let joined = words.join(" ");
        let spans = self.find_spans(&joined);
        if spans.is_empty() {
            return Vec::new();
        }
        let markers: Vec<String> = spans
            .iter()
            .map(|s| {
                self.note_kind(s.kind, kinds);
                let mut m = String::new();
                self.push_marker(&mut m, self.kind_name(s.kind), &joined[s.start..s.end]);
                m
            })
            .collect();
        let mut changed = Vec::new();
        let mut offset = 0;
        for (i, word) in words.iter_mut().enumerate() {
            let (w_start, w_end) = (offset, offset + word.len());
            offset = w_end + 1;
            let mut out = String::new();
            let mut at = 0;
            for (s, marker) in spans.iter().zip(&markers) {
                let (start, end) = (s.start.max(w_start), s.end.min(w_end));
                if start >= end {
                    continue;
                }
                out.push_str(&word[at..start - w_start]);
                out.push_str(marker);
                at = end - w_start;
            }
            if at > 0 || !out.is_empty() {
                out.push_str(&word[at..]);
                *word = out;
                changed.push(i);
            }
        }
        changed
    }

    /// The secrets in `text`, in order, not overlapping: the built-in rules' and then each extra
    /// pattern's (a span overlapping an earlier one is dropped).
    fn find_spans(&self, text: &str) -> Vec<Span> {
        let Some(builtin) = self.builtin.as_ref() else {
            return Vec::new();
        };
        let mut spans = Vec::new();
        if builtin.is_match(text.as_bytes()) {
            for caps in builtin.captures_iter(text.as_bytes()) {
                if let Some(span) = self.builtin_span(text, &caps) {
                    let name = self.kind_name(span.kind);
                    if !is_marker(text, span.start) && !self.is_disabled(name) {
                        spans.push(span);
                    }
                }
            }
        }
        for (x, extra) in self.extras.iter().enumerate() {
            let before = spans.len();
            for caps in extra.regex.captures_iter(text) {
                let m = caps.get(extra.secret_group).or_else(|| caps.get(0));
                let Some(m) = m.filter(|m| !m.is_empty()) else {
                    continue;
                };
                let overlaps = spans[..before]
                    .iter()
                    .any(|s| s.start < m.end() && m.start() < s.end);
                if !overlaps && !is_marker(text, m.start()) {
                    spans.push(Span {
                        start: m.start(),
                        end: m.end(),
                        kind: Kind::Extra(x),
                    });
                }
            }
        }
        if !self.extras.is_empty() {
            spans.sort_by_key(|s| s.start);
        }
        spans
    }

    fn kind_name(&self, kind: Kind) -> &str {
        match kind {
            Kind::Builtin(k) => k,
            Kind::Extra(x) => self.extras.get(x).map_or("custom", |e| &e.kind),
        }
    }

    fn builtin_span(&self, text: &str, caps: &Captures<'_>) -> Option<Span> {
        let rule = self.rules.iter().find(|r| caps.get(r.whole).is_some())?;
        let secret = rule.secrets.iter().find_map(|&g| caps.get(g))?;
        // The patterns start and end on ASCII, so a span is on character boundaries; widen it
        // if a configured change ever breaks that, rather than slice inside a character.
        let mut start = secret.start();
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = secret.end();
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start == end {
            return None;
        }
        let kind = match rule.kind {
            KindRule::Fixed(k) => k,
            KindRule::FromKey => {
                let key = rule
                    .key
                    .and_then(|g| caps.get(g))
                    .map_or(&b""[..], |m| m.as_bytes());
                self.specific_kind(&text.as_bytes()[start..end])
                    .unwrap_or_else(|| kind_of_key(&String::from_utf8_lossy(key)))
            }
        };
        Some(Span {
            start,
            end,
            kind: Kind::Builtin(kind),
        })
    }

    /// `aws_access_key_id`, `github_token` or `gitlab_token` if the value has that exact shape.
    fn specific_kind(&self, value: &[u8]) -> Option<&'static str> {
        let specific = self
            .specific
            .get_or_init(|| compile_ascii(SPECIFIC_VALUE).ok())
            .as_ref()?;
        let caps = specific.captures(value)?;
        ["aws_access_key_id", "github_token", "gitlab_token"]
            .into_iter()
            .find(|k| caps.name(k).is_some())
    }

    fn is_disabled(&self, kind: &str) -> bool {
        self.disabled.iter().any(|d| d == kind)
    }

    fn push_marker(&self, out: &mut String, kind: &str, secret: &str) {
        out.push_str(MARKER_OPEN);
        out.push_str(kind);
        out.push(':');
        out.push_str(&self.short_hash(secret));
        out.push(']');
    }

    /// First 8 hex digits of SHA-256 (or HMAC-SHA256 with the configured key) of `secret`.
    pub fn short_hash(&self, secret: &str) -> String {
        let digest: [u8; 32] = match &self.key {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(secret.as_bytes());
                mac.finalize().into_bytes().into()
            }
            None => Sha256::digest(secret.as_bytes()).into(),
        };
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn note_kind(&self, kind: Kind, kinds: &mut Vec<Arc<str>>) {
        let name = self.kind_name(kind);
        if kinds.iter().any(|k| &**k == name) {
            return;
        }
        let arc = match kind {
            Kind::Extra(x) => match self.extras.get(x) {
                Some(e) => e.kind.clone(),
                None => Arc::from(name),
            },
            Kind::Builtin(name) => {
                let mut interned = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
                match interned.iter().find(|k| &***k == name) {
                    Some(k) => k.clone(),
                    None => {
                        let k: Arc<str> = Arc::from(name);
                        interned.push(k.clone());
                        k
                    }
                }
            }
        };
        kinds.push(arc);
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::with_defaults()
    }
}

/// An ASCII-only byte regex (classes and case folding on ASCII; any other byte is "other").
fn compile_ascii(pattern: &str) -> Result<BytesRegex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).build()
}

/// Whether a secret found at `at` is a marker, or lies inside one: a marker is never redacted.
fn is_marker(text: &str, at: usize) -> bool {
    text[at..].starts_with(MARKER_OPEN) || inside_marker(text, at)
}

/// Whether `at` lies inside a `[REDACTED:…]` marker.
fn inside_marker(text: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(MARKER_WINDOW);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let before = &text[from..at];
    match before.rfind(MARKER_OPEN) {
        Some(i) => !before[i..].contains(']'),
        None => false,
    }
}

fn read_key(path: &std::path::Path) -> Result<Vec<u8>, RedactError> {
    let mut key = std::fs::read(path).map_err(|source| RedactError::KeyFile {
        path: path.to_owned(),
        source,
    })?;
    while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        key.pop();
    }
    if key.is_empty() {
        return Err(RedactError::EmptyKey(path.to_owned()));
    }
    Ok(key)
}

/// Upper-case hex of `text`'s bytes (for the `_hex` sibling of a redacted field).
pub(crate) fn hex_upper(text: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests;
