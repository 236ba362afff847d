//! `Packages` indices: one paragraph per binary package. Only the fields strata needs are
//! extracted; the paragraph's full text is kept for the dpkg database.

use super::{Facts, PackageRecord, RepoError, Version};

/// Below this size an index is parsed on the calling thread.
const PARALLEL_MIN: usize = 1 << 20;

/// Parses a whole Packages file of `mirror`/`suite` into records (versions parsed), in file
/// order. A large index is cut at paragraph boundaries into one chunk per CPU, parsed in
/// parallel (bookworm's main index is 65,000 paragraphs).
pub fn parse_packages(
    text: &str,
    mirror: &str,
    suite: &str,
    what: &str,
) -> Result<Vec<(PackageRecord, Facts)>, RepoError> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if jobs == 1 || text.len() < PARALLEL_MIN {
        return parse_chunk(text, 1, mirror, suite, what);
    }
    let chunks = split_chunks(text, jobs);
    let parsed: Vec<Result<_, RepoError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|&(chunk, line)| {
                scope.spawn(move || parse_chunk(chunk, line, mirror, suite, what))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("index parser panicked"))
            .collect()
    });
    let mut out = Vec::new();
    for part in parsed {
        out.extend(part?);
    }
    Ok(out)
}

/// `text` cut into about `n` pieces, each ending after a blank line (or at the end), with the
/// 1-based line number each starts at.
fn split_chunks(text: &str, n: usize) -> Vec<(&str, usize)> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    let mut line = 1;
    let step = text.len() / n + 1;
    while start < text.len() {
        let end = match text[(start + step).min(text.len())..].find("\n\n") {
            Some(i) if start + step < text.len() => start + step + i + 2,
            _ => text.len(),
        };
        let chunk = &text[start..end];
        out.push((chunk, line));
        line += chunk.bytes().filter(|&b| b == b'\n').count();
        start = end;
    }
    out
}

/// Parses the paragraphs of `text`, whose first line is line `first_line` of the index.
/// Scans bytes with `memchr` (lines and paragraphs are `\n`-separated ASCII structure).
fn parse_chunk(
    text: &str,
    first_line: usize,
    mirror: &str,
    suite: &str,
    what: &str,
) -> Result<Vec<(PackageRecord, Facts)>, RepoError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 700);
    let mut line_no = first_line;
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] == b'\n' {
            pos += 1;
            line_no += 1;
            continue;
        }
        let start_line = line_no;
        // The paragraph with its last `\n` (none at the end of a file without one).
        let end = memchr::memmem::find(&bytes[pos..], b"\n\n").map_or(bytes.len(), |i| pos + i + 1);
        let para = &text[pos..end];
        pos = end;
        line_no += memchr::memchr_iter(b'\n', para.as_bytes()).count();
        let mut rec = PackageRecord {
            mirror: mirror.to_owned(),
            suite: suite.to_owned(),
            control: if para.ends_with('\n') {
                para.to_owned()
            } else {
                format!("{para}\n")
            },
            ..PackageRecord::default()
        };
        let mut facts = Facts::default();
        for line in para.split_terminator('\n') {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some(colon) = memchr::memchr(b':', line.as_bytes()) else {
                return Err(RepoError::Index {
                    what: what.to_owned(),
                    line: start_line,
                    message: format!("not a field: {line:?}"),
                });
            };
            let (name, value) = (&line[..colon], line[colon + 1..].trim());
            match name {
                "Package" => rec.name = value.to_owned(),
                "Version" => rec.version = value.to_owned(),
                "Architecture" => rec.arch = value.to_owned(),
                "Filename" => rec.filename = value.to_owned(),
                "Size" => {
                    rec.size = value.parse().map_err(|_| RepoError::Index {
                        what: what.to_owned(),
                        line: start_line,
                        message: format!("Size {value:?} is not a number"),
                    })?
                }
                "SHA256" => rec.sha256 = value.to_ascii_lowercase(),
                "Provides" => facts.provides = Some(value.to_owned()),
                "Priority" => facts.priority = Some(value.to_owned()),
                _ => {}
            }
        }
        for (field, value) in [
            ("Package", &rec.name),
            ("Version", &rec.version),
            ("Architecture", &rec.arch),
            ("Filename", &rec.filename),
            ("SHA256", &rec.sha256),
        ] {
            if value.is_empty() {
                return Err(RepoError::Index {
                    what: what.to_owned(),
                    line: start_line,
                    message: format!("package {:?} has no {field} field", rec.name),
                });
            }
        }
        let version = Version::parse(&rec.version).map_err(|source| RepoError::BadVersion {
            what: what.to_owned(),
            package: rec.name.clone(),
            source,
        })?;
        facts.version = Some(version);
        out.push((rec, facts));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_stanza() {
        let text = "Package: a\nVersion: 1.0\nArchitecture: amd64\nDepends: b\nFilename: pool/a.deb\nSize: 10\nSHA256: AB\nDescription: x\n y\n\nPackage: b\nVersion: 2\nArchitecture: all\nFilename: pool/b.deb\nSize: 3\nSHA256: cd\n";
        let recs: Vec<_> = parse_packages(text, "http://m/debian", "s", "test")
            .unwrap()
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].sha256, "ab");
        assert_eq!(recs[0].field("Depends").as_deref(), Some("b"));
        assert!(recs[0].control.ends_with(" y\n"));
        assert_eq!(recs[1].url(), "http://m/debian/pool/b.deb");
    }

    #[test]
    fn chunks_in_parallel_give_the_same_records_and_line_numbers() {
        let para = |i: usize| {
            format!("Package: p{i}\nVersion: 1.{i}\nArchitecture: all\nDescription: d\n more\nFilename: pool/p{i}.deb\nSize: {i}\nSHA256: ab\n")
        };
        let mut text: String = (0..5000).map(|i| para(i) + "\n").collect();
        let whole = parse_chunk(&text, 1, "m", "s", "idx").unwrap();
        let parts = split_chunks(&text, 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.iter().map(|p| p.0).collect::<String>(), text);
        let mut joined = Vec::new();
        for (chunk, line) in &parts {
            joined.extend(parse_chunk(chunk, *line, "m", "s", "idx").unwrap());
        }
        assert_eq!(joined.len(), 5000);
        for ((a, fa), (b, fb)) in whole.iter().zip(&joined) {
            assert_eq!(a, b);
            assert_eq!(fa.version, fb.version);
        }
        // A bad paragraph far in is named by its line in the whole file, whichever chunk.
        text.push_str("Package: bad\nVersion: 1\n");
        let err = parse_packages(&text, "m", "s", "idx")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("line {}", 5000 * 9 + 1)), "{err}");
        assert!(text.len() > PARALLEL_MIN / 4);
    }

    #[test]
    fn a_stanza_without_filename_is_named() {
        let text = "Package: a\nVersion: 1\nArchitecture: all\nSHA256: ab\nSize: 1\n";
        let err = parse_packages(text, "m", "s", "idx")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\"") && err.contains("Filename"), "{err}");
    }
}
