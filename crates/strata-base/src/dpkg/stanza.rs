//! Control stanzas (deb822 paragraphs) as dpkg writes them into `/var/lib/dpkg/status`.

/// A stanza's fields in file order, each with its full value (continuation lines included,
/// without the trailing newline).
pub fn parse(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push('\n');
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    fields
}

/// The fields dpkg knows, in the order it writes them (`fieldinfos[]` of dpkg's
/// `lib/dpkg/parse.c`); the others ("arbitrary fields": Homepage, Built-Using, …) follow
/// in control-file order.
const ORDER: &[&str] = &[
    "Package",
    "Essential",
    "Protected",
    "Status",
    "Priority",
    "Section",
    "Installed-Size",
    "Origin",
    "Maintainer",
    "Bugs",
    "Architecture",
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    "Replaces",
    "Provides",
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Enhances",
    "Conffiles",
    "Filename",
    "Size",
    "MD5sum",
    "MSDOS-Filename",
    "Description",
    "Triggers-Pending",
    "Triggers-Awaited",
];

/// The status stanza of an installed package: its control fields with `Status` and
/// `Conffiles` added, in dpkg's order, ending with a blank line.
pub fn status_stanza(control: &str, status: &str, conffiles: &[(String, String)]) -> String {
    let mut fields = parse(control);
    // dpkg writes Essential/Protected only when "yes".
    fields.retain(|(k, v)| {
        !(k.eq_ignore_ascii_case("Essential") || k.eq_ignore_ascii_case("Protected")) || v == "yes"
    });
    fields.push(("Status".into(), status.into()));
    if !conffiles.is_empty() {
        let mut v = String::new();
        for (path, md5) in conffiles {
            v.push_str(&format!("\n {path} {md5}"));
        }
        fields.push(("Conffiles".into(), v));
    }
    let rank = |k: &str| {
        ORDER
            .iter()
            .position(|o| o.eq_ignore_ascii_case(k))
            .unwrap_or(ORDER.len())
    };
    // A stable sort keeps the arbitrary fields in their control-file order.
    fields.sort_by_key(|(k, _)| rank(k));
    let mut out = String::new();
    for (k, v) in fields {
        if v.starts_with('\n') {
            out.push_str(&format!("{k}:{v}\n"));
        } else {
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    out.push('\n');
    out
}

/// `control` with the archive's overrides applied: dpkg records the `Priority` and `Section`
/// the archive's index gives (its `available` database), not the `.deb`'s own, when they
/// differ (apt's Priority is `required` in the index, `important` in its control file).
pub fn with_overrides(control: &str, overrides: &[(&str, &str)]) -> String {
    let mut fields = parse(control);
    for (k, v) in overrides {
        match fields.iter_mut().find(|(f, _)| f.eq_ignore_ascii_case(k)) {
            Some(field) => field.1 = (*v).to_owned(),
            None => fields.push(((*k).to_owned(), (*v).to_owned())),
        }
    }
    let mut out = String::new();
    for (k, v) in fields {
        if v.starts_with('\n') {
            out.push_str(&format!("{k}:{v}\n"));
        } else {
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_dpkg_order_with_status_and_conffiles() {
        let control = "Package: bash\nVersion: 5.2.15-2+b7\nArchitecture: amd64\n\
Essential: yes\nMaintainer: M <m@d.o>\nInstalled-Size: 7164\nPre-Depends: libc6 (>= 2.36)\n\
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\nSection: shells\nPriority: required\n\
Multi-Arch: foreign\nHomepage: http://tiswww.case.edu/php/chet/bash/bashtop.html\n\
Description: GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n";
        let conf = [(
            "/etc/bash.bashrc".to_owned(),
            "89269e1298235f1b12b4c16e4065ad0d".to_owned(),
        )];
        let got = status_stanza(control, "install ok installed", &conf);
        assert_eq!(
            got,
            "Package: bash\nEssential: yes\nStatus: install ok installed\nPriority: required\n\
Section: shells\nInstalled-Size: 7164\nMaintainer: M <m@d.o>\nArchitecture: amd64\n\
Multi-Arch: foreign\nVersion: 5.2.15-2+b7\nDepends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\n\
Pre-Depends: libc6 (>= 2.36)\nConffiles:\n /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d\n\
Description: GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n\
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html\n\n"
        );
    }
}
