//! A small shell-line splitter: enough of bash's grammar to know which programs a command line
//! execs and with which arguments, and how many simple commands it has (history-security.sh
//! logs one line per simple command before it runs).
//!
//! In: a command line from the catalog (or an agent). Out: [`ShellLine`]. Handles words, single
//! and double quotes, backslashes, `~`, `|`, `||`, `&&`, `;`, `&` and redirections (dropped with
//! their target). Builtins are counted but not exec'd. No expansion beyond `~`; never panics.

use super::catalog::BUILTINS;

/// What running one command line does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ShellLine {
    /// Simple commands in the line (builtins included).
    pub simple_commands: usize,
    /// Argument vectors of the programs exec'd, in order.
    pub execs: Vec<Vec<Vec<u8>>>,
}

/// Splits `line`; `home` replaces an unquoted leading `~`.
pub fn split(line: &str, home: &str) -> ShellLine {
    let bytes = line.as_bytes();
    let mut out = ShellLine::default();
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let mut word: Option<Vec<u8>> = None;
    let mut skip_next_word = false;
    let mut i = 0;
    let finish_word = |word: &mut Option<Vec<u8>>, argv: &mut Vec<Vec<u8>>, skip: &mut bool| {
        if let Some(w) = word.take() {
            if std::mem::take(skip) {
                return;
            }
            argv.push(w);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' => {
                finish_word(&mut word, &mut argv, &mut skip_next_word);
                i += 1;
            }
            b'|' | b';' | b'&' => {
                finish_word(&mut word, &mut argv, &mut skip_next_word);
                end_command(&mut argv, &mut out);
                i += 1;
                if i < bytes.len() && (bytes[i] == b'|' || bytes[i] == b'&') {
                    i += 1;
                }
            }
            b'>' | b'<' => {
                // `2>`: the digits belong to the operator.
                if word
                    .as_ref()
                    .is_some_and(|w| w.iter().all(u8::is_ascii_digit))
                {
                    word = None;
                }
                finish_word(&mut word, &mut argv, &mut skip_next_word);
                i += 1;
                while i < bytes.len() && matches!(bytes[i], b'>' | b'<' | b'|') {
                    i += 1;
                }
                if i < bytes.len() && bytes[i] == b'&' {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    skip_next_word = true;
                }
            }
            b'\'' => {
                let w = word.get_or_insert_with(Vec::new);
                let end = find_from(bytes, i + 1, b'\'');
                w.extend_from_slice(&bytes[i + 1..end]);
                i = end + 1;
            }
            b'"' => {
                let w = word.get_or_insert_with(Vec::new);
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\'
                        && i + 1 < bytes.len()
                        && matches!(bytes[i + 1], b'"' | b'\\' | b'$' | b'`')
                    {
                        i += 1;
                    }
                    w.push(bytes[i]);
                    i += 1;
                }
                i += 1;
            }
            b'\\' => {
                let w = word.get_or_insert_with(Vec::new);
                if let Some(&next) = bytes.get(i + 1) {
                    w.push(next);
                }
                i += 2;
            }
            b'~' if word.is_none() => {
                word = Some(home.as_bytes().to_vec());
                i += 1;
            }
            _ => {
                word.get_or_insert_with(Vec::new).push(b);
                i += 1;
            }
        }
    }
    finish_word(&mut word, &mut argv, &mut skip_next_word);
    end_command(&mut argv, &mut out);
    out
}

fn end_command(argv: &mut Vec<Vec<u8>>, out: &mut ShellLine) {
    if argv.is_empty() {
        return;
    }
    out.simple_commands += 1;
    let program = std::mem::take(argv);
    let is_builtin = BUILTINS
        .iter()
        .any(|b| b.as_bytes() == program[0].as_slice());
    if !is_builtin {
        out.execs.push(program);
    }
}

/// Index of `needle` at or after `from`, or the end of `bytes`.
fn find_from(bytes: &[u8], from: usize, needle: u8) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == needle))
        .map_or(bytes.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execs(line: &str) -> Vec<Vec<String>> {
        split(line, "/home/carol")
            .execs
            .iter()
            .map(|argv| {
                argv.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn pipelines_redirections_and_builtins() {
        assert_eq!(execs("env | wc -l"), vec![vec!["env"], vec!["wc", "-l"]]);
        let line = split("cd /tmp && ls -la ~ 2>/dev/null; pwd", "/home/carol");
        assert_eq!(line.simple_commands, 3);
        assert_eq!(
            line.execs,
            vec![vec![
                b"ls".to_vec(),
                b"-la".to_vec(),
                b"/home/carol".to_vec()
            ]]
        );
        assert_eq!(
            execs("cargo test 2>&1 | tail -20"),
            vec![vec!["cargo", "test"], vec!["tail", "-20"]]
        );
        assert!(execs("printf 'a\\tb' > /dev/null").is_empty());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            execs(r#"grep -i 'café au lait' "a \"b\" \\ c" x\ y"#),
            vec![vec!["grep", "-i", "café au lait", "a \"b\" \\ c", "x y"]]
        );
        assert_eq!(execs("ls /tmp/claude-*"), vec![vec!["ls", "/tmp/claude-*"]]);
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for line in ["'open", "\"open \\", "a \\", ">", "2>&", "|||", "~"] {
            let _ = split(line, "/h");
        }
        assert_eq!(execs("ls 'open"), vec![vec!["ls", "open"]]);
    }
}
