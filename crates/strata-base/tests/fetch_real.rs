//! `.deb` downloads from the real mirror into the cache (network).

mod common;

use strata_base::lock::Lock;
use strata_base::repo::{fetch_debs, hash_file, Cache, RepoError, RepoOptions, Repository, Source};
use strata_base::resolve::{resolve, Request, Variant};

fn bookworm() -> Repository {
    common::require_keyring();
    let cache = Cache::new(common::cache_dir()).unwrap();
    let sources = vec![Source::new(common::MIRROR, "bookworm", &["main"])];
    Repository::load(&RepoOptions::new(sources, "amd64", cache)).unwrap()
}

#[test]
fn downloads_verified_in_parallel_then_reuses_the_cache() {
    let repo = bookworm();
    let res = resolve(&repo, &Request::new(&["hello", "tzdata"], Variant::None)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();
    let paths = fetch_debs(&cache, &res.packages, 4).unwrap();
    assert_eq!(paths.len(), res.packages.len());
    for (path, pkg) in paths.iter().zip(&res.packages) {
        assert_eq!(hash_file(path).unwrap(), pkg.sha256, "{}", pkg.name);
        assert_eq!(std::fs::metadata(path).unwrap().len(), pkg.size);
    }
    // Warm: the same paths, nothing downloaded (the mirror is made unreachable to prove it).
    let mut offline = res.packages.clone();
    for p in &mut offline {
        p.mirror = "http://127.0.0.1:9/debian".to_owned();
    }
    assert_eq!(fetch_debs(&cache, &offline, 4).unwrap(), paths);
    // Only temp-free, verified files in the cache.
    let stored: Vec<_> = std::fs::read_dir(dir.path().join("debs"))
        .unwrap()
        .collect();
    assert_eq!(stored.len(), res.packages.len());
}

#[test]
fn a_wrong_hash_or_truncated_download_is_an_error_and_nothing_is_stored() {
    let repo = bookworm();
    let res = resolve(&repo, &Request::new(&["hello"], Variant::None)).unwrap();
    let hello = res.packages.iter().find(|p| p.name == "hello").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path()).unwrap();

    let mut wrong = hello.clone();
    wrong.sha256 = "0".repeat(64);
    let err = fetch_debs(&cache, &[wrong.clone()], 2).unwrap_err();
    assert!(matches!(err, RepoError::DebMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&hello.label()), "{err}");
    assert!(!cache.deb_path(&wrong.sha256).exists());

    let mut short = hello.clone();
    short.size -= 1;
    let err = fetch_debs(&cache, &[short], 2).unwrap_err().to_string();
    assert!(err.contains("does not match the index"), "{err}");

    let mut gone = hello.clone();
    gone.filename = "pool/main/h/hello/hello_0.0-0_amd64.deb".to_owned();
    let err = fetch_debs(&cache, &[gone], 2).unwrap_err().to_string();
    assert!(err.contains("404") && err.contains("hello="), "{err}");

    assert_eq!(
        std::fs::read_dir(dir.path().join("debs")).unwrap().count(),
        0
    );
}

#[test]
fn a_lock_fetches_exactly_its_files() {
    let repo = bookworm();
    let res = resolve(&repo, &Request::new(&["hello"], Variant::None)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lock_path = dir.path().join("base.lock");
    Lock::from_resolution(&res, &repo).save(&lock_path).unwrap();
    let lock = Lock::load(&lock_path).unwrap();
    let cache = Cache::new(dir.path().join("cache")).unwrap();
    let recs = lock.packages(&cache, Some(&repo), &[]).unwrap();
    assert_eq!(recs, res.packages);
    let paths = fetch_debs(&cache, &recs, 2).unwrap();
    assert_eq!(paths.len(), recs.len());
    // Offline, from the cache alone: the same files.
    let again = lock.packages(&cache, None, &[]).unwrap();
    assert_eq!(fetch_debs(&cache, &again, 2).unwrap(), paths);
}
