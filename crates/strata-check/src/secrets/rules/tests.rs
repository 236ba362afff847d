//! Every rule: a true positive and a near miss, from `tests/secrets/samples.tsv` (fake
//! credentials; the end-to-end test plants the same ones in an image).

use std::collections::BTreeSet;

use super::RULES;
use crate::secrets::matcher::Scanner;

const SAMPLES: &str = include_str!("../../../tests/secrets/samples.tsv");

/// `(rule id, positive, near miss)`, `\n` unescaped.
fn samples() -> Vec<(&'static str, String, String)> {
    SAMPLES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&'static str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "three columns: {l}");
            let unescape = |s: &str| s.replace("\\n", "\n");
            (cols[0], unescape(cols[1]), unescape(cols[2]))
        })
        .collect()
}

fn rule_ids(text: &str) -> Vec<&'static str> {
    let scanner = Scanner::builtin();
    scanner
        .scan(text.as_bytes(), 0, text.len(), Some("app/config"))
        .iter()
        .map(|h| scanner.rule(h.rule).id)
        .collect()
}

#[test]
fn every_rule_has_a_sample() {
    let sampled: BTreeSet<&str> = samples().iter().map(|s| s.0).collect();
    let rules: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(sampled, rules);
}

#[test]
fn every_rule_finds_its_true_positive_alone() {
    for (id, positive, _) in samples() {
        assert_eq!(rule_ids(&positive), vec![id], "{id}: {positive}");
    }
}

#[test]
fn no_rule_fires_on_a_near_miss() {
    for (id, _, near_miss) in samples() {
        assert_eq!(
            rule_ids(&near_miss),
            Vec::<&str>::new(),
            "{id}: {near_miss}"
        );
    }
}

#[test]
fn secrets_are_found_in_every_surrounding() {
    let (_, positive, _) = samples().into_iter().find(|s| s.0 == "github-pat").unwrap();
    let token = positive.split('=').nth(1).unwrap();
    for text in [
        token.to_string(),
        format!("x {token}\n"),
        format!("\"{token}\","),
        format!("ENV A={token} B=1"),
        format!("RUN |1 TOKEN={token} /bin/sh -c make"),
    ] {
        assert_eq!(rule_ids(&text), vec!["github-pat"], "{text}");
    }
    assert!(rule_ids(&format!("x{token}")).is_empty(), "glued to a word");
}

#[test]
fn generic_assignments_stay_quiet_on_code_and_docs() {
    for text in [
        "password = self.password_manager.get()",
        "token = os.environ['GITHUB_TOKEN']",
        "API_KEY=${API_KEY}",
        "secret: <your-secret-here>",
        "max_tokens = 4096",
        "password=changeme123456789",
        "tokenizer: nltk.tokenize.word_tokenize",
        "DB_PASSWORD_FILE=/run/secrets/db_password",
        "secret_key = 'django-insecure-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'",
        "var message = x ? messages_1.Messages.UnexpectedToken : messages_1.Messages.MissingFromClause;",
        "exports2.CONNECTION_TOKEN_CHARS = exports2.HEADER_CHARS = exports2.TOKEN;",
    ] {
        assert_eq!(rule_ids(text), Vec::<&str>::new(), "{text}");
    }
}

#[test]
fn generic_assignments_in_the_usual_forms() {
    let value = "q8Xv2mK9pL4wR7tZ3nB6";
    for text in [
        format!("DB_PASSWORD={value}"),
        format!("password: \"{value}\""),
        format!("\"client_secret\": \"{value}\""),
        format!("export API_KEY='{value}'"),
        format!("$config['db_pass' . 'word'] = 1; secret => {value}"),
    ] {
        assert_eq!(rule_ids(&text), vec!["generic-secret"], "{text}");
    }
}

#[test]
fn a_private_key_is_found_with_real_newlines_and_escaped_ones() {
    let (_, escaped, _) = samples()
        .into_iter()
        .find(|s| s.0 == "private-key")
        .unwrap();
    let json = escaped.replace('\n', "\\n");
    assert_eq!(rule_ids(&escaped), vec!["private-key"]);
    assert_eq!(
        rule_ids(&format!("{{\"private_key\": \"{json}\"}}")),
        vec!["private-key"]
    );
}

#[test]
fn a_known_example_key_is_allowed_only_in_its_file() {
    let scanner = Scanner::builtin();
    let key = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,932256E9ACCDC996\n\nwav+t55gSrsCnvgeikRqcQKXuUeXEqEcL6zwNsTMIis6rpGuXkBYH5Ezntm6h/5h\n-----END RSA PRIVATE KEY-----\n";
    let found = |path: &str| scanner.scan(key.as_bytes(), 0, key.len(), Some(path)).len();
    assert_eq!(
        found("usr/share/doc/libnet-ssleay-perl/examples/server_key.pem"),
        0
    );
    assert_eq!(
        found("usr/share/doc/libnet-ssleay-perl/examples/other.pem"),
        1
    );
    let other = key.replace("wav+", "xav+");
    let in_file = scanner.scan(
        other.as_bytes(),
        0,
        other.len(),
        Some("usr/share/doc/libnet-ssleay-perl/examples/server_key.pem"),
    );
    assert_eq!(in_file.len(), 1, "another key in the allowed file");
    let secret = &other.as_bytes()[in_file[0].start..in_file[0].end];
    assert_eq!(
        crate::secrets::redact(secret),
        "xav+*****",
        "armour headers skipped"
    );
}
