//! Per-instruction argument splitting (BuildKit's `line_parsers.go`).

use super::json::{parse_json, JsonError};
use super::Node;

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]+`.
fn is_ws(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// What a line parser returns: the arguments, whether they were JSON, an ONBUILD sub-node.
#[derive(Default)]
struct Args {
    next: Vec<String>,
    json: bool,
    sub: Option<Box<Node>>,
}

impl Args {
    fn plain(next: Vec<String>) -> Self {
        Args {
            next,
            ..Args::default()
        }
    }
}

/// `newNodeFromLine`: splits the command word and flags, then dispatches on the instruction.
pub(super) fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let (cmd, flags, args) = split_command(line);
    let lower = cmd.to_lowercase();
    let parsed = dispatch(&lower, &args, escape)?;
    Ok(Node {
        value: lower,
        original: line.to_string(),
        flags,
        next: parsed.next,
        json: parsed.json,
        sub: parsed.sub,
        ..Node::default()
    })
}

fn dispatch(cmd: &str, rest: &str, escape: char) -> Result<Args, String> {
    match cmd {
        "add" | "copy" | "volume" => parse_maybe_json_to_list(rest),
        "cmd" | "entrypoint" | "run" | "shell" => parse_maybe_json(rest),
        "arg" => Ok(Args::plain(parse_words(rest, escape))),
        "env" => parse_name_val(rest, "ENV", escape),
        "label" => parse_name_val(rest, "LABEL", escape),
        "expose" | "from" => Ok(Args::plain(split_whitespace(rest))),
        "healthcheck" => parse_health_config(rest),
        "maintainer" | "stopsignal" | "user" | "workdir" => Ok(parse_string(rest)),
        "onbuild" => parse_sub_command(rest, escape),
        _ => Ok(Args::default()),
    }
}

/// `splitCommand`: the first word is the command, then builder flags, then the rest.
fn split_command(line: &str) -> (String, Vec<String>, String) {
    let trimmed = line.trim_matches(char::is_whitespace);
    match trimmed.find(is_ws) {
        None => (trimmed.to_string(), Vec::new(), String::new()),
        Some(i) => {
            let rest = trimmed[i..].trim_start_matches(is_ws);
            let (args, flags) = extract_builder_flags(rest);
            (trimmed[..i].to_string(), flags, args.trim().to_string())
        }
    }
}

#[derive(PartialEq)]
enum Phase {
    Spaces,
    Word,
    Quote,
}

/// `extractBuilderFlags`: leading `--flag` words (quotes and `\` honoured) up to `--` or the
/// first word not starting with `--`. Returns the remaining line and the flags.
pub(super) fn extract_builder_flags(line: &str) -> (String, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let ch = chars.get(pos).map_or('\0', |c| c.1);
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            if ch != '-' || chars.get(pos + 1).map(|c| c.1) != Some('-') {
                return (line[chars[pos].0..].to_string(), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if word == "--" {
                    return (line[chars[pos].0..].to_string(), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if ch == '\\' {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = chars[pos].1;
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if ch == '\\' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = chars[pos].1;
        }
        word.push(c);
        pos += 1;
    }
    (String::new(), words)
}

/// `parseWords`: splits on whitespace, keeping quotes and escapes in the words.
pub(super) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

fn split_whitespace(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(is_ws)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn parse_string(rest: &str) -> Args {
    if rest.is_empty() {
        return Args::default();
    }
    Args::plain(vec![rest.to_string()])
}

/// `parseNameVal`: `KEY name value` (legacy) or `KEY a=b c=d`, as triples `key value sep`.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Args, String> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Args::default());
    }
    if !words[0].contains('=') {
        let Some(i) = rest.find(is_ws) else {
            return Err(format!("{key} must have two arguments"));
        };
        let value = rest[i..].trim_start_matches(is_ws);
        return Ok(Args::plain(vec![
            rest[..i].to_string(),
            value.to_string(),
            String::new(),
        ]));
    }
    let mut next = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        next.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(Args::plain(next))
}

fn parse_json_args(rest: &str) -> Result<Option<Args>, String> {
    match parse_json(rest) {
        Ok(next) => Ok(Some(Args {
            next,
            json: true,
            sub: None,
        })),
        Err(JsonError::NotStringArray) => Err(
            "when using JSON array syntax, arrays must be comprised of strings only".to_string(),
        ),
        Err(JsonError::Invalid) => Ok(None),
    }
}

/// `parseMaybeJSON`: a JSON string array, or the whole rest as one string.
fn parse_maybe_json(rest: &str) -> Result<Args, String> {
    if rest.is_empty() {
        return Ok(Args::default());
    }
    Ok(parse_json_args(rest)?.unwrap_or_else(|| Args::plain(vec![rest.to_string()])))
}

/// `parseMaybeJSONToList`: a JSON string array, or whitespace-separated words.
fn parse_maybe_json_to_list(rest: &str) -> Result<Args, String> {
    Ok(parse_json_args(rest)?.unwrap_or_else(|| Args::plain(split_whitespace(rest))))
}

/// `parseHealthConfig`: the type word (`CMD`, `NONE`, …) then a maybe-JSON command.
fn parse_health_config(rest: &str) -> Result<Args, String> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Ok(Args::default());
    }
    let typ = &rest[..sep];
    let cmd = parse_maybe_json(rest[sep..].trim_start())?;
    let mut next = vec![typ.to_string()];
    next.extend(cmd.next);
    Ok(Args {
        next,
        json: cmd.json,
        sub: None,
    })
}

/// `parseSubCommand` (ONBUILD): the rest is parsed as an instruction of its own.
fn parse_sub_command(rest: &str, escape: char) -> Result<Args, String> {
    if rest.is_empty() {
        return Ok(Args::default());
    }
    let child = node_from_line(rest, escape)?;
    Ok(Args {
        sub: Some(Box::new(child)),
        ..Args::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_extracted() {
        let (rest, flags) = extract_builder_flags("--from=a --chown=\"x y\" src dst");
        assert_eq!(flags, vec!["--from=a", "--chown=x y"]);
        assert_eq!(rest, "src dst");
        let (rest, flags) = extract_builder_flags("--a -- --b c");
        assert_eq!(flags, vec!["--a"]);
        assert_eq!(rest, " --b c");
        let (rest, flags) = extract_builder_flags("--only");
        assert_eq!((rest.as_str(), flags), ("", vec!["--only".to_string()]));
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a="b c" d\ e 'f\'"#, '\\'),
            vec![r#"a="b c""#, r"d\ e", r"'f\'"]
        );
    }

    #[test]
    fn name_val_forms() {
        let a = parse_name_val("k v w", "ENV", '\\').unwrap();
        assert_eq!(a.next, vec!["k", "v w", ""]);
        let a = parse_name_val("a=1 b=2", "ENV", '\\').unwrap();
        assert_eq!(a.next, vec!["a", "1", "=", "b", "2", "="]);
        assert_eq!(
            parse_name_val("a=1 b", "ENV", '\\').err().unwrap(),
            "Syntax error - can't find = in \"b\". Must be of the form: name=value"
        );
        assert_eq!(
            parse_name_val("PATH", "ENV", '\\').err().unwrap(),
            "ENV must have two arguments"
        );
    }

    #[test]
    fn health_config_forms() {
        let a = parse_health_config("CMD [\"a\"]").unwrap();
        assert_eq!(
            (a.next, a.json),
            (vec!["CMD".to_string(), "a".to_string()], true)
        );
        let a = parse_health_config("NONE").unwrap();
        assert_eq!(a.next, vec!["NONE"]);
    }
}
