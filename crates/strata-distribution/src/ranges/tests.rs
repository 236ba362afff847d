use super::*;

#[test]
fn upload_ranges() {
    for (text, start, end) in [
        ("0-1023", 0, 1023),
        ("1024-2047", 1024, 2047),
        ("5-5", 5, 5),
    ] {
        let r: ByteRange = text.parse().unwrap();
        assert_eq!((r.start, r.end), (start, end));
        assert_eq!(r.to_string(), text);
    }
    assert_eq!("bytes=0-9".parse::<ByteRange>().unwrap().len(), 10);
    assert_eq!(ByteRange::uploaded(0).to_string(), "0-0");
    assert_eq!(ByteRange::uploaded(1024).to_string(), "0-1023");
    assert_eq!(ByteRange::uploaded(1024).next_offset(), 1024);
    assert_eq!(ByteRange::at(1024, 1024).unwrap().to_string(), "1024-2047");
    assert_eq!(ByteRange::at(0, 0), None);
    assert_eq!(ByteRange::at(u64::MAX, 2), None);
}

#[test]
fn malformed_upload_ranges() {
    for bad in [
        "",
        "-",
        "0-",
        "-5",
        "a-b",
        "5-4",
        "0 - 1",
        "+1-2",
        "0-18446744073709551616",
        "0-18446744073709551615",
        "bytes 0-1/2",
    ] {
        assert!(
            matches!(bad.parse::<ByteRange>(), Err(RangeError::Malformed { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn blob_range_requests() {
    let cases = [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=500-", 1000, (500, 999)),
        ("bytes=900-2000", 1000, (900, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-5000", 1000, (0, 999)),
        ("bytes=999-999", 1000, (999, 999)),
    ];
    for (text, size, (start, end)) in cases {
        let req: RangeRequest = text.parse().unwrap();
        assert_eq!(req.to_string(), text);
        assert_eq!(
            req.resolve(size).unwrap(),
            ByteRange { start, end },
            "{text}"
        );
    }
    for (text, size) in [
        ("bytes=1000-", 1000),
        ("bytes=0-", 0),
        ("bytes=-0", 10),
        ("bytes=-1", 0),
    ] {
        let req: RangeRequest = text.parse().unwrap();
        assert!(
            matches!(req.resolve(size), Err(RangeError::Unsatisfiable { .. })),
            "{text}"
        );
    }
    for bad in [
        "",
        "0-1",
        "bytes=",
        "bytes=-",
        "bytes=a-",
        "bytes=5-1",
        "bytes=0-1,3-4",
        "items=0-1",
    ] {
        assert!(
            matches!(
                bad.parse::<RangeRequest>(),
                Err(RangeError::Malformed { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn content_ranges() {
    let cases = [
        ("bytes 0-99/1000", Some((0, 99)), Some(1000)),
        ("bytes */1000", None, Some(1000)),
        ("bytes 0-99/*", Some((0, 99)), None),
    ];
    for (text, range, total) in cases {
        let cr: ContentRange = text.parse().unwrap();
        assert_eq!(cr.range.map(|r| (r.start, r.end)), range);
        assert_eq!(cr.total, total);
        assert_eq!(cr.to_string(), text);
    }
    for bad in [
        "",
        "0-99/1000",
        "bytes 0-99",
        "bytes */*",
        "bytes 0-1000/1000",
        "bytes 9-0/10",
        "bytes 0-1/x",
    ] {
        assert!(
            matches!(
                bad.parse::<ContentRange>(),
                Err(RangeError::Malformed { .. })
            ),
            "{bad:?}"
        );
    }
}
