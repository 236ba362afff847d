//! `triggers/File` and `triggers/<name>`: the trigger interests (deb-triggers(5)) dpkg
//! records when it unpacks a package that declares `interest*` in its `triggers` file.

use std::collections::BTreeMap;

use strata_archive::Entry;

use super::{file, info_name, DbPackage, DPKG};

pub(super) fn interest_files(packages: &[DbPackage<'_>], mtime: i64) -> Vec<Entry> {
    let mut file_triggers = String::new();
    let mut named: BTreeMap<String, String> = BTreeMap::new();
    for p in packages {
        let Some((bytes, _)) = p.deb.control.members.get("triggers") else {
            continue;
        };
        let pkg = info_name(p.deb);
        let pkg = pkg.split(':').next().unwrap_or_default().to_owned();
        for line in String::from_utf8_lossy(bytes).lines() {
            let mut words = line.split_whitespace();
            let (Some(kind), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            let who = match kind {
                "interest" | "interest-await" => pkg.clone(),
                "interest-noawait" => format!("{pkg}/noawait"),
                _ => continue,
            };
            if name.starts_with('/') {
                file_triggers.push_str(&format!("{name} {who}\n"));
            } else {
                named
                    .entry(name.to_owned())
                    .or_default()
                    .push_str(&format!("{who}\n"));
            }
        }
    }
    let mut out = vec![file(
        format!("{DPKG}/triggers/File"),
        file_triggers.into_bytes(),
        0o644,
        mtime,
    )];
    for (name, who) in named {
        out.push(file(
            format!("{DPKG}/triggers/{name}"),
            who.into_bytes(),
            0o644,
            mtime,
        ));
    }
    out
}
