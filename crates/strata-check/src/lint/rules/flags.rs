//! hadolint's reading of a command's words (`Hadolint.Shell`): a word starting with `-` (but
//! not `-` or `--` alone) is a flag word; `--name=value` holds the flag `name`, `-abc` the
//! flags `a`, `b` and `c`. The other words are the arguments "without flags" (a flag's value
//! stays among them unless a rule drops it). The package rules go by these definitions, so
//! strata reports what hadolint reports.

use crate::lint::shell::SimpleCommand;

/// Whether `word` is a flag word.
fn is_flag_word(word: &str) -> bool {
    word.starts_with('-') && word != "-" && word != "--"
}

/// The flags a word holds: `--no-cache` → `no-cache`, `--progress=dot` → `progress`, `-qy` →
/// `q`, `y`; none for an argument.
fn flags_of(word: &str) -> Vec<&str> {
    if !is_flag_word(word) {
        return Vec::new();
    }
    if let Some(long) = word.strip_prefix("--") {
        return vec![long.split('=').next().unwrap_or(long)];
    }
    let short = &word[1..];
    short
        .char_indices()
        .map(|(i, c)| &short[i..i + c.len_utf8()])
        .collect()
}

/// Whether the command is `name` and has any of `args` among its arguments (hadolint's
/// `cmdHasArgs`).
pub fn is(c: &SimpleCommand, name: &str, args: &[&str]) -> bool {
    c.name() == Some(name) && c.args().iter().any(|a| args.contains(&a.as_str()))
}

/// Whether the command has any of the flags `names` (hadolint's `hasAnyFlag`).
pub fn has_any_flag(c: &SimpleCommand, names: &[&str]) -> bool {
    c.args()
        .iter()
        .flat_map(|a| flags_of(a))
        .any(|f| names.contains(&f))
}

/// The arguments that are not flag words (hadolint's `getArgsNoFlags`).
pub fn args_no_flags(c: &SimpleCommand) -> Vec<&str> {
    args_no_flags_nor_values(c, &[])
}

/// The arguments that are not flag words, without the value (the next word) of the flags
/// `valued` given without `=` (hadolint's `dropFlagArg` then `getArgsNoFlags`).
pub fn args_no_flags_nor_values<'a>(c: &'a SimpleCommand, valued: &[&str]) -> Vec<&'a str> {
    let args = c.args();
    let values: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.contains('=') && flags_of(a).iter().any(|f| valued.contains(f)))
        .map(|(i, _)| i + 1)
        .collect();
    args.iter()
        .enumerate()
        .filter(|(i, a)| !is_flag_word(a) && !values.contains(i))
        .map(|(_, a)| a.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::shell::split;

    fn cmd(src: &str) -> SimpleCommand {
        split(src).commands.remove(0)
    }

    #[test]
    fn flags_are_read_as_hadolint_reads_them() {
        let c = cmd("apk add -qt .deps --no-cache --repository=r x - -- y");
        assert!(has_any_flag(&c, &["t"]));
        assert!(has_any_flag(&c, &["no-cache"]));
        assert!(has_any_flag(&c, &["repository"]));
        assert!(!has_any_flag(&c, &["-"]));
        assert_eq!(args_no_flags(&c), vec!["add", ".deps", "x", "-", "--", "y"]);
        assert_eq!(
            args_no_flags_nor_values(&c, &["t", "repository"]),
            vec!["add", "x", "-", "--", "y"]
        );
        assert!(is(&c, "apk", &["del", "add"]));
        assert!(!is(&c, "yum", &["add"]));
    }
}
