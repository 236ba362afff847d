//! BuildKit conformance data: parser golden files, negative cases, word expansion tables.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use strata_dockerfile::{parse, Lexer};

fn data_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/buildkit-dockerfile"
    ))
    .to_path_buf()
}

fn case_dirs(sub: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(data_dir().join(sub))
        .unwrap_or_else(|e| panic!("reading {sub}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases in {sub}");
    dirs
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn parser_ok_cases_dump_like_buildkit() {
    let mut failures = Vec::new();
    let dirs = case_dirs("parser-ok");
    for dir in &dirs {
        let src = fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let want = fs::read_to_string(dir.join("result")).unwrap();
        match parse(&src) {
            Ok(df) if df.dump() == want => {}
            Ok(df) => failures.push(format!(
                "{}:\n--- want\n{want}--- got\n{}",
                name(dir),
                df.dump()
            )),
            Err(e) => failures.push(format!("{}: error {e}", name(dir))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} parser-ok cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn parser_negative_cases_are_rejected() {
    let dirs = case_dirs("parser-negative");
    let failures: Vec<String> = dirs
        .iter()
        .filter(|dir| {
            let src = fs::read_to_string(dir.join("Dockerfile")).unwrap();
            parse(&src).is_ok()
        })
        .map(|d| name(d))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} negative cases were accepted: {failures:?}",
        failures.len(),
        dirs.len()
    );
}

fn env_var_test_env() -> HashMap<String, String> {
    [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn env_var_test_process_word() {
    let text = fs::read_to_string(data_dir().join("envVarTest")).unwrap();
    let env = env_var_test_env();
    let lex = Lexer::new('\\');
    let (mut failures, mut count) = (Vec::new(), 0);
    for (lineno, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(parts.len(), 3, "bad line {}: {line}", lineno + 1);
        if parts[0] == "W" {
            continue;
        }
        count += 1;
        let got = lex.process_word(parts[1], &env);
        let ok = match (&got, parts[2]) {
            (Err(_), "error") => true,
            (Ok(s), want) => s == want,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {:?} want {:?} got {got:?}",
                lineno + 1,
                parts[1],
                parts[2]
            ));
        }
    }
    assert!(count > 200, "only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn words_test_process_words() {
    let text = fs::read_to_string(data_dir().join("wordsTest")).unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    let lex = Lexer::new('\\');
    let (mut failures, mut count) = (Vec::new(), 0);
    for (lineno, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(kv) = line.strip_prefix("ENV ") {
            let (k, v) = kv.split_once('=').unwrap();
            env.push((k.to_string(), v.to_string()));
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 2, "bad line {}: {line}", lineno + 1);
        count += 1;
        let input = parts[0].trim();
        let want: Vec<String> = parts[1]
            .split(',')
            .map(|w| w.trim_start().to_string())
            .collect();
        let got = lex.process_words(input, &env);
        let ok = match &got {
            Err(_) => want == ["error"],
            Ok(words) => *words == want,
        };
        if !ok {
            failures.push(format!(
                "line {}: {input:?} want {want:?} got {got:?}",
                lineno + 1
            ));
        }
    }
    assert!(count > 20, "only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
