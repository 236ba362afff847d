use strata_oci::Digest;

use super::collect::{merge, LayerFiles};
use super::*;
use crate::image::walk::walk_tar;

/// A layer tar of `(path, content)` files; content `None` is a directory, a path
/// `…/.wh.NAME` a whiteout.
fn tar(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                b.append_data(&mut h, path, *c).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn layer(index: usize) -> LayerInfo {
    LayerInfo {
        index,
        digest: Digest::of(format!("blob{index}").as_bytes()),
        media_type: strata_oci::media_types::OCI_LAYER.into(),
        blob_size: 0,
        diff_id: Some(Digest::of(format!("diff{index}").as_bytes())),
        created_by: None,
    }
}

fn catalog_tars(tars: &[Vec<u8>]) -> Vec<Package> {
    let infos: Vec<LayerInfo> = (0..tars.len()).map(layer).collect();
    let walked = tars
        .iter()
        .zip(&infos)
        .map(|(t, info)| {
            let mut v = LayerFiles::new(info);
            walk_tar(&t[..], &mut v).unwrap();
            v
        })
        .collect();
    packages(&merge(walked), &infos)
}

fn names(p: &[Package]) -> Vec<String> {
    p.iter()
        .map(|p| format!("{} {} {}", p.kind.as_str(), p.name, p.version))
        .collect()
}

const SITE: &str = "usr/lib/python3/dist-packages";

fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes()
}

#[test]
fn a_package_deleted_by_a_later_layer_is_not_listed() {
    let six = metadata("six", "1.16.0");
    let yaml = metadata("PyYAML", "6.0");
    let status =
        b"Package: bash\nStatus: install ok installed\nVersion: 5.2\nArchitecture: amd64\n";
    let bottom = tar(&[
        ("etc/os-release", Some(b"ID=debian\nVERSION_ID=\"12\"\n")),
        ("var/lib/dpkg/status", Some(status)),
        (&format!("{SITE}/six-1.16.0.dist-info/METADATA"), Some(&six)),
        (
            &format!("{SITE}/PyYAML-6.0.dist-info/METADATA"),
            Some(&yaml),
        ),
    ]);
    let top = tar(&[(&format!("{SITE}/.wh.six-1.16.0.dist-info"), Some(b""))]);
    let got = catalog_tars(&[bottom, top]);
    assert_eq!(names(&got), ["deb bash 5.2", "python PyYAML 6.0"]);
    assert_eq!(
        got[0].purl,
        "pkg:deb/debian/bash@5.2?arch=amd64&distro=debian-12"
    );
    assert_eq!(
        got[1].locations[0].path,
        format!("/{SITE}/PyYAML-6.0.dist-info/METADATA")
    );
    assert_eq!(got[1].locations[0].layer_index, 0);
    assert_eq!(got[1].locations[0].layer, Digest::of(b"diff0"));
}

#[test]
fn a_later_file_replaces_the_lower_one_and_opaque_dirs_hide_it() {
    let v1 = br#"{"name":"ms","version":"2.1.2"}"#;
    let v2 = br#"{"name":"ms","version":"2.1.3"}"#;
    let dbg = br#"{"name":"debug","version":"4.3.7"}"#;
    let bottom = tar(&[
        (
            "app/package.json",
            Some(br#"{"name":"app","version":"1.0.0"}"#),
        ),
        ("app/node_modules/ms/package.json", Some(v1)),
        ("opt/node_modules/debug/package.json", Some(dbg)),
        (
            "srv/package.json",
            Some(br#"{"name":"not-a-project","version":"1.0.0"}"#),
        ),
    ]);
    let top = tar(&[
        ("app/node_modules/ms/package.json", Some(v2)),
        ("opt/node_modules/.wh..wh..opq", Some(b"")),
    ]);
    let got = catalog_tars(&[bottom, top]);
    assert_eq!(names(&got), ["npm app 1.0.0", "npm ms 2.1.3"]);
    assert_eq!(got[1].locations[0].layer_index, 1);
}

#[test]
fn created_time_prefers_source_date_epoch() {
    assert_eq!(
        created_time(Some(0), Some("2024-05-01T10:00:00.5+02:00")).unwrap(),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(
        created_time(None, Some("2024-05-01T10:00:00.5+02:00")).unwrap(),
        "2024-05-01T08:00:00Z"
    );
    assert!(created_time(None, Some("yesterday")).is_err());
}

/// A tar with one link entry of `kind` at `path` to `target`.
fn link_tar(kind: tar::EntryType, path: &str, target: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, path, target).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn a_symlink_replacing_a_file_hides_it_and_a_hard_link_shares_its_target() {
    let meta = metadata("six", "1.16.0");
    let six = format!("{SITE}/six-1.16.0.dist-info/METADATA");
    let bottom = tar(&[(&six, Some(&meta))]);
    let top = link_tar(tar::EntryType::Symlink, &six, "/dev/null");
    assert!(catalog_tars(&[bottom.clone(), top]).is_empty());
    let copy = format!("{SITE}/six-copy-1.16.0.dist-info/METADATA");
    let linked = link_tar(tar::EntryType::Link, &copy, &six);
    let got = catalog_tars(&[bottom, linked]);
    assert_eq!(names(&got), ["python six 1.16.0"]);
    let paths: Vec<&str> = got[0].locations.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(paths, [format!("/{six}"), format!("/{copy}")]);
}
