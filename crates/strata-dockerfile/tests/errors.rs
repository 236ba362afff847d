//! Golden renderings of parse errors (line, column, caret).

use strata_dockerfile::{parse, parse_instructions};

fn instr_err(src: &str) -> String {
    parse_instructions(&parse(src).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_instruction_golden() {
    let src = "FROM alpine\nRUN true\n\n\n\n\nCOPPY . /app\n";
    assert_eq!(
        instr_err(src),
        "Dockerfile:7:1: unknown instruction: COPPY\n 7 | COPPY . /app\n   | ^^^^^"
    );
}

#[test]
fn with_filename_names_the_real_file() {
    let err = parse_instructions(&parse("FROM a\nFOO bar\n").unwrap())
        .unwrap_err()
        .with_filename("build/Dockerfile.prod");
    assert!(err
        .to_string()
        .starts_with("build/Dockerfile.prod:2:1: unknown instruction: FOO"));
}

#[test]
fn parser_errors_name_the_line() {
    let err = parse("# escape=x\nFROM a\n").unwrap_err();
    assert_eq!(err.line, 1);
    assert_eq!(
        err.to_string(),
        "Dockerfile:1: invalid escape token 'x' does not match ` or \\\n 1 | # escape=x\n   | ^"
    );
    let err = parse("FROM a\nENV PATH\n").unwrap_err();
    assert_eq!(
        (err.line, err.message.as_str()),
        (2, "ENV must have two arguments")
    );
    let err = parse("# only a comment\n").unwrap_err();
    assert_eq!(err.message, "file with no instructions");
    let err = parse("FROM a\nCMD [\"a\", 1]\n").unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn multi_line_instruction_reports_first_line() {
    let src = "FROM a\nCOPY \\\n  --bogus=1 \\\n  a b\n";
    let err = parse_instructions(&parse(src).unwrap()).unwrap_err();
    assert_eq!((err.line, err.end_line), (2, 4));
    assert_eq!(err.message, "unknown flag: bogus");
}

#[test]
fn escape_directive_changes_continuation() {
    let df = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo hi\n").unwrap();
    assert_eq!(df.directives.escape, '`');
    assert_eq!(df.children[1].next, vec!["dir c:\\   && echo hi"]);
}
