use super::*;

fn params(c: &Challenge) -> Vec<(&str, &str)> {
    c.params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn registry_challenges() {
    type Want<'a> = &'a [(&'a str, &'a [(&'a str, &'a str)])];
    let cases: &[(&str, Want)] = &[
        (
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
            &[(
                "Bearer",
                &[
                    ("realm", "https://auth.docker.io/token"),
                    ("service", "registry.docker.io"),
                    ("scope", "repository:library/debian:pull"),
                ],
            )],
        ),
        (
            r#"Basic realm="Registry Realm""#,
            &[("Basic", &[("realm", "Registry Realm")])],
        ),
        (
            r#"basic REALM = "r" , Charset=UTF-8"#,
            &[("basic", &[("realm", "r"), ("charset", "UTF-8")])],
        ),
        (
            r#"Basic realm="a", Bearer realm="b",service=s"#,
            &[
                ("Basic", &[("realm", "a")]),
                ("Bearer", &[("realm", "b"), ("service", "s")]),
            ],
        ),
        (
            r#"Bearer realm="q\"uo\\te",error="insufficient_scope""#,
            &[(
                "Bearer",
                &[("realm", "q\"uo\\te"), ("error", "insufficient_scope")],
            )],
        ),
        (
            r#"Bearer realm="", ,Basic"#,
            &[("Bearer", &[("realm", "")]), ("Basic", &[])],
        ),
        ("Basic", &[("Basic", &[])]),
        (r#"Bearer realm="x,y""#, &[("Bearer", &[("realm", "x,y")])]),
    ];
    for (header, want) in cases {
        let got = parse_challenges(header).unwrap();
        let got: Vec<(&str, Vec<(&str, &str)>)> =
            got.iter().map(|c| (c.scheme.as_str(), params(c))).collect();
        let want: Vec<(&str, Vec<(&str, &str)>)> =
            want.iter().map(|(s, p)| (*s, p.to_vec())).collect();
        assert_eq!(got, want, "{header}");
    }
}

#[test]
fn token68() {
    let got = parse_challenges("Negotiate a87421000492aa874209af8bc028==, Basic realm=x").unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].token68.as_deref(),
        Some("a87421000492aa874209af8bc028==")
    );
    assert_eq!(got[1].realm(), Some("x"));
    assert_eq!(
        got[0].to_string(),
        "Negotiate a87421000492aa874209af8bc028=="
    );
}

#[test]
fn accessors() {
    let c = &parse_challenges(
        r#"BEARER Realm="https://r/token",Service="reg",Scope="repository:a:pull repository:b:pull,push""#,
    )
    .unwrap()[0];
    assert!(c.is("bearer"));
    assert!(!c.is("basic"));
    assert_eq!(c.realm(), Some("https://r/token"));
    assert_eq!(c.service(), Some("reg"));
    let scopes: Vec<String> = c.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["repository:a:pull", "repository:b:pull,push"]);
    let bad = Challenge::basic("r").with_param("scope", "nope");
    assert!(bad.scopes().is_err());
    assert_eq!(Challenge::basic("r").scopes().unwrap(), vec![]);
}

#[test]
fn render_round_trip() {
    let scopes = Scope::parse_list("repository:a/b:pull,push registry:catalog:*").unwrap();
    let c = Challenge::bearer("https://r/token", Some("reg"), &scopes);
    let text = c.to_string();
    assert_eq!(
        text,
        r#"Bearer realm="https://r/token",service="reg",scope="repository:a/b:pull,push registry:catalog:*""#
    );
    assert_eq!(parse_challenges(&text).unwrap(), vec![c]);
    let tricky = Challenge::basic("a \"quoted\" \\ realm");
    assert_eq!(parse_challenges(&tricky.to_string()).unwrap(), vec![tricky]);
    assert_eq!(
        Challenge::bearer("r", None, &[]).to_string(),
        r#"Bearer realm="r""#
    );
}

#[test]
fn malformed_headers() {
    type Check = fn(&ChallengeError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, ChallengeError::Empty)),
        (" , ,", |e| matches!(e, ChallengeError::Empty)),
        (r#"realm="x""#, |e| {
            matches!(e, ChallengeError::NoScheme { .. })
        }),
        (r#"Bearer realm="x"#, |e| {
            matches!(e, ChallengeError::Unterminated { .. })
        }),
        (r#"Bearer realm="x\"#, |e| {
            matches!(e, ChallengeError::Unterminated { .. })
        }),
        ("Bearer a=b,realm=", |e| {
            matches!(e, ChallengeError::MissingValue { .. })
        }),
        ("Bearer realm=,service=x", |e| {
            matches!(e, ChallengeError::MissingValue { .. })
        }),
        (r#"Bearer realm="x" service="y""#, |e| {
            matches!(e, ChallengeError::Unexpected { offset: 17, .. })
        }),
        ("Bearer realm=a/b", |e| {
            matches!(e, ChallengeError::Unexpected { found: '/', .. })
        }),
        ("Basic foo bar", |e| {
            matches!(e, ChallengeError::Unexpected { .. })
        }),
        ("=x", |e| matches!(e, ChallengeError::Unexpected { .. })),
        ("\"Bearer\"", |e| {
            matches!(e, ChallengeError::Unexpected { .. })
        }),
        ("Bearer realm=\"x\",;", |e| {
            matches!(e, ChallengeError::Unexpected { found: ';', .. })
        }),
        ("Bé realm=x", |e| {
            matches!(e, ChallengeError::Unexpected { found: 'é', .. })
        }),
    ];
    for (header, check) in cases {
        let err = parse_challenges(header).expect_err(header);
        assert!(check(&err), "{header}: {err:?}");
    }
}
