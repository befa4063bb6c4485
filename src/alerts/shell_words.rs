//! A small POSIX-shell word splitter: enough of the shell's grammar to see which commands a line
//! runs, not an interpreter.
//!
//! In: one command line (a history line, a hook's Bash command, a `bash -c` string). Out: its
//! simple commands, each a list of words (quotes removed, escapes applied) and its redirections.
//! Handles `'…'`, `"…"` (with `\"`, `\\`, `\$`, `` \` `` escapes), `$'…'` (common escapes), `\`
//! outside quotes (and line continuation), comments, the separators `;` `&` `&&` `|` `||` `|&`
//! `(` `)` and newline, redirections (`>` `>>` `>|` `<` `&>` `2>&1` …, with `N>` fd prefixes),
//! and here-documents (their bodies are skipped, not parsed as commands). `$(…)` and `` `…` ``
//! stay inside their word unparsed. Guarantees: linear in the input, never panics, an unclosed
//! quote ends at the end of the line.

/// One simple command: its words and redirections, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    pub words: Vec<String>,
    pub redirects: Vec<Redirect>,
}

/// A redirection and its target word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `>`, `>|`, `&>`: the target is truncated.
    Truncate,
    /// `>>`, `&>>`.
    Append,
    /// `<`, `<<<`, `<&`, `>&` (duplications) and anything else.
    Other,
    /// `<<`, `<<-`: the target is the here-document's delimiter.
    HereDoc { strip_tabs: bool },
}

/// Splits `line` into its simple commands (empty ones are left out).
pub fn split_commands(line: &str) -> Vec<SimpleCommand> {
    let mut s = Splitter {
        chars: line.chars().collect(),
        at: 0,
        commands: Vec::new(),
        current: SimpleCommand::default(),
        word: String::new(),
        in_word: false,
        pending_redirect: None,
        heredocs: Vec::new(),
    };
    s.run();
    s.commands
}

struct Splitter {
    chars: Vec<char>,
    at: usize,
    commands: Vec<SimpleCommand>,
    current: SimpleCommand,
    word: String,
    /// A word has started (it may be empty: `''`).
    in_word: bool,
    pending_redirect: Option<RedirectOp>,
    /// Here-document delimiters waiting for the next newline.
    heredocs: Vec<(String, bool)>,
}

impl Splitter {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn run(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                ' ' | '\t' | '\r' => {
                    self.end_word();
                    self.at += 1;
                }
                '\n' => {
                    self.end_command();
                    self.at += 1;
                    self.skip_heredoc_bodies();
                }
                '#' if !self.in_word => self.skip_comment(),
                '\'' => {
                    self.in_word = true;
                    self.at += 1;
                    self.single_quoted();
                }
                '"' => {
                    self.in_word = true;
                    self.at += 1;
                    self.double_quoted();
                }
                '\\' => {
                    self.at += 1;
                    match self.peek(0) {
                        Some('\n') => self.at += 1,
                        Some(n) => {
                            self.in_word = true;
                            self.word.push(n);
                            self.at += 1;
                        }
                        None => {}
                    }
                }
                '$' if self.peek(1) == Some('\'') => {
                    self.in_word = true;
                    self.at += 2;
                    self.ansi_c_quoted();
                }
                '$' if self.peek(1) == Some('(') => {
                    self.in_word = true;
                    self.copy_balanced();
                }
                '`' => {
                    self.in_word = true;
                    self.copy_backticks();
                }
                ';' | '|' | '(' | ')' => {
                    self.end_command();
                    self.at += 1;
                    // `&&`, `||`, `|&`, `;;` are one operator; the second char needs no action.
                    if matches!(self.peek(0), Some('|' | '&' | ';')) && c != '(' && c != ')' {
                        self.at += 1;
                    }
                }
                '&' if self.peek(1) == Some('>') => {
                    self.end_word();
                    self.at += 2;
                    let op = if self.peek(0) == Some('>') {
                        self.at += 1;
                        RedirectOp::Append
                    } else {
                        RedirectOp::Truncate
                    };
                    self.pending_redirect = Some(op);
                }
                '&' => {
                    self.end_command();
                    self.at += 1;
                    if self.peek(0) == Some('&') {
                        self.at += 1;
                    }
                }
                '>' | '<' => self.redirect(c),
                _ => {
                    self.in_word = true;
                    self.word.push(c);
                    self.at += 1;
                }
            }
        }
        self.end_command();
    }

    fn redirect(&mut self, c: char) {
        // A word of digits right before the operator is its file descriptor, not a word.
        if self.in_word && !self.word.is_empty() && self.word.chars().all(|d| d.is_ascii_digit()) {
            self.word.clear();
            self.in_word = false;
        } else {
            self.end_word();
        }
        self.at += 1;
        let op = if c == '>' {
            match self.peek(0) {
                Some('>') => {
                    self.at += 1;
                    RedirectOp::Append
                }
                Some('|') => {
                    self.at += 1;
                    RedirectOp::Truncate
                }
                Some('&') => {
                    self.at += 1;
                    RedirectOp::Other
                }
                _ => RedirectOp::Truncate,
            }
        } else {
            match (self.peek(0), self.peek(1)) {
                (Some('<'), Some('<')) => {
                    self.at += 2;
                    RedirectOp::Other
                }
                (Some('<'), Some('-')) => {
                    self.at += 2;
                    RedirectOp::HereDoc { strip_tabs: true }
                }
                (Some('<'), _) => {
                    self.at += 1;
                    RedirectOp::HereDoc { strip_tabs: false }
                }
                (Some('&' | '>'), _) => {
                    self.at += 1;
                    RedirectOp::Other
                }
                _ => RedirectOp::Other,
            }
        };
        self.pending_redirect = Some(op);
    }

    fn single_quoted(&mut self) {
        while let Some(c) = self.peek(0) {
            self.at += 1;
            if c == '\'' {
                return;
            }
            self.word.push(c);
        }
    }

    fn double_quoted(&mut self) {
        while let Some(c) = self.peek(0) {
            self.at += 1;
            match c {
                '"' => return,
                '\\' => match self.peek(0) {
                    Some(n @ ('"' | '\\' | '$' | '`')) => {
                        self.word.push(n);
                        self.at += 1;
                    }
                    Some('\n') => self.at += 1,
                    _ => self.word.push('\\'),
                },
                _ => self.word.push(c),
            }
        }
    }

    fn ansi_c_quoted(&mut self) {
        while let Some(c) = self.peek(0) {
            self.at += 1;
            match c {
                '\'' => return,
                '\\' => {
                    let escaped = match self.peek(0) {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('0') => '\0',
                        Some(other) => other,
                        None => return,
                    };
                    self.word.push(escaped);
                    self.at += 1;
                }
                _ => self.word.push(c),
            }
        }
    }

    /// `$( … )` copied verbatim into the word, nesting counted, quotes inside respected.
    fn copy_balanced(&mut self) {
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.word.push(c);
            self.at += 1;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn copy_backticks(&mut self) {
        self.word.push('`');
        self.at += 1;
        while let Some(c) = self.peek(0) {
            self.word.push(c);
            self.at += 1;
            if c == '`' {
                return;
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek(0) {
            if c == '\n' {
                return;
            }
            self.at += 1;
        }
    }

    /// After a newline: skips the bodies of the here-documents opened on the previous line.
    fn skip_heredoc_bodies(&mut self) {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.heredocs) {
            while self.at < self.chars.len() {
                let start = self.at;
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.at += 1;
                }
                let mut line: &[char] = &self.chars[start..self.at];
                if strip_tabs {
                    while let ['\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                self.at = (self.at + 1).min(self.chars.len());
                if line.iter().copied().eq(delimiter.chars()) {
                    break;
                }
            }
        }
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.in_word = false;
        match self.pending_redirect.take() {
            Some(RedirectOp::HereDoc { strip_tabs }) => {
                self.heredocs.push((word.clone(), strip_tabs));
                self.current.redirects.push(Redirect {
                    op: RedirectOp::HereDoc { strip_tabs },
                    target: word,
                });
            }
            Some(op) => self.current.redirects.push(Redirect { op, target: word }),
            None => self.current.words.push(word),
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        self.pending_redirect = None;
        let cmd = std::mem::take(&mut self.current);
        if !cmd.words.is_empty() || !cmd.redirects.is_empty() {
            self.commands.push(cmd);
        }
    }
}
