//! The built-in secret patterns, as one alternation compiled once.
//!
//! In: nothing (the patterns are constants). Out: the pattern text and, per rule, what its
//! capture groups mean. Each rule is wrapped in a named group `rN`; its secret is the first of its
//! groups `sN_0`, `sN_1`, … that took part in the match (several when the value may be quoted in
//! different ways); a rule whose kind depends on the key it matched (`password=`, `--token`) names
//! that key `kN`. Every pattern is linear-time (the `regex` crate has no backtracking).

/// How a rule's kind is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KindRule {
    Fixed(&'static str),
    /// From the matched key: `password`, `token`, `api_key` or `secret` (see [`kind_of_key`]).
    FromKey,
}

/// One built-in rule.
pub(super) struct BuiltinRule {
    pub kind: KindRule,
    /// The pattern, with secret groups written `(?P<S>…)` (and the key group `(?P<K>…)`); they
    /// are renamed per rule when the alternation is assembled.
    pub pattern: &'static str,
}

/// Every kind the built-in rules can report, for validating `disabled_kinds`.
pub const BUILTIN_KINDS: &[&str] = &[
    "private_key",
    "aws_access_key_id",
    "aws_secret_access_key",
    "github_token",
    "gitlab_token",
    "bearer_token",
    "basic_auth",
    "url_credentials",
    "password",
    "token",
    "api_key",
    "secret",
];

/// A value after `=` or a flag: double-quoted, single-quoted, or a bare word. A bare word may not
/// start with `$` (a variable is not a secret), `[` (an earlier redaction marker), `-` (the next
/// option) or a shell operator.
const VALUE: &str =
    r#"(?:"(?P<S>[^"]+)"|'(?P<S>[^']+)'|(?P<S>[^\s'"&;|$<>(){}\[\],\-][^\s'"&;|]*))"#;

/// Words that make `KEY=value` a secret when KEY ends with one of them.
const KEY_WORDS: &str = r"(?i:password|passwd|passphrase|secret|secret_?(?:access_?)?key|access_?key|private_?key|token|api_?key|apikey|credentials?|_pass)";

/// Rules in priority order: when two match at the same position, the earlier wins.
pub(super) fn builtin_rules() -> Vec<BuiltinRule> {
    vec![
        BuiltinRule {
            kind: KindRule::Fixed("private_key"),
            // The whole block; an unterminated one (a cut argument) up to the end of the text.
            pattern: r"(?P<S>-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\z))",
        },
        BuiltinRule {
            kind: KindRule::Fixed("aws_secret_access_key"),
            pattern: r#"(?i:aws_?secret_?(?:access_?)?key)["']?\s*(?:=|:|\s)\s*["']?(?P<S>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("url_credentials"),
            // scheme://user:PASSWORD@host — only the password is replaced.
            pattern: r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{0,20}://[^\s/@:'"]*:(?P<S>[^\s/@'"]+)@"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("password"),
            // curl -u user:PASSWORD, curl --user=user:PASSWORD
            pattern: r#"(?-u:\b)curl\s(?:[^|;&\n]*\s)?(?:-u|--user)(?:\s+|=)["']?[^\s:'"]+:(?P<S>[^\s'"]+)"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("password"),
            // mysql -pPASSWORD (the password glued to -p)
            pattern: r#"(?-u:\b)(?:mysql|mysqldump|mysqladmin|mariadb)\s(?:[^|;&\n]*\s)?-p(?P<S>[^\s'"]+)"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("password"),
            pattern: r#"(?-u:\b)sshpass\s+-p\s*(?P<S>[^\s'"]+)"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("basic_auth"),
            pattern: r"(?i:authorization:\s*basic)\s+(?P<S>[A-Za-z0-9+/]{8,}=*)",
        },
        BuiltinRule {
            kind: KindRule::Fixed("bearer_token"),
            pattern: r"(?-u:\b)(?i:bearer)\s+(?P<S>[A-Za-z0-9\-._~+/]{12,}=*)",
        },
        BuiltinRule {
            kind: KindRule::FromKey,
            // --password X, --db-password=X, --api-key X (not --password-stdin, --token-file)
            pattern: r"--(?P<K>[A-Za-z0-9_\-]*(?i:password|passwd|passphrase|token|secret|api-key|api_key|apikey))(?:\s+|=)VALUE",
        },
        BuiltinRule {
            kind: KindRule::FromKey,
            // KEY=value, KEY = value, "KEY": "value", KEY:value (a bare colon only when the value
            // follows at once, so that prose like "password: use bcrypt" is left alone).
            pattern: r#"(?P<K>[A-Za-z0-9_.\-]*KEYWORDS)(?:["']?\s*=\s*|["']\s*:\s*|:)VALUE"#,
        },
        BuiltinRule {
            kind: KindRule::Fixed("aws_access_key_id"),
            pattern: r"(?-u:\b)(?P<S>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?-u:\b)",
        },
        BuiltinRule {
            kind: KindRule::Fixed("github_token"),
            pattern: r"(?-u:\b)(?P<S>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        },
        BuiltinRule {
            kind: KindRule::Fixed("gitlab_token"),
            pattern: r"(?-u:\b)(?P<S>gl(?:pat|rt|dt|ptt|soat|cbt)-[A-Za-z0-9_\-]{20,})",
        },
    ]
}

/// The rule's pattern with `VALUE` and `KEYWORDS` expanded and its groups renamed for rule `n`:
/// `(?P<S>` → `(?P<sN_i>`, `(?P<K>` → `(?P<kN>`, the whole wrapped in `(?P<rN>…)`.
pub(super) fn expand(rule: &BuiltinRule, n: usize) -> String {
    let text = rule
        .pattern
        .replace("VALUE", VALUE)
        .replace("KEYWORDS", KEY_WORDS);
    let mut out = format!("(?P<r{n}>");
    let mut rest = text.as_str();
    let mut secret = 0;
    while let Some(i) = rest.find("(?P<") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("(?P<S>") {
            out.push_str(&format!("(?P<s{n}_{secret}>"));
            secret += 1;
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("(?P<K>") {
            out.push_str(&format!("(?P<k{n}>"));
            rest = tail;
        } else {
            out.push_str("(?P<");
            rest = &after[4..];
        }
    }
    out.push_str(rest);
    out.push(')');
    out
}

/// The kind a `KEY=value` or `--key value` secret is reported as.
pub(super) fn kind_of_key(key: &str) -> &'static str {
    let key = key.to_ascii_lowercase();
    if key.contains("pass") {
        "password"
    } else if key.contains("token") {
        "token"
    } else if key.contains("api") {
        "api_key"
    } else {
        "secret"
    }
}

/// Token shapes precise enough to name a secret found as a generic `KEY=value` value
/// (`GITHUB_TOKEN=ghp_…` is reported as `github_token`, not `token`).
pub(super) const SPECIFIC_VALUE: &str = r"^(?:(?P<aws_access_key_id>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})|(?P<github_token>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})|(?P<gitlab_token>gl(?:pat|rt|dt|ptt|soat|cbt)-[A-Za-z0-9_\-]{20,}))$";
