//! `[redaction]` settings and the errors of building a [`Redactor`](super::Redactor).
//!
//! In: the configuration file's section. Out: typed settings with documented defaults, and the
//! problems [`RedactionSettings::problems`] finds (unknown kinds, bad patterns) for the config
//! check. Unknown keys are errors.

use std::path::PathBuf;

use regex::Regex;
use serde::Deserialize;

use super::BUILTIN_KINDS;

/// `[redaction]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionSettings {
    /// Redact secrets (default `true`).
    pub enabled: bool,
    /// A file whose content (trailing newline removed) keys the marker hash with HMAC-SHA256.
    /// Without it the hash is plain SHA-256, comparable across hosts but open to guessing.
    pub hash_key_file: Option<PathBuf>,
    /// Built-in kinds to leave alone (see [`BUILTIN_KINDS`]).
    pub disabled_kinds: Vec<String>,
    /// Extra patterns; the secret is the group named `secret`, else group 1, else the match.
    pub patterns: Vec<ExtraPattern>,
}

impl Default for RedactionSettings {
    fn default() -> Self {
        RedactionSettings {
            enabled: true,
            hash_key_file: None,
            disabled_kinds: Vec::new(),
            patterns: Vec::new(),
        }
    }
}

/// One `[[redaction.patterns]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraPattern {
    /// The kind written in the marker: lower-case letters, digits and `_`.
    pub kind: String,
    /// A `regex` crate pattern.
    pub regex: String,
}

impl RedactionSettings {
    /// Problems with these settings, for the configuration check (the key file is read later).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for kind in &self.disabled_kinds {
            if !BUILTIN_KINDS.contains(&kind.as_str()) {
                problems.push(format!(
                    "redaction.disabled_kinds: unknown kind {kind:?} (known: {})",
                    BUILTIN_KINDS.join(", ")
                ));
            }
        }
        for p in &self.patterns {
            if p.kind.is_empty()
                || !p
                    .kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                problems.push(format!(
                    "redaction.patterns: kind {:?} must be lower-case letters, digits and _",
                    p.kind
                ));
            }
            if let Err(e) = Regex::new(&p.regex) {
                problems.push(format!("redaction.patterns: kind {}: {e}", p.kind));
            }
        }
        problems
    }
}

/// Why a [`Redactor`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("redaction.hash_key_file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("redaction.hash_key_file {0}: empty")]
    EmptyKey(PathBuf),
    #[error("redaction pattern {kind}: {source}")]
    Pattern { kind: String, source: regex::Error },
}
