//! `Packages` indices: one paragraph per binary package. Only the fields strata needs are
//! extracted; the paragraph's full text is kept for the dpkg database.

use super::{Facts, PackageRecord, RepoError};

/// Parses a whole Packages file of `mirror`/`suite` into records, in file order.
pub fn parse_packages(
    text: &str,
    mirror: &str,
    suite: &str,
    what: &str,
) -> Result<Vec<(PackageRecord, Facts)>, RepoError> {
    let mut out = Vec::new();
    let mut line_no = 1usize;
    for para in text.split("\n\n") {
        let start_line = line_no;
        line_no += para.matches('\n').count() + 2;
        let para = para.trim_matches('\n');
        if para.is_empty() {
            continue;
        }
        let mut rec = PackageRecord {
            mirror: mirror.to_owned(),
            suite: suite.to_owned(),
            control: {
                let mut text = String::with_capacity(para.len() + 1);
                text.push_str(para);
                text.push('\n');
                text
            },
            ..PackageRecord::default()
        };
        let mut facts = Facts::default();
        for line in para.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(RepoError::Index {
                    what: what.to_owned(),
                    line: start_line,
                    message: format!("not a field: {line:?}"),
                });
            };
            let value = value.trim();
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
    fn a_stanza_without_filename_is_named() {
        let text = "Package: a\nVersion: 1\nArchitecture: all\nSHA256: ab\nSize: 1\n";
        let err = parse_packages(text, "m", "s", "idx")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\"") && err.contains("Filename"), "{err}");
    }
}
