use super::*;

/// Builds a `.deb` in memory with the `ar` and `tar` crates: dpkg-deb's layout.
fn make_deb(data_members: &[(&str, &[u8])]) -> Vec<u8> {
    let control = tar_gz(&[
        (
            "./control",
            b"Package: t\nVersion: 1\nArchitecture: all\n".as_slice(),
            0o644,
        ),
        ("./postinst", b"#!/bin/sh\nexit 0\n".as_slice(), 0o755),
    ]);
    let data = tar_gz(
        &data_members
            .iter()
            .map(|(p, b)| (*p, *b, 0o644))
            .collect::<Vec<_>>(),
    );
    let mut out = Vec::new();
    {
        let mut ar = ar::Builder::new(&mut out);
        for (name, bytes) in [
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.gz", control),
            ("data.tar.gz", data),
        ] {
            let header = ar::Header::new(name.as_bytes().to_vec(), bytes.len() as u64);
            ar.append(&header, &bytes[..]).unwrap();
        }
    }
    out
}

fn tar_gz(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_uid(0);
    dir.set_gid(0);
    dir.set_mtime(0);
    tar.append_data(&mut dir, "./", io::empty()).unwrap();
    for (path, bytes, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        tar.append_data(&mut h, path, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn reads_control_and_data_in_archive_order() {
    let deb = make_deb(&[("./usr/bin/b", b"bb"), ("./usr/bin/a", b"a")]);
    let pkg = read_deb(Path::new("t.deb"), &deb[..]).unwrap();
    assert_eq!(pkg.control.field("Package"), Some("t"));
    assert!(pkg.control.members.contains_key("postinst"));
    let paths: Vec<_> = pkg.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["usr/bin/b", "usr/bin/a"]);
    assert_eq!(pkg.files[0].mtime, 1_700_000_000);
}

#[test]
fn truncated_deb_is_an_error_naming_the_file() {
    let deb = make_deb(&[("./usr/bin/a", &[7u8; 4096])]);
    for cut in [10, 100, deb.len() / 2, deb.len() - 9] {
        let err = read_deb(Path::new("/cache/t.deb"), &deb[..cut]).unwrap_err();
        assert!(err.to_string().contains("/cache/t.deb"), "{err}");
    }
}

#[test]
fn corrupt_data_member_is_an_error() {
    let mut deb = make_deb(&[("./usr/bin/a", &[7u8; 4096])]);
    let n = deb.len();
    for b in &mut deb[n - 40..n - 20] {
        *b ^= 0xff;
    }
    let err = read_deb(Path::new("t.deb"), &deb[..]).unwrap_err();
    assert!(
        matches!(err, DebError::Member { ref member, .. } if member == "data.tar.gz"),
        "{err}"
    );
}
