//! A small splitter of RUN shell text into simple commands, enough for the lint rules.
//!
//! Why not a full POSIX parser crate (`brush-parser`, `yash-syntax`, `conch-parser`): the
//! rules implemented so far only need the simple commands of a script (split on `&&`, `||`,
//! `;`, `&`, `|` and newlines, through `( … )` / `{ … }` groups and into the command
//! substitutions `$( … )` and `` ` … ` ``, as hadolint's ShellCheck AST does), their words
//! with quotes removed, and whether a pipe occurs. `conch-parser` is unmaintained;
//! `brush-parser` and `yash-syntax` were not evaluated yet (time) and bring a PEG/async stack
//! to a pure crate.
//! Redirections (`>file`, `2>&1`, `&>`) are dropped from the words, and a command's name sees
//! through `exec`/`command`/`builtin`/`busybox`, as ShellCheck does for hadolint. Rules that
//! need real structure (loop bodies as such, `if` conditions, `case` patterns) should move
//! this to `brush-parser`; this module is the one place to change.

/// One simple command: its words, quotes removed, leading `NAME=value` assignments dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    pub words: Vec<String>,
}

impl SimpleCommand {
    /// The command name (`apt-get`), if any. As ShellCheck's `getCommandName` (which hadolint
    /// uses), a wrapper is seen through: `exec [-cl] [-a NAME] CMD`, `command CMD`,
    /// `builtin CMD`, `busybox CMD` and `run CMD` are named CMD (not when a flag follows
    /// `command`, as in `command -v`); [`Self::args`] still starts after the wrapper.
    pub fn name(&self) -> Option<&str> {
        let first = self.words.first()?.as_str();
        let rest = &self.words[1..];
        let not_flag = |w: &&String| !w.starts_with('-');
        let effective = match first {
            "busybox" | "builtin" | "command" | "run" => rest.first().filter(not_flag),
            "exec" => exec_target(rest),
            _ => None,
        };
        Some(effective.map_or(first, String::as_str))
    }

    /// The arguments after the first word.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// Whether `word` is among the arguments.
    pub fn has_arg(&self, word: &str) -> bool {
        self.args().iter().any(|a| a == word)
    }
}

/// The command `exec` runs: the first word after its options `-c`, `-l`, `-a NAME`.
fn exec_target(args: &[String]) -> Option<&String> {
    let mut words = args.iter();
    while let Some(w) = words.next() {
        let Some(opts) = w.strip_prefix('-') else {
            return Some(w);
        };
        if opts.is_empty() || !opts.chars().all(|c| "cla".contains(c)) {
            return None;
        }
        if opts.ends_with('a') {
            words.next();
        }
    }
    None
}

/// A script split into commands, plus whether a `|` pipe joined two of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<SimpleCommand>,
    pub has_pipe: bool,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Op(&'static str),
    /// The script inside a command substitution of the current word.
    Sub(String),
    /// A redirection operator (`>`, `2>>`, `<`, `&>`, `>&`): the next word is its target,
    /// not an argument.
    Redirect,
}

/// Splits `src` into its simple commands. The commands of a `$( … )` or `` ` … ` `` come
/// right after the command whose word holds it (ShellCheck's pre-order, which hadolint's
/// command indexes follow).
pub fn split(src: &str) -> Script {
    let mut script = Script::default();
    let mut words: Vec<String> = Vec::new();
    let mut subs: Vec<String> = Vec::new();
    let mut target_next = false;
    for token in tokenize(src) {
        match token {
            Token::Word(_) if target_next => target_next = false,
            Token::Word(w) => words.push(w),
            Token::Sub(inner) => subs.push(inner),
            Token::Redirect => target_next = true,
            Token::Op(op) => {
                target_next = false;
                if op == "|" {
                    script.has_pipe = true;
                }
                flush(&mut words, &mut subs, &mut script);
            }
        }
    }
    flush(&mut words, &mut subs, &mut script);
    script
}

fn flush(words: &mut Vec<String>, subs: &mut Vec<String>, out: &mut Script) {
    let taken: Vec<String> = std::mem::take(words)
        .into_iter()
        .skip_while(|w| is_assignment(w) || KEYWORDS.contains(&w.as_str()))
        .collect();
    if !taken.is_empty() {
        out.commands.push(SimpleCommand { words: taken });
    }
    for inner in std::mem::take(subs) {
        let inner = split(&inner);
        out.has_pipe |= inner.has_pipe;
        out.commands.extend(inner.commands);
    }
}

/// Reserved words that may precede a command (`then sudo ls`, `! grep`, `{ cd x; }`).
const KEYWORDS: [&str; 11] = [
    "{", "}", "!", "if", "then", "else", "elif", "do", "while", "until", "time",
];

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

const OPERATORS: [&str; 8] = ["&&", "||", ";;", ";", "&", "|", "(", ")"];

fn tokenize(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1) == Some(&'\n') => i += 1,
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    word.push(n);
                    i += 1;
                }
                in_word = true;
            }
            '\'' => {
                i = read_until(&chars, i + 1, '\'', &mut word);
                in_word = true;
            }
            '"' => {
                i = read_double(&chars, i + 1, &mut word, &mut tokens);
                in_word = true;
            }
            '`' => {
                i = read_backticks(&chars, i, &mut word, &mut tokens);
                in_word = true;
            }
            '#' if !in_word => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                i = read_substitution(&chars, i, &mut word, &mut tokens);
                in_word = true;
            }
            '>' | '<' => {
                // A word of digits right before it is the file descriptor (`2>`).
                if in_word && !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) {
                    word.clear();
                    in_word = false;
                }
                end_word(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Redirect);
                while matches!(chars.get(i + 1), Some('>' | '<' | '&' | '|'))
                    && !(chars[i + 1] == '&' && chars.get(i + 2) == Some(&'&'))
                {
                    i += 1;
                }
            }
            '&' if chars.get(i + 1) == Some(&'>') => {
                end_word(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Redirect);
                i += 1;
                while chars.get(i + 1) == Some(&'>') {
                    i += 1;
                }
            }
            ' ' | '\t' => end_word(&mut word, &mut in_word, &mut tokens),
            '\n' => {
                end_word(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::Op(";"));
            }
            _ => match operator_at(&chars, i) {
                Some(op) => {
                    end_word(&mut word, &mut in_word, &mut tokens);
                    tokens.push(Token::Op(op));
                    i += op.len() - 1;
                }
                _ => {
                    word.push(c);
                    in_word = true;
                }
            },
        }
        i += 1;
    }
    end_word(&mut word, &mut in_word, &mut tokens);
    tokens
}

fn end_word(word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>) {
    if *in_word {
        tokens.push(Token::Word(std::mem::take(word)));
        *in_word = false;
    }
}

fn operator_at(chars: &[char], i: usize) -> Option<&'static str> {
    OPERATORS.into_iter().find(|op| {
        op.chars()
            .enumerate()
            .all(|(k, oc)| chars.get(i + k) == Some(&oc))
    })
}

/// Reads up to the closing `end` (exclusive); returns the index of `end`.
fn read_until(chars: &[char], mut i: usize, end: char, word: &mut String) -> usize {
    while i < chars.len() && chars[i] != end {
        word.push(chars[i]);
        i += 1;
    }
    i
}

/// Reads `$( … )` verbatim up to its matching `)`; returns the index of that `)`.
fn read_balanced(chars: &[char], mut i: usize, word: &mut String) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        word.push(chars[i]);
        match chars[i] {
            '(' => depth += 1,
            ')' if depth <= 1 => return i,
            ')' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Reads `$( … )` verbatim into `word` and, unless it is arithmetic `$(( … ))`, its script
/// as a [`Token::Sub`]; returns the index of the closing `)`.
fn read_substitution(
    chars: &[char],
    i: usize,
    word: &mut String,
    tokens: &mut Vec<Token>,
) -> usize {
    let start = word.len();
    let end = read_balanced(chars, i, word);
    let text = &word[start..];
    if !text.starts_with("$((") {
        let inner = text.strip_prefix("$(").unwrap_or(text);
        let inner = inner.strip_suffix(')').unwrap_or(inner);
        tokens.push(Token::Sub(inner.to_string()));
    }
    end
}

/// Reads `` `…` `` (at `i`) verbatim into `word` and its script as a [`Token::Sub`]; returns
/// the index of the closing backtick.
fn read_backticks(chars: &[char], i: usize, word: &mut String, tokens: &mut Vec<Token>) -> usize {
    let mut inner = String::new();
    let mut j = i + 1;
    while j < chars.len() && chars[j] != '`' {
        if chars[j] == '\\' && matches!(chars.get(j + 1), Some('`' | '\\' | '$')) {
            j += 1;
        }
        inner.push(chars[j]);
        j += 1;
    }
    word.push('`');
    word.push_str(&inner);
    word.push('`');
    tokens.push(Token::Sub(inner));
    j
}

/// Reads a double-quoted string: `\"`, `\\`, `\$` escapes, command substitutions; returns
/// the index of the `"`.
fn read_double(chars: &[char], mut i: usize, word: &mut String, tokens: &mut Vec<Token>) -> usize {
    while i < chars.len() && chars[i] != '"' {
        match chars[i] {
            '\\' if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                i += 1;
                word.push(chars[i]);
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                i = read_substitution(chars, i, word, tokens);
            }
            '`' => i = read_backticks(chars, i, word, tokens),
            c => word.push(c),
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<Vec<String>> {
        split(src).commands.into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn splits_and_chains_pipes_and_groups() {
        let s = split("apt-get update && (cd /x || true); curl -s 'a b' | sh");
        assert!(s.has_pipe);
        assert_eq!(
            names("apt-get update && (cd /x || true); curl -s 'a b' | sh"),
            vec![
                vec!["apt-get", "update"],
                vec!["cd", "/x"],
                vec!["true"],
                vec!["curl", "-s", "a b"],
                vec!["sh"]
            ]
        );
    }

    #[test]
    fn quotes_escapes_assignments_and_comments() {
        assert_eq!(
            names("DEBIAN_FRONTEND=noninteractive apt-get install \"a\\\"b\" c\\ d # x && y"),
            vec![vec!["apt-get", "install", "a\"b", "c d"]]
        );
        assert!(!split("echo '|' \"||\"").has_pipe);
        assert_eq!(
            names("if true; then sudo ls; fi"),
            vec![vec!["true"], vec!["sudo", "ls"], vec!["fi"]]
        );
    }

    #[test]
    fn command_substitutions_are_split_after_their_command() {
        assert_eq!(
            names("echo $(apk add x | sort) && b"),
            vec![
                vec!["echo", "$(apk add x | sort)"],
                vec!["apk", "add", "x"],
                vec!["sort"],
                vec!["b"]
            ]
        );
        assert!(split("echo $(a | b)").has_pipe);
        assert_eq!(
            names("echo \"v=`wget -q x`\" $((1 + 2))"),
            vec![
                vec!["echo", "v=`wget -q x`", "$((1 + 2))"],
                vec!["wget", "-q", "x"]
            ]
        );
        assert_eq!(
            names("echo \"$(date)\""),
            vec![vec!["echo", "$(date)"], vec!["date"]]
        );
        assert_eq!(
            names("zypper in 'a>1' b>=2 2>&1 >> log && c <in &>/dev/null"),
            vec![vec!["zypper", "in", "a>1", "b"], vec!["c"]]
        );
        let exec = split("exec -a x apk add y && command -v apk && busybox wget z").commands;
        let named: Vec<_> = exec.iter().map(|c| c.name().unwrap()).collect();
        assert_eq!(named, ["apk", "command", "wget"]);
        assert_eq!(exec[0].args()[0], "-a");
        // `sh -c` strings stay words, as in hadolint (ShellCheck does not parse them).
        assert_eq!(
            names("sh -c 'apk add x'"),
            vec![vec!["sh", "-c", "apk add x"]]
        );
    }
}
