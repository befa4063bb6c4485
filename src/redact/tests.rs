use super::*;
use proptest::prelude::*;

fn red(text: &str) -> (String, Vec<String>) {
    let r = Redactor::with_defaults();
    let mut kinds = Vec::new();
    let out = r
        .redact(text, &mut kinds)
        .unwrap_or_else(|| text.to_string());
    (out, kinds.iter().map(|k| k.to_string()).collect())
}

fn marker(kind: &str, secret: &str) -> String {
    format!(
        "[REDACTED:{kind}:{}]",
        Redactor::with_defaults().short_hash(secret)
    )
}

/// `text` must come out as `expected`, with exactly `kinds` reported.
fn check(text: &str, expected: &str, kinds: &[&str]) {
    let (out, found) = red(text);
    assert_eq!(out, expected, "input: {text}");
    assert_eq!(found, kinds, "input: {text}");
}

fn untouched(text: &str) {
    check(text, text, &[]);
}

#[test]
fn the_marker_hash_is_the_first_8_hex_digits_of_sha256() {
    // sha256("hunter2") = f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7
    assert_eq!(Redactor::with_defaults().short_hash("hunter2"), "f52fbd32");
}

#[test]
fn a_keyed_hash_differs_and_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "fleet-secret\n").unwrap();
    let settings = RedactionSettings {
        hash_key_file: Some(key),
        ..RedactionSettings::default()
    };
    let keyed = Redactor::new(&settings).unwrap();
    let again = Redactor::new(&settings).unwrap();
    assert_ne!(keyed.short_hash("hunter2"), "f52fbd32");
    assert_eq!(keyed.short_hash("hunter2"), again.short_hash("hunter2"));
    assert_eq!(keyed.short_hash("hunter2").len(), 8);
}

#[test]
fn a_missing_or_empty_key_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = RedactionSettings {
        hash_key_file: Some(dir.path().join("nope")),
        ..RedactionSettings::default()
    };
    assert!(matches!(
        Redactor::new(&missing),
        Err(RedactError::KeyFile { .. })
    ));
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    let empty = RedactionSettings {
        hash_key_file: Some(dir.path().join("empty")),
        ..RedactionSettings::default()
    };
    assert!(matches!(
        Redactor::new(&empty),
        Err(RedactError::EmptyKey(_))
    ));
}

#[test]
fn aws_access_key_ids() {
    let key = "AKIAIOSFODNN7EXAMPLE";
    check(
        &format!("aws configure set aws_access_key_id {key}"),
        &format!(
            "aws configure set aws_access_key_id {}",
            marker("aws_access_key_id", key)
        ),
        &["aws_access_key_id"],
    );
    let sts = "ASIAY34FZKBOKMUTVV7A";
    check(
        &format!("echo {sts}"),
        &format!("echo {}", marker("aws_access_key_id", sts)),
        &["aws_access_key_id"],
    );
    // In a KEY=value assignment the specific kind still wins.
    check(
        &format!("export AWS_ACCESS_KEY_ID={key}"),
        &format!(
            "export AWS_ACCESS_KEY_ID={}",
            marker("aws_access_key_id", key)
        ),
        &["aws_access_key_id"],
    );
    // Not a key: too short, lower case, inside a longer word.
    untouched("echo AKIA1234");
    untouched("echo akiaiosfodnn7example");
    untouched("echo XAKIAIOSFODNN7EXAMPLEX");
}

#[test]
fn aws_secret_keys_in_assignments() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    check(
        &format!("AWS_SECRET_ACCESS_KEY={secret} aws s3 ls"),
        &format!(
            "AWS_SECRET_ACCESS_KEY={} aws s3 ls",
            marker("aws_secret_access_key", secret)
        ),
        &["aws_secret_access_key"],
    );
    check(
        &format!("aws configure set aws_secret_access_key {secret}"),
        &format!(
            "aws configure set aws_secret_access_key {}",
            marker("aws_secret_access_key", secret)
        ),
        &["aws_secret_access_key"],
    );
    // A 40-character string alone is not flagged (a git sha is 40 hex digits).
    untouched("git show 3f786850e387550fdab836ed7e6dc881de23001b");
}

#[test]
fn github_and_gitlab_tokens() {
    let ghp = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    check(
        &format!("gh auth login --with-token <<< {ghp}"),
        &format!(
            "gh auth login --with-token <<< {}",
            marker("github_token", ghp)
        ),
        &["github_token"],
    );
    let pat =
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU";
    check(
        &format!("git clone https://{pat}@github.com/o/r"),
        &format!(
            "git clone https://{}@github.com/o/r",
            marker("github_token", pat)
        ),
        &["github_token"],
    );
    let gho = "gho_abcdefghijklmnopqrstuvwxyz0123456789";
    check(
        &format!("GITHUB_TOKEN={gho} make"),
        &format!("GITHUB_TOKEN={} make", marker("github_token", gho)),
        &["github_token"],
    );
    let glpat = "glpat-xxxxxxxxxxxxxxxxxxxx";
    check(
        &format!(
            "curl --header 'PRIVATE-TOKEN: {glpat}' https://gitlab.example.com/api/v4/projects"
        ),
        &format!(
            "curl --header 'PRIVATE-TOKEN: {}' https://gitlab.example.com/api/v4/projects",
            marker("gitlab_token", glpat)
        ),
        &["gitlab_token"],
    );
    untouched("git checkout ghp_branch");
    untouched("echo glpat-short");
}

#[test]
fn private_key_blocks() {
    let block = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
    check(
        &format!("printf '%s' '{block}' > id"),
        &format!("printf '%s' '{}' > id", marker("private_key", block)),
        &["private_key"],
    );
    // Cut short (a 128-byte proctitle): everything from the header on goes.
    let cut = "echo '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA";
    check(
        cut,
        &format!("echo '{}", marker("private_key", &cut[6..])),
        &["private_key"],
    );
    untouched("ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519");
    untouched("echo -----BEGIN PUBLIC KEY-----");
}

#[test]
fn password_token_secret_assignments() {
    check(
        "mysql_config_editor set --password=hunter2",
        &format!(
            "mysql_config_editor set --password={}",
            marker("password", "hunter2")
        ),
        &["password"],
    );
    check(
        "DB_PASSWORD=hunter2 ./migrate",
        &format!("DB_PASSWORD={} ./migrate", marker("password", "hunter2")),
        &["password"],
    );
    check(
        "curl 'https://api.example.com/v1?api_key=abc123def&x=1'",
        &format!(
            "curl 'https://api.example.com/v1?api_key={}&x=1'",
            marker("api_key", "abc123def")
        ),
        &["api_key"],
    );
    check(
        "export SLACK_TOKEN=xoxb-123-456",
        &format!("export SLACK_TOKEN={}", marker("token", "xoxb-123-456")),
        &["token"],
    );
    check(
        "CLIENT_SECRET='s3cr3t value' run",
        &format!("CLIENT_SECRET='{}' run", marker("secret", "s3cr3t value")),
        &["secret"],
    );
    check(
        r#"echo '{"password": "hunter2"}'"#,
        &format!(
            r#"echo '{{"password": "{}"}}'"#,
            marker("password", "hunter2")
        ),
        &["password"],
    );
    check(
        "DB_PASS=hunter2 psql",
        &format!("DB_PASS={} psql", marker("password", "hunter2")),
        &["password"],
    );
}

#[test]
fn password_flags() {
    check(
        "psql --password hunter2",
        &format!("psql --password {}", marker("password", "hunter2")),
        &["password"],
    );
    check(
        "vault login --token s.abcdef",
        &format!("vault login --token {}", marker("token", "s.abcdef")),
        &["token"],
    );
    check(
        "mysql -u root -phunter2 db",
        &format!("mysql -u root -p{} db", marker("password", "hunter2")),
        &["password"],
    );
    check(
        "sshpass -p hunter2 ssh host",
        &format!("sshpass -p {} ssh host", marker("password", "hunter2")),
        &["password"],
    );
    check(
        "curl -u alice:hunter2 https://x",
        &format!("curl -u alice:{} https://x", marker("password", "hunter2")),
        &["password"],
    );
    // Options that name a file or stdin, or take the next option, are not secrets.
    untouched("docker login --password-stdin -u alice registry");
    untouched("kubectl --token-file=/run/token get pods");
    untouched("mysql -u root -p mydb");
    untouched("docker run -u 1000:1000 alpine");
    untouched("psql --password --host db");
}

#[test]
fn bearer_and_basic_authorization() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
    check(
        &format!("curl -H 'Authorization: Bearer {jwt}' https://api"),
        &format!(
            "curl -H 'Authorization: Bearer {}' https://api",
            marker("bearer_token", jwt)
        ),
        &["bearer_token"],
    );
    check(
        "curl -H 'Authorization: Basic YWxpY2U6aHVudGVyMg==' x",
        &format!(
            "curl -H 'Authorization: Basic {}' x",
            marker("basic_auth", "YWxpY2U6aHVudGVyMg==")
        ),
        &["basic_auth"],
    );
    untouched(r#"curl -H "Authorization: Bearer $TOKEN" https://api"#);
}

#[test]
fn url_credentials_keep_the_user() {
    check(
        "git clone https://alice:hunter2@git.example.com/r.git",
        &format!(
            "git clone https://alice:{}@git.example.com/r.git",
            marker("url_credentials", "hunter2")
        ),
        &["url_credentials"],
    );
    check(
        "psql postgres://app:pw0rd@db:5432/app",
        &format!(
            "psql postgres://app:{}@db:5432/app",
            marker("url_credentials", "pw0rd")
        ),
        &["url_credentials"],
    );
    untouched("git clone ssh://git@github.com/o/r.git");
    untouched("curl http://localhost:8080/health");
}

#[test]
fn everyday_commands_are_left_alone() {
    for cmd in [
        "git commit -m 'fix password reset page'",
        "git commit -m \"password: use bcrypt\"",
        "grep -rn 'token=' src/",
        "echo $PASSWORD",
        "export PASSWORD=$(cat /run/secrets/db)",
        "ls -la ~",
        "cat /etc/os-release | head -2",
        "docker run --rm alpine",
        "python3 -m pip install --upgrade pip",
        "kubectl get secret db -o yaml",
        "passwd carol",
        "max_tokens=100 ./bench",
        "ssh-add ~/.ssh/id_rsa",
    ] {
        untouched(cmd);
    }
    // Documented false positive: a key that ends in a secret word is redacted, whatever it holds.
    assert_ne!(red("max_token=100 ./bench").0, "max_token=100 ./bench");
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let once = red("DB_PASSWORD=hunter2 GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a x").0;
    let (twice, kinds) = red(&once);
    assert_eq!(twice, once);
    assert!(kinds.is_empty(), "{kinds:?}");
}

#[test]
fn repeats_of_a_secret_get_the_same_marker() {
    let (out, kinds) = red("a --password=hunter2 b --password hunter2");
    let m = marker("password", "hunter2");
    assert_eq!(out, format!("a --password={m} b --password {m}"));
    assert_eq!(kinds, ["password"]);
}

#[test]
fn words_are_redacted_across_argument_boundaries() {
    let r = Redactor::with_defaults();
    let mut words: Vec<String> = ["psql", "--password", "hunter2", "-h", "db"]
        .map(String::from)
        .into();
    let mut kinds = Vec::new();
    let changed = r.redact_words(&mut words, &mut kinds);
    assert_eq!(changed, [2]);
    assert_eq!(words[2], marker("password", "hunter2"));
    assert_eq!(words.len(), 5);
    // A key block spread over words (unquoted echo): each covered part gets the marker.
    let mut words: Vec<String> = ["echo", "-----BEGIN", "RSA", "PRIVATE", "KEY-----", "MIIE"]
        .map(String::from)
        .into();
    let changed = r.redact_words(&mut words, &mut kinds);
    assert_eq!(changed, [1, 2, 3, 4, 5]);
    assert!(words[1..]
        .iter()
        .all(|w| w.starts_with("[REDACTED:private_key:")));
    assert_eq!(words[0], "echo");
}

#[test]
fn disabled_kinds_and_disabled_redaction() {
    let settings = RedactionSettings {
        disabled_kinds: vec!["password".into()],
        ..RedactionSettings::default()
    };
    let r = Redactor::new(&settings).unwrap();
    let mut kinds = Vec::new();
    assert_eq!(r.redact("DB_PASSWORD=hunter2", &mut kinds), None);
    assert!(r.redact("AKIAIOSFODNN7EXAMPLE", &mut kinds).is_some());
    let off = Redactor::new(&RedactionSettings {
        enabled: false,
        ..RedactionSettings::default()
    })
    .unwrap();
    assert_eq!(off.redact("AKIAIOSFODNN7EXAMPLE", &mut kinds), None);
    assert!(!off.is_enabled());
}

#[test]
fn extra_patterns_use_their_secret_group() {
    let settings = RedactionSettings {
        patterns: vec![
            ExtraPattern {
                kind: "internal_ticket".into(),
                regex: r"TICKET-(?P<secret>[0-9]{6})".into(),
            },
            ExtraPattern {
                kind: "acme_key".into(),
                regex: r"acme_[a-z0-9]{10}".into(),
            },
        ],
        ..RedactionSettings::default()
    };
    assert!(settings.problems().is_empty());
    let r = Redactor::new(&settings).unwrap();
    let mut kinds = Vec::new();
    let out = r
        .redact(
            "close TICKET-123456 with acme_0123456789 and --password x1",
            &mut kinds,
        )
        .unwrap();
    assert_eq!(
        out,
        format!(
            "close TICKET-{} with {} and --password {}",
            marker("internal_ticket", "123456"),
            marker("acme_key", "acme_0123456789"),
            marker("password", "x1")
        )
    );
    let names: Vec<&str> = kinds.iter().map(|k| &**k).collect();
    assert_eq!(
        names,
        ["internal_ticket", "acme_key", "password"],
        "in text order"
    );
}

#[test]
fn bad_settings_are_reported() {
    let settings = RedactionSettings {
        disabled_kinds: vec!["passwords".into()],
        patterns: vec![ExtraPattern {
            kind: "Bad Kind".into(),
            regex: "(".into(),
        }],
        ..RedactionSettings::default()
    };
    let problems = settings.problems().join("\n");
    assert!(
        problems.contains("unknown kind \"passwords\""),
        "{problems}"
    );
    assert!(problems.contains("must be lower-case"), "{problems}");
    assert!(problems.contains("Bad Kind"), "{problems}");
}

proptest! {
    #[test]
    fn never_panics_and_is_idempotent(text in "\\PC{0,200}") {
        let r = Redactor::with_defaults();
        let mut kinds = Vec::new();
        let once = r.redact(&text, &mut kinds).unwrap_or_else(|| text.clone());
        let mut more = Vec::new();
        let twice = r.redact(&once, &mut more).unwrap_or_else(|| once.clone());
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn generated_secrets_never_survive(
        prefix in "[a-z ]{0,20}",
        password in "[A-Za-z0-9!%^*_+.]{12,30}",
        token in "[A-Za-z0-9]{36}",
    ) {
        let text = format!("{prefix} DB_PASSWORD={password} GH=ghp_{token} --token={password}x");
        let (out, _) = red(&text);
        prop_assert!(!out.contains(&password), "{}", out);
        prop_assert!(!out.contains(&token), "{}", out);
    }

    #[test]
    fn words_never_panic(words in proptest::collection::vec("\\PC{0,20}", 0..8)) {
        let r = Redactor::with_defaults();
        let mut w = words.clone();
        let mut kinds = Vec::new();
        let changed = r.redact_words(&mut w, &mut kinds);
        prop_assert_eq!(w.len(), words.len());
        for (i, (a, b)) in w.iter().zip(&words).enumerate() {
            prop_assert_eq!(a != b, changed.contains(&i));
        }
    }
}
