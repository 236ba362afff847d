use super::*;

fn name(s: &str) -> RepositoryName {
    s.parse().unwrap()
}

fn digest() -> Digest {
    Digest::of(b"blob")
}

fn routes() -> Vec<(String, Route)> {
    let d = digest();
    vec![
        ("/v2/".into(), Route::Base),
        (
            "/v2/_catalog".into(),
            Route::Catalog {
                page: Page::default(),
            },
        ),
        (
            "/v2/_catalog?n=10&last=a%2Fb".into(),
            Route::Catalog {
                page: Page {
                    n: Some(10),
                    last: Some("a/b".into()),
                },
            },
        ),
        (
            "/v2/library/debian/manifests/latest".into(),
            Route::Manifest {
                name: name("library/debian"),
                reference: "latest".parse().unwrap(),
            },
        ),
        (
            format!("/v2/a/manifests/{d}"),
            Route::Manifest {
                name: name("a"),
                reference: ManifestRef::Digest(d.clone()),
            },
        ),
        (
            // Keywords inside the name: parsed from the right.
            "/v2/x/manifests/blobs/manifests/v1".into(),
            Route::Manifest {
                name: name("x/manifests/blobs"),
                reference: "v1".parse().unwrap(),
            },
        ),
        (
            format!("/v2/a/b/c/blobs/{d}"),
            Route::Blob {
                name: name("a/b/c"),
                digest: d.clone(),
            },
        ),
        (
            "/v2/a/blobs/uploads/".into(),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Session,
            },
        ),
        (
            format!(
                "/v2/a/blobs/uploads/?digest={}",
                d.to_string().replace(':', "%3A")
            ),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Monolithic { digest: d.clone() },
            },
        ),
        (
            format!(
                "/v2/a/blobs/uploads/?mount={}&from=other%2Frepo",
                d.to_string().replace(':', "%3A")
            ),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Mount {
                    digest: d.clone(),
                    from: Some(name("other/repo")),
                },
            },
        ),
        (
            format!(
                "/v2/a/blobs/uploads/?mount={}",
                d.to_string().replace(':', "%3A")
            ),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Mount {
                    digest: d.clone(),
                    from: None,
                },
            },
        ),
        (
            "/v2/a/blobs/uploads/4f3c-9a_b=".into(),
            Route::Upload {
                name: name("a"),
                id: "4f3c-9a_b=".into(),
                digest: None,
            },
        ),
        (
            format!(
                "/v2/a/blobs/uploads/u1?digest={}",
                d.to_string().replace(':', "%3A")
            ),
            Route::Upload {
                name: name("a"),
                id: "u1".into(),
                digest: Some(d.clone()),
            },
        ),
        (
            "/v2/team/app/tags/list?n=2&last=v2".into(),
            Route::Tags {
                name: name("team/app"),
                page: Page {
                    n: Some(2),
                    last: Some("v2".into()),
                },
            },
        ),
        (
            format!("/v2/a/referrers/{d}?artifactType=application%2Fvnd.example%2Bjson"),
            Route::Referrers {
                name: name("a"),
                digest: d.clone(),
                artifact_type: Some("application/vnd.example+json".into()),
            },
        ),
    ]
}

#[test]
fn parse_and_build_round_trip() {
    for (target, route) in routes() {
        assert_eq!(Route::parse(&target).unwrap(), route, "parse {target}");
        assert_eq!(route.target(), target, "build {route:?}");
        assert_eq!(Route::parse(&route.to_string()).unwrap(), route);
    }
}

#[test]
fn lenient_forms() {
    let d = digest();
    let cases = [
        ("/v2", Route::Base),
        (
            "/v2/a/blobs/uploads",
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Session,
            },
        ),
        (
            // `+` stays literal; the digest's `:` may come unencoded.
            &*format!("/v2/a/referrers/{d}?artifactType=a/b+json&x=1"),
            Route::Referrers {
                name: name("a"),
                digest: d.clone(),
                artifact_type: Some("a/b+json".into()),
            },
        ),
        (
            &*format!("/v2/a/blobs/uploads/?from=b&digest={d}"),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Monolithic { digest: d.clone() },
            },
        ),
        (
            &*format!("/v2/a/blobs/uploads/?mount={d}&from="),
            Route::UploadStart {
                name: name("a"),
                start: UploadStart::Mount {
                    digest: d.clone(),
                    from: None,
                },
            },
        ),
    ];
    for (target, route) in cases {
        assert_eq!(Route::parse(target).unwrap(), route, "{target}");
    }
    assert_eq!(
        Route::parse_parts("/v2/a/tags/list", Some("n=0")).unwrap(),
        Route::Tags {
            name: name("a"),
            page: Page {
                n: Some(0),
                last: None
            }
        }
    );
}

type Check = fn(&RouteError) -> bool;

#[test]
fn malformed_paths_are_typed_errors() {
    let d = digest();
    let bad_digest = "sha256:abc";
    let cases: Vec<(String, Check)> = vec![
        ("/".into(), |e| matches!(e, RouteError::NotV2 { .. })),
        ("".into(), |e| matches!(e, RouteError::NotV2 { .. })),
        ("/v2x/".into(), |e| matches!(e, RouteError::NotV2 { .. })),
        ("/v1/a/manifests/x".into(), |e| {
            matches!(e, RouteError::NotV2 { .. })
        }),
        ("/v2/a".into(), |e| {
            matches!(e, RouteError::UnknownEndpoint { .. })
        }),
        ("/v2/a/manifests".into(), |e| {
            matches!(e, RouteError::UnknownEndpoint { .. })
        }),
        ("/v2/manifests/latest".into(), |e| {
            matches!(e, RouteError::UnknownEndpoint { .. })
        }),
        ("/v2/a/other/x".into(), |e| {
            matches!(e, RouteError::UnknownEndpoint { .. })
        }),
        ("/v2/blobs/uploads/".into(), |e| {
            matches!(e, RouteError::UnknownEndpoint { .. })
        }),
        ("/v2/A/manifests/x".into(), |e| {
            matches!(e, RouteError::Name { .. })
        }),
        ("/v2/a//b/manifests/x".into(), |e| {
            matches!(e, RouteError::Name { .. })
        }),
        ("/v2//manifests/x".into(), |e| {
            matches!(e, RouteError::Name { .. })
        }),
        ("/v2/a/manifests/".into(), |e| {
            matches!(e, RouteError::Reference { .. })
        }),
        ("/v2/a/manifests/.bad".into(), |e| {
            matches!(e, RouteError::Reference { .. })
        }),
        (format!("/v2/a/manifests/{bad_digest}"), |e| {
            matches!(e, RouteError::Reference { .. })
        }),
        (format!("/v2/a/blobs/{bad_digest}"), |e| {
            matches!(e, RouteError::Digest { .. })
        }),
        ("/v2/a/blobs/latest".into(), |e| {
            matches!(e, RouteError::Digest { .. })
        }),
        ("/v2/a/referrers/v1".into(), |e| {
            matches!(e, RouteError::Digest { .. })
        }),
        ("/v2/a/blobs/uploads/x%2Fy".into(), |e| {
            matches!(e, RouteError::UploadId { .. })
        }),
        ("/v2/a/blobs/uploads/?digest=nope".into(), |e| {
            matches!(e, RouteError::Digest { .. })
        }),
        ("/v2/a/blobs/uploads/?mount=nope".into(), |e| {
            matches!(e, RouteError::Digest { .. })
        }),
        (format!("/v2/a/blobs/uploads/?mount={d}&from=B"), |e| {
            matches!(e, RouteError::Name { .. })
        }),
        ("/v2/a/tags/list?n=-1".into(), |e| {
            matches!(e, RouteError::Param { param: "n", .. })
        }),
        ("/v2/_catalog?n=ten".into(), |e| {
            matches!(e, RouteError::Param { param: "n", .. })
        }),
        ("/v2/a/tags/list?last=%zz".into(), |e| {
            matches!(e, RouteError::Query { .. })
        }),
    ];
    for (target, check) in cases {
        let err = Route::parse(&target).expect_err(&target);
        assert!(check(&err), "{target}: {err:?}");
    }
}

#[test]
fn error_codes_for_servers() {
    let code = |t: &str| Route::parse(t).unwrap_err().code();
    assert_eq!(code("/v2/A/tags/list"), Some(ErrorCode::NameInvalid));
    assert_eq!(code("/v2/a/blobs/x"), Some(ErrorCode::DigestInvalid));
    assert_eq!(
        code("/v2/a/manifests/sha256:x"),
        Some(ErrorCode::DigestInvalid)
    );
    assert_eq!(code("/v2/a/manifests/-x"), Some(ErrorCode::ManifestInvalid));
    assert_eq!(code("/v2/a/nothing"), None);
}

#[test]
fn urls_and_names() {
    let route = Route::Tags {
        name: name("a/b"),
        page: Page::default(),
    };
    assert_eq!(
        route.url("https://r.example:5000/"),
        "https://r.example:5000/v2/a/b/tags/list"
    );
    assert_eq!(route.name(), Some(&name("a/b")));
    assert_eq!(Route::Base.name(), None);
    let d = digest();
    assert_eq!(
        location_with_digest("/v2/a/blobs/uploads/u?_state=x", &d),
        format!("/v2/a/blobs/uploads/u?_state=x&digest=sha256%3A{}", d.hex())
    );
    assert_eq!(
        location_with_digest("http://h/u", &d),
        format!("http://h/u?digest=sha256%3A{}", d.hex())
    );
}
