//! COPY and ADD against BuildKit v0.24: heredoc sources, `--chown` and `--chmod` forms,
//! directories created for the destination, symlinked destinations, `--from` owners, special
//! bits, mtimes and hard links. Every expected value is what BuildKit v0.24.0 wrote into the
//! layer for the same Dockerfile and context (the oracle daemon of `/work/oracle`); each test
//! names the BuildKit source that decides it. The tests read the built layers' tar entries.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{layers, set_mode, stderr, Env, Row};

/// The entry at `path` in any of the layers (the last layer holding it wins).
fn row(layers: &[Vec<Row>], path: &str) -> Row {
    layers
        .iter()
        .rev()
        .flat_map(|l| l.iter())
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("{path} in no layer: {layers:#?}"))
        .clone()
}

/// (kind, mode, uid:gid) of an entry.
fn meta(layers: &[Vec<Row>], path: &str) -> (char, u32, (u64, u64)) {
    let r = row(layers, path);
    (r.kind, r.mode, r.owner)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Builds `ctx` as `tag`; returns its layers and the time span of the build.
fn build(env: &Env, ctx: &Path, tag: &str) -> (Vec<Vec<Row>>, std::ops::RangeInclusive<u64>) {
    let start = now();
    env.build(&["-t", tag, ctx.to_str().unwrap()]);
    (layers(env, tag), start..=now())
}

fn set_mtime(path: &Path, secs: i64) {
    filetime::set_symlink_file_times(
        path,
        filetime::FileTime::from_unix_time(secs, 0),
        filetime::FileTime::from_unix_time(secs, 0),
    )
    .unwrap();
}

/// A tar archive holding `entries` (path, uid, gid, mode, mtime), no directory entries.
fn tar_of(path: &Path, entries: &[(&str, u64, u64, u32, u64)]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, uid, gid, mode, mtime) in entries {
        let data = format!("{name}\n");
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_uid(*uid);
        h.set_gid(*gid);
        h.set_mode(*mode);
        h.set_mtime(*mtime);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_bytes()).unwrap();
    }
    b.finish().unwrap();
}

/// frontend/dockerfile/dockerfile2llb/convert.go `dispatchCopy`: heredoc sources
/// (`SourceContents`) become `llb.Mkfile(name, 0644, body)` in a scratch state, copied after
/// the other sources with the step's `--chmod`/`--chown`; unquoted bodies are expanded,
/// `<<-` strips leading tabs; Mkfile gives no time, so the file is made now.
#[test]
#[ignore = "needs root"]
fn copy_heredoc_writes_its_files() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\nARG X=exp\n\
        COPY <<EOT /h/a.txt\nhello $X\nEOT\n\
        COPY <<\"EOT\" /q.txt\nq $X\nEOT\n\
        COPY <<A <<B /dir/\na\nA\nb\nB\n\
        COPY --chmod=0600 --chown=1000:1000 <<EOT /c.txt\nc\nEOT\n\
        COPY <<-EOT f <<\"RAW\" /mix/\n\tindented\n\tEOT\nraw\nRAW\n\
        COPY --chmod=g+w <<EOT /g.txt\ng\nEOT\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("f", "f\n")]);
    let (l, span) = build(&env, &ctx, "hd:1");
    let body = |p: &str| String::from_utf8(row(&l, p).data).unwrap();
    assert_eq!(body("h/a.txt"), "hello exp\n", "unquoted: expanded");
    assert_eq!(body("q.txt"), "q $X\n", "quoted: literal");
    assert_eq!((body("dir/A"), body("dir/B")), ("a\n".into(), "b\n".into()));
    assert_eq!(body("mix/EOT"), "indented\n", "<<- strips leading tabs");
    assert_eq!(
        (body("mix/RAW"), body("mix/f")),
        ("raw\n".into(), "f\n".into())
    );
    assert_eq!(
        meta(&l, "h/a.txt"),
        ('f', 0o644, (0, 0)),
        "Mkfile 0644, root"
    );
    assert_eq!(meta(&l, "h"), ('d', 0o755, (0, 0)));
    assert_eq!(meta(&l, "c.txt"), ('f', 0o600, (1000, 1000)));
    assert_eq!(meta(&l, "g.txt"), ('f', 0o664, (0, 0)), "symbolic on 0644");
    assert!(span.contains(&row(&l, "h/a.txt").mtime), "made now");

    // The cache key covers the body: a changed body is a new layer.
    let df2 = df.replace("hello $X", "bye $X");
    std::fs::write(ctx.join("Dockerfile"), df2).unwrap();
    let (l2, _) = build(&env, &ctx, "hd:2");
    assert_eq!(row(&l2, "h/a.txt").data, b"bye exp\n");
}

/// convert.go `dispatchCopy` handles ADD's heredocs as COPY's (Mkfile 0644, then copied).
#[test]
#[ignore = "needs root"]
fn add_heredoc_writes_its_files() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
        ADD --chmod=0600 <<EOT /added.txt\nadded\nEOT\n\
        ADD --chown=app <<EOT /new/b.txt\nb\nEOT\n";
    let ctx = env.context("ctx", &[("Dockerfile", df)]);
    let (l, _) = build(&env, &ctx, "add:1");
    assert_eq!(row(&l, "added.txt").data, b"added\n");
    assert_eq!(meta(&l, "added.txt"), ('f', 0o600, (0, 0)));
    assert_eq!(meta(&l, "new/b.txt"), ('f', 0o644, (1000, 1000)));
    assert_eq!(meta(&l, "new"), ('d', 0o755, (1000, 1000)));
}

/// vendor/github.com/tonistiigi/fsutil/copy/copy.go `Copy` and `prepareTargetDir`: missing
/// destination directories are made by mkdir_unix.go `MkdirAll` with mode 0755 (the octal
/// `--chmod` when given), chowned to `--chown` and made now; existing ones are left alone. A
/// directory source's destination keeps that mode and owner and takes the source's mtime.
#[test]
#[ignore = "needs root"]
fn copy_chown_creates_parents_owned_by_it() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
        COPY --chown=1000:1001 f /o/f\n\
        COPY --chown=1:2 dir /new/deep/\n\
        COPY --chmod=0600 f /m/sub/f\n\
        COPY --chmod=u+x f /s/sub/f\n\
        COPY --chown=5:6 f /tmp/existing/f\n\
        COPY dir /plain/\n\
        COPY dir /tmp/\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("f", "f\n"),
            ("dir/a", "a\n"),
            ("dir/sub/b", "b\n"),
        ],
    );
    set_mode(&ctx.join("f"), 0o640);
    set_mode(&ctx.join("dir/sub"), 0o750);
    set_mode(&ctx.join("dir"), 0o700);
    for p in ["f", "dir/a", "dir/sub/b", "dir/sub", "dir"] {
        set_mtime(&ctx.join(p), 1_600_000_000);
    }
    let (l, span) = build(&env, &ctx, "parents:1");
    assert_eq!(meta(&l, "o"), ('d', 0o755, (1000, 1001)));
    assert!(span.contains(&row(&l, "o").mtime), "made now");
    assert_eq!(meta(&l, "o/f"), ('f', 0o640, (1000, 1001)));
    assert_eq!(row(&l, "o/f").mtime, 1_600_000_000);
    assert_eq!(meta(&l, "new"), ('d', 0o755, (1, 2)));
    assert_eq!(
        meta(&l, "new/deep"),
        ('d', 0o755, (1, 2)),
        "not the source's 0700"
    );
    assert_eq!(
        row(&l, "new/deep").mtime,
        1_600_000_000,
        "the source dir's mtime"
    );
    assert_eq!(meta(&l, "new/deep/sub"), ('d', 0o750, (1, 2)));
    assert_eq!(meta(&l, "m/sub"), ('d', 0o600, (0, 0)), "the octal --chmod");
    assert_eq!(
        meta(&l, "s/sub"),
        ('d', 0o755, (0, 0)),
        "a symbolic one is not used"
    );
    assert_eq!(meta(&l, "s/sub/f"), ('f', 0o740, (0, 0)));
    assert_eq!(meta(&l, "tmp/existing"), ('d', 0o755, (5, 6)));
    assert_eq!(meta(&l, "plain"), ('d', 0o755, (0, 0)));
    let tmp = row(&l, "tmp");
    assert_eq!((tmp.mode, tmp.owner), (0o1777, (0, 0)), "existing dir kept");
    assert_eq!(tmp.mtime, 1_600_000_000, "but given the source dir's mtime");
}

/// solver/llbsolver/file/unpack.go `unpack`: the destination is `MkdirAll(dest, 0755, ch)`
/// (chowned, never `--chmod`), then go-archive's `Untar` keeps each entry's owner unless
/// `--chown` (`ChownOpts`), ignores `--chmod`, and makes implied parents 0755 root-owned.
#[test]
#[ignore = "needs root"]
fn add_archive_keeps_its_owners_and_ignores_chmod() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
        ADD --chown=3:4 a.tar /ar/sub/\n\
        ADD a.tar /ar2/\n\
        ADD --chmod=0640 a.tar /ar3/\n\
        ADD --chown=3:4 deep.tar /ar4/\n";
    let ctx = env.context("ctx", &[("Dockerfile", df)]);
    tar_of(&ctx.join("a.tar"), &[("x", 77, 88, 0o604, 1_500_000_000)]);
    tar_of(
        &ctx.join("deep.tar"),
        &[("a/b/x", 77, 88, 0o644, 1_500_000_000)],
    );
    let (l, _) = build(&env, &ctx, "ar:1");
    assert_eq!(meta(&l, "ar"), ('d', 0o755, (3, 4)));
    assert_eq!(meta(&l, "ar/sub"), ('d', 0o755, (3, 4)));
    assert_eq!(meta(&l, "ar/sub/x"), ('f', 0o604, (3, 4)));
    assert_eq!(
        meta(&l, "ar2/x"),
        ('f', 0o604, (77, 88)),
        "the archive's owner"
    );
    assert_eq!(row(&l, "ar2/x").mtime, 1_500_000_000);
    assert_eq!(meta(&l, "ar3"), ('d', 0o755, (0, 0)));
    assert_eq!(
        meta(&l, "ar3/x"),
        ('f', 0o604, (77, 88)),
        "--chmod not applied"
    );
    assert_eq!(meta(&l, "ar4"), ('d', 0o755, (3, 4)));
    assert_eq!(meta(&l, "ar4/a/b"), ('d', 0o755, (0, 0)), "implied: root");
    assert_eq!(meta(&l, "ar4/a/b/x"), ('f', 0o644, (3, 4)));
}

/// fsutil copy.go `Copy`: the destination is `fs.RootPath(dstRoot, dst)`, which follows every
/// symlink of it inside the root, the last one too and dangling or not, relative targets from
/// the link's directory; the link itself stays.
#[test]
#[ignore = "needs root"]
fn copy_to_dangling_symlink_writes_its_target() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
        COPY links/ /s/\n\
        COPY d/ /d/\n\
        COPY old.txt /existing.txt\n\
        COPY f /s/dangling\n\
        COPY f /s/rel\n\
        COPY f /s/todir\n\
        COPY f /s/deep\n\
        COPY f /s/tofile\n\
        COPY f /s/slash/\n\
        COPY g /s/chain\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("f", "f\n"),
            ("g", "g\n"),
            ("old.txt", "old\n"),
            ("d/keep", "k\n"),
        ],
    );
    let links = ctx.join("links");
    std::fs::create_dir(&links).unwrap();
    for (name, target) in [
        ("dangling", "/target"),
        ("rel", "../rel-target"),
        ("todir", "/d"),
        ("deep", "/nodir/x"),
        ("tofile", "/existing.txt"),
        ("slash", "/t2"),
        ("chain", "nested"),
        ("nested", "/s/dangling2"),
        ("dangling2", "/target2"),
    ] {
        symlink(target, links.join(name)).unwrap();
    }
    let (l, _) = build(&env, &ctx, "links:1");
    let body = |p: &str| String::from_utf8(row(&l, p).data).unwrap();
    assert_eq!(body("target"), "f\n");
    assert_eq!(
        (row(&l, "s/dangling").kind, row(&l, "s/dangling").link),
        ('l', "/target".into())
    );
    assert_eq!(
        body("rel-target"),
        "f\n",
        "relative to the link's directory"
    );
    assert_eq!(body("d/f"), "f\n", "a link to a directory: into it");
    assert_eq!(body("nodir/x"), "f\n");
    assert_eq!(meta(&l, "nodir"), ('d', 0o755, (0, 0)));
    assert_eq!(
        body("existing.txt"),
        "f\n",
        "a link to a file: the file replaced"
    );
    assert_eq!(body("t2/f"), "f\n");
    assert_eq!(body("target2"), "g\n", "chains of links");
    for l2 in &l[3..] {
        assert!(
            l2.iter()
                .all(|r| !r.path.starts_with("s/") || r.kind == 'd'),
            "no link replaced: {l2:?}"
        );
    }
}

/// fsutil copy_linux.go `copyFileInfo`: without `--chown` the chowner keeps the source's
/// uid/gid (`--from` sources; the build context arrives 0:0), the mode keeps setuid, setgid
/// and sticky, the mtime is kept; hardlink.go `getLinkSource`: a second path of an inode
/// inside one source becomes a hard link (a tar `Link` entry in the layer).
#[test]
#[ignore = "needs root"]
fn copy_from_keeps_owner_and_hard_links() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test AS a\n\
        COPY --chown=1000:1000 tree /t/\n\
        COPY --chown=33:50 own /t/src/\n\
        FROM busybox:test\n\
        COPY --from=a /t/src /dst/\n\
        COPY --from=a /t/src/y /one\n\
        COPY --from=a --chown=5:6 /t/src /chowned/\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("tree/src/x", "x\n"),
            ("tree/src/y", "y\n"),
            ("tree/src/sticky/.keep", ""),
            ("own/sgid/.keep", ""),
        ],
    );
    let src = ctx.join("tree/src");
    std::fs::create_dir(src.join("sub")).unwrap();
    std::fs::hard_link(src.join("x"), src.join("sub/x2")).unwrap();
    std::fs::hard_link(src.join("x"), src.join("x3")).unwrap();
    std::fs::write(src.join("z"), "z\n").unwrap();
    std::fs::hard_link(src.join("z"), ctx.join("tree/outside")).unwrap();
    set_mode(&src.join("y"), 0o4755);
    set_mtime(&src.join("y"), 1_500_000_000);
    set_mode(&src.join("sticky"), 0o1777);
    set_mode(&ctx.join("own/sgid"), 0o2775);
    set_mode(&src.join("x"), 0o644);
    let (l, _) = build(&env, &ctx, "from:1");
    assert_eq!(meta(&l, "dst/y"), ('f', 0o4755, (1000, 1000)));
    assert_eq!(row(&l, "dst/y").mtime, 1_500_000_000);
    assert_eq!(meta(&l, "one"), ('f', 0o4755, (1000, 1000)));
    assert_eq!(meta(&l, "dst/sticky"), ('d', 0o1777, (1000, 1000)));
    assert_eq!(meta(&l, "dst/sgid"), ('d', 0o2775, (33, 50)));
    // BuildKit's layer: the first path in walk order carries the data, the others link to it.
    assert_eq!(meta(&l, "dst/sub/x2"), ('f', 0o644, (1000, 1000)));
    for p in ["dst/x", "dst/x3"] {
        let r = row(&l, p);
        assert_eq!(
            (r.kind, r.link.as_str(), r.owner),
            ('h', "dst/sub/x2", (1000, 1000)),
            "{p}"
        );
    }
    assert_eq!(row(&l, "dst/z").kind, 'f', "its other link was not copied");
    assert_eq!(meta(&l, "chowned/y"), ('f', 0o4755, (5, 6)));
    assert_eq!(meta(&l, "chowned/sgid"), ('d', 0o2775, (5, 6)));
    assert_eq!(row(&l, "chowned/x").link, "chowned/sub/x2");

    let out = env.path("out");
    env.build(&[
        "-o",
        &format!("type=local,dest={}", out.display()),
        ctx.to_str().unwrap(),
    ]);
    use std::os::unix::fs::MetadataExt;
    let ino = |p: &str| std::fs::metadata(out.join(p)).unwrap().ino();
    assert_eq!(ino("dst/x"), ino("dst/sub/x2"), "applied as a hard link");
}

/// fsutil's send keeps hard links of the context (the local source holds them) and the
/// context's owners are not transferred (0:0); copy.go's copier is made per source, so two
/// sources never link to each other.
#[test]
#[ignore = "needs root"]
fn copy_context_keeps_hard_links_not_owners() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\nCOPY ctx /ctx/\nCOPY h1 h2 /two/\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("ctx/h1", "h\n"),
            ("ctx/owned", "o\n"),
            ("h1", "h\n"),
        ],
    );
    std::fs::create_dir(ctx.join("ctx/sub")).unwrap();
    set_mode(&ctx.join("ctx/h1"), 0o644);
    std::fs::hard_link(ctx.join("ctx/h1"), ctx.join("ctx/h2")).unwrap();
    std::fs::hard_link(ctx.join("ctx/h1"), ctx.join("ctx/sub/h3")).unwrap();
    std::fs::hard_link(ctx.join("h1"), ctx.join("h2")).unwrap();
    std::os::unix::fs::lchown(ctx.join("ctx/owned"), Some(1234), Some(5678)).unwrap();
    set_mode(&ctx.join("ctx/owned"), 0o4755);
    let (l, _) = build(&env, &ctx, "ctx:1");
    assert_eq!(meta(&l, "ctx/h1"), ('f', 0o644, (0, 0)));
    assert_eq!(
        (row(&l, "ctx/h2").kind, row(&l, "ctx/h2").link),
        ('h', "ctx/h1".into())
    );
    assert_eq!(row(&l, "ctx/sub/h3").link, "ctx/h1");
    assert_eq!(meta(&l, "ctx/owned"), ('f', 0o4755, (0, 0)));
    assert_eq!((row(&l, "two/h1").kind, row(&l, "two/h2").kind), ('f', 'f'));
}

/// The cache key covers the hard links a copy makes (hardlink.go `getLinkSource`, decided
/// per source in walk order): turning `d/h2`, a file identical to `d/h1`, into a link to it,
/// or a link back into a file, is a new layer, never the cached one, for a context and a
/// `--from` source. Each direction starts from a fresh store.
#[test]
#[ignore = "needs root"]
fn copy_rebuilt_after_a_hard_link_change_is_not_cached() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let plain = ('f', 'f', String::new());
    for linked_first in [false, true] {
        let linked = |dir: &str| ('f', 'h', format!("{dir}/h1"));
        let (before, after) = match linked_first {
            false => ((plain.clone(), plain.clone()), (linked("d"), linked("e"))),
            true => ((linked("d"), linked("e")), (plain.clone(), plain.clone())),
        };
        let env = Env::with_base();
        let ctx = links_context(&env, linked_first);
        let (a, e, _) = build_links(&env, &ctx, "links:1");
        assert_eq!((link_kinds(&a, "d"), link_kinds(&e, "e")), before);
        let (_, _, log) = build_links(&env, &ctx, "links:2");
        assert_eq!(log.matches("CACHED").count(), 2, "unchanged: {log}");

        let (h1, h2) = (ctx.join("d/h1"), ctx.join("d/h2"));
        std::fs::remove_file(&h2).unwrap();
        match linked_first {
            false => std::fs::hard_link(&h1, &h2).unwrap(),
            true => std::fs::write(&h2, "h\n").unwrap(),
        }
        let (a, e, log) = build_links(&env, &ctx, "links:3");
        assert_eq!(log.matches("CACHED").count(), 0, "links changed: {log}");
        assert_eq!((link_kinds(&a, "d"), link_kinds(&e, "e")), after);
    }
}

/// A context whose `d/h1` and `d/h2` hold the same bytes, as one inode when `linked`.
fn links_context(env: &Env, linked: bool) -> std::path::PathBuf {
    let df = "FROM busybox:test AS a\n\
        COPY d /d/\n\
        FROM busybox:test\n\
        COPY --from=a /d /e/\n";
    let ctx = env.context("ctx", &[("Dockerfile", df), ("d/h1", "h\n")]);
    if linked {
        std::fs::hard_link(ctx.join("d/h1"), ctx.join("d/h2")).unwrap();
    } else {
        std::fs::write(ctx.join("d/h2"), "h\n").unwrap();
    }
    ctx
}

/// Builds the links context: the layers of stage `a` (read from a cached `--target a`
/// build), of the last stage, and the log of the full build.
fn build_links(env: &Env, ctx: &Path, tag: &str) -> (Vec<Vec<Row>>, Vec<Vec<Row>>, String) {
    let (_, log) = env.build(&["-t", tag, ctx.to_str().unwrap()]);
    let e = layers(env, tag);
    env.build(&["-t", tag, "--target", "a", ctx.to_str().unwrap()]);
    (layers(env, tag), e, log)
}

/// (kind of `dir/h1`, kind of `dir/h2`, what `dir/h2` links to).
fn link_kinds(l: &[Vec<Row>], dir: &str) -> (char, char, String) {
    let (a, b) = (row(l, &format!("{dir}/h1")), row(l, &format!("{dir}/h2")));
    (a.kind, b.kind, b.link)
}

/// client/llb/fileop.go `WithUser`/`parseUID`/`UserOpt.marshal` and
/// solver/llbsolver/ops/user_linux.go `readUser`: every `--chown` form on a passwd where a
/// user's primary gid differs from its uid; names with `--link` fail in BuildKit too.
#[test]
#[ignore = "needs root"]
fn copy_chown_forms_resolve_as_buildkit() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let df = "FROM busybox:test\n\
        COPY passwd group /etc/\n\
        ARG U=odd\nARG G=staff\n\
        COPY --chown=odd f /o/name\n\
        COPY --chown=1000 f /o/uid\n\
        COPY --chown=odd:staff f /o/name-group\n\
        COPY --chown=7:8 f /o/uid-gid\n\
        COPY --chown=:staff f /o/colon-group\n\
        COPY --chown=:9 f /o/colon-gid\n\
        COPY --chown=odd: f /o/user-colon\n\
        COPY --chown=$U:$G f /o/args\n\
        COPY --chown=root:odd f /o/root-odd\n\
        COPY --chown=+5 f /o/plus5\n\
        ADD --chown=:staff f /o/add-colon-group\n";
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", df),
            ("f", "f\n"),
            (
                "passwd",
                "root:x:0:0:root:/root:/bin/sh\nodd:x:1000:1001::/:/bin/sh\n",
            ),
            ("group", "root:x:0:\nstaff:x:50:\nodd:x:1001:\n"),
        ],
    );
    let (l, _) = build(&env, &ctx, "chown:1");
    let owner = |name: &str| row(&l, &format!("o/{name}")).owner;
    for (name, want) in [
        ("name", (1000, 1001)),
        ("uid", (1000, 1000)),
        ("name-group", (1000, 50)),
        ("uid-gid", (7, 8)),
        ("colon-group", (0, 50)),
        ("colon-gid", (0, 9)),
        ("user-colon", (1000, 0)),
        ("args", (1000, 50)),
        ("root-odd", (0, 1001)),
        ("plus5", (5, 5)),
        ("add-colon-group", (0, 50)),
    ] {
        assert_eq!(owner(name), want, "--chown form of {name}");
    }

    let bad = env.context(
        "bad",
        &[
            (
                "Dockerfile",
                "FROM busybox:test\nCOPY --link --chown=app f /f\n",
            ),
            ("f", "f"),
        ],
    );
    let images = env.snapshot_of_store().0;
    let out = env.strata(&["build", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--link"), "{}", stderr(&out));
    assert_eq!(env.snapshot_of_store().0, images, "no image was added");

    // BuildKit writes 0:0 for a name the image lacks; strata refuses, naming it.
    for (i, (chown, want)) in [
        ("ghost", "unable to find user ghost"),
        ("app:ghostgrp", "unable to find group ghostgrp"),
    ]
    .iter()
    .enumerate()
    {
        let df = format!("FROM busybox:test\nCOPY --chown={chown} f /f\n");
        let ctx = env.context(&format!("unknown{i}"), &[("Dockerfile", &df), ("f", "f")]);
        let err = env.build_fails(&ctx);
        assert!(err.contains("Dockerfile:2") && err.contains(want), "{err}");
    }
}

/// convert.go `dispatchCopy` (octal first, else tonistiigi/dchapes-mode `Parse`) and fsutil
/// copy_linux.go `copyFileInfo` (`modeSet.Apply` on each file's own mode, directories too).
#[test]
#[ignore = "needs root"]
fn copy_chmod_symbolic_modes_as_buildkit() {
    common::require_root(); // unpacking keeps the layers' owners (lchown)
    let env = Env::with_base();
    let cases = [
        ("u=rwx,g=rx,o=", "f", 0o750),
        ("+x", "f", 0o751),
        ("a+r", "f", 0o644),
        ("go-w", "e", 0o755),
        ("a+X", "f", 0o640),
        ("a+X", "e", 0o755),
        ("u+s,g+s", "f", 0o6640),
        ("+t", "f", 0o1640),
        ("o=u", "f", 0o646),
        ("g=u-w", "f", 0o640),
        ("a=", "f", 0),
        ("4755", "f", 0o4755),
        ("", "f", 0o640),
    ];
    let mut df = String::from("FROM busybox:test\n");
    for (i, (mode, src, _)) in cases.iter().enumerate() {
        df.push_str(&format!("COPY --chmod={mode} {src} /c/{i}\n"));
    }
    df.push_str("ADD --chmod=go+rX dir /c/dir/\n");
    let ctx = env.context(
        "ctx",
        &[
            ("Dockerfile", &df),
            ("f", "f\n"),
            ("e", "e\n"),
            ("dir/a", "a\n"),
        ],
    );
    set_mode(&ctx.join("f"), 0o640);
    set_mode(&ctx.join("e"), 0o755);
    set_mode(&ctx.join("dir/a"), 0o600);
    std::fs::create_dir(ctx.join("dir/sub")).unwrap();
    set_mode(&ctx.join("dir/sub"), 0o700);
    let (l, _) = build(&env, &ctx, "chmod:1");
    for (i, (mode, src, want)) in cases.iter().enumerate() {
        assert_eq!(
            row(&l, &format!("c/{i}")).mode,
            *want,
            "--chmod={mode} on {src}"
        );
    }
    assert_eq!(row(&l, "c/dir/a").mode, 0o644);
    assert_eq!(row(&l, "c/dir/sub").mode, 0o755, "X on a directory");

    for (value, message) in [
        ("u+z", "invalid chmod parameter: 'u+z'"),
        ("99999", "it should be octal string and between 0 and 07777"),
    ] {
        let bad = env.context(
            &format!("bad-{value}"),
            &[
                (
                    "Dockerfile",
                    &format!("FROM busybox:test\nCOPY --chmod={value} f /f\n"),
                ),
                ("f", "f"),
            ],
        );
        let out = env.strata(&["build", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
}

/// convert.go `dispatchCopy`: a heredoc source is `llb.Mkfile(path.Join("/", name))` in an
/// empty image, so its name is a file name in the image and never a path on the host:
/// `<<"../../x"` is `x`, `<<"/tmp/x"` fails (no `/tmp` there).
#[test]
fn heredoc_names_stay_inside_the_image() {
    let env = Env::empty();
    let host = env.path("escaped");
    let df = format!(
        "FROM scratch\nCOPY <<\"{h}\" /d/\npwned\n{h}\n",
        h = host.display()
    );
    let bad = env.context("abs", &[("Dockerfile", &df)]);
    let err = env.build_fails(&bad);
    assert!(err.contains("is not a file name"), "{err}");
    assert!(!host.exists(), "nothing written on the host");

    let df = "FROM scratch\nCOPY <<\"../../../../up\" /d/\nbody\n../../../../up\n";
    let ctx = env.context("dotdot", &[("Dockerfile", df)]);
    let (out, _) = env.build_rootfs(&ctx, "out");
    assert_eq!(std::fs::read_to_string(out.join("d/up")).unwrap(), "body\n");
    assert!(!env.dir.path().join("up").exists() && !env.root().join("up").exists());
}
