//! `RUN --mount=` specifications (BuildKit's `instructions/runmount.go`).
//!
//! A spec is a CSV list of `key=value` fields (plus the bare flags `ro`/`readonly`,
//! `rw`/`readwrite` and `required`). Defaults follow BuildKit: type `bind`, bind and
//! secret/ssh mounts read-only unless `rw`, cache id defaulting to the target, secret target
//! defaulting to `/run/secrets/<id>`, ssh id `default`.

use crate::error::ExpandError;

/// The kind of a `RUN --mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountKind {
    /// The name used in Dockerfiles (`bind`, `cache`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Secret => "secret",
            MountKind::Ssh => "ssh",
        }
    }

    fn parse(s: &str) -> Option<MountKind> {
        Some(match s {
            "bind" => MountKind::Bind,
            "cache" => MountKind::Cache,
            "tmpfs" => MountKind::Tmpfs,
            "secret" => MountKind::Secret,
            "ssh" => MountKind::Ssh,
            _ => return None,
        })
    }
}

/// Every mount type the parser accepts.
pub const MOUNT_TYPES: &[MountKind] = &[
    MountKind::Bind,
    MountKind::Cache,
    MountKind::Tmpfs,
    MountKind::Secret,
    MountKind::Ssh,
];

/// Every `--mount` option the parser accepts, by its first name (aliases: `src`, `dst`,
/// `destination`, `dest`, `ro`, `rw`); a test keeps this list and the parser in step.
pub const MOUNT_OPTIONS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "readwrite",
    "required",
    "size",
    "id",
    "sharing",
    "mode",
    "uid",
    "gid",
    "env",
];

impl std::fmt::Display for MountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cache mount sharing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sharing {
    #[default]
    Shared,
    Private,
    Locked,
}

/// One parsed `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    /// Mount point in the container (defaulted for secret and ssh mounts; may be empty for a
    /// secret exposed only as `env`).
    pub target: String,
    /// `source`/`src`: path in `from` (bind/cache) or the secret id source.
    pub source: Option<String>,
    /// `from`: stage or image name (bind/cache).
    pub from: Option<String>,
    pub read_only: bool,
    /// Cache id (defaults to target), secret id (defaults to source or target base name),
    /// ssh id (defaults to `default`).
    pub id: Option<String>,
    pub sharing: Sharing,
    /// Octal file mode (cache/secret/ssh).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Secret/ssh: fail when missing.
    pub required: bool,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
    /// Tmpfs size limit in bytes.
    pub size: Option<u64>,
}

/// Why a `--mount` spec is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    #[error("unexpected key '{key}' in '{field}'")]
    UnknownKey { key: String, field: String },
    #[error("invalid field '{field}' must be a key=value pair")]
    NotKeyValue { field: String },
    #[error("unsupported mount type {value:?}")]
    UnsupportedType { value: String },
    #[error("unexpected key '{key}' for mount type '{kind}'")]
    KeyNotForType { key: String, kind: MountKind },
    #[error("invalid value for {key}: {value}")]
    InvalidValue { key: String, value: String },
    #[error("{key} not allowed for \"{kind}\" type mounts")]
    FileInfoNotAllowed { key: String, kind: MountKind },
    #[error("unsupported sharing value {value:?}")]
    UnsupportedSharing { value: String },
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    FromExpansion,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Expand(#[from] ExpandError),
}

/// Expands one value of a mount spec; `None` means the spec is taken literally.
pub type ValueExpander<'a> = &'a dyn Fn(&str) -> Result<String, ExpandError>;

/// Parses one `--mount` value. With `expand`, every value is expanded first (BuildKit's
/// dispatch-time parse); without it, values are literal and numeric fields holding `$` are
/// left unset for a later expanded parse.
pub fn parse_mount(spec: &str, expand: Option<ValueExpander<'_>>) -> Result<Mount, MountError> {
    let mut m = Mount {
        kind: MountKind::Bind,
        target: String::new(),
        source: None,
        from: None,
        read_only: false,
        id: None,
        sharing: Sharing::Shared,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        env: None,
        size: None,
    };
    let mut ro_auto = true;
    for field in csv_fields(spec)? {
        let Some((key, value)) = field.split_once('=') else {
            bare_flag(&mut m, &mut ro_auto, &field)?;
            continue;
        };
        let key = key.to_ascii_lowercase();
        let value = match expand {
            Some(f) => f(value)?,
            None if key == "from" && has_expansion(value) => return Err(MountError::FromExpansion),
            None => value.to_string(),
        };
        let deferred = expand.is_none() && value.contains('$');
        set_field(&mut m, &mut ro_auto, &key, value, &field, deferred)?;
    }
    finish(m, ro_auto)
}

fn has_expansion(value: &str) -> bool {
    value.find('$').is_some_and(|i| i != value.len() - 1)
}

fn bare_flag(m: &mut Mount, ro_auto: &mut bool, field: &str) -> Result<(), MountError> {
    match &field.to_ascii_lowercase()[..] {
        "readonly" | "ro" => m.read_only = true,
        "readwrite" | "rw" => m.read_only = false,
        "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => {
            m.required = true;
            return Ok(());
        }
        "required" => {
            return Err(MountError::KeyNotForType {
                key: "required".into(),
                kind: m.kind,
            })
        }
        _ => {
            return Err(MountError::NotKeyValue {
                field: field.into(),
            })
        }
    }
    *ro_auto = false;
    Ok(())
}

fn set_field(
    m: &mut Mount,
    ro_auto: &mut bool,
    key: &str,
    value: String,
    field: &str,
    deferred: bool,
) -> Result<(), MountError> {
    let invalid = || MountError::InvalidValue {
        key: key.to_string(),
        value: value.clone(),
    };
    match key {
        "type" => {
            m.kind = MountKind::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                MountError::UnsupportedType {
                    value: value.clone(),
                }
            })?
        }
        "from" => m.from = Some(value),
        "source" | "src" => m.source = Some(value),
        "target" | "dst" | "destination" | "dest" => m.target = value,
        "readonly" | "ro" => {
            m.read_only = parse_bool(&value).ok_or_else(invalid)?;
            *ro_auto = false;
        }
        "readwrite" | "rw" => {
            m.read_only = !parse_bool(&value).ok_or_else(invalid)?;
            *ro_auto = false;
        }
        "required" => {
            if !matches!(m.kind, MountKind::Secret | MountKind::Ssh) {
                return Err(MountError::KeyNotForType {
                    key: key.into(),
                    kind: m.kind,
                });
            }
            m.required = parse_bool(&value).ok_or_else(invalid)?;
        }
        "size" => {
            if m.kind != MountKind::Tmpfs {
                return Err(MountError::KeyNotForType {
                    key: key.into(),
                    kind: m.kind,
                });
            }
            if !deferred {
                m.size = Some(ram_in_bytes(&value).ok_or_else(invalid)?);
            }
        }
        "id" => m.id = Some(value),
        "sharing" => m.sharing = parse_sharing(&value)?,
        "mode" if !deferred => {
            m.mode = Some(
                u32::from_str_radix(&value, 8)
                    .map_err(|_| MountError::Invalid(format!("invalid value {value} for mode")))?,
            )
        }
        "uid" | "gid" if !deferred => {
            let n: u32 = value
                .parse()
                .map_err(|_| MountError::Invalid(format!("invalid value {value} for {key}")))?;
            if key == "uid" {
                m.uid = Some(n)
            } else {
                m.gid = Some(n)
            }
        }
        "mode" | "uid" | "gid" => {}
        "env" => m.env = Some(value),
        _ => {
            return Err(MountError::UnknownKey {
                key: key.into(),
                field: field.into(),
            })
        }
    }
    Ok(())
}

fn parse_sharing(value: &str) -> Result<Sharing, MountError> {
    Ok(match &value.to_ascii_lowercase()[..] {
        "" | "shared" => Sharing::Shared,
        "private" => Sharing::Private,
        "locked" => Sharing::Locked,
        _ => {
            return Err(MountError::UnsupportedSharing {
                value: value.into(),
            })
        }
    })
}

/// Validation and BuildKit's defaults once every field is known.
/// Options the mount's type never uses are refused rather than ignored (BuildKit parses them
/// for every type and ignores them where they mean nothing: `env` outside secrets, `from`,
/// `source` and `id` on a tmpfs, `id` on a bind, `rw` on a secret or ssh socket, which are
/// always read-only; a cache `source` needs `from`, which it selects from).
fn refuse_unused(m: &Mount, ro_auto: bool) -> Result<(), MountError> {
    let not_for = |key: &str| {
        Err(MountError::KeyNotForType {
            key: key.into(),
            kind: m.kind,
        })
    };
    let rw = !ro_auto && !m.read_only;
    match m.kind {
        _ if m.env.is_some() && m.kind != MountKind::Secret => not_for("env"),
        MountKind::Tmpfs if m.from.is_some() => not_for("from"),
        MountKind::Tmpfs if m.source.is_some() => not_for("source"),
        MountKind::Tmpfs | MountKind::Bind if m.id.is_some() => not_for("id"),
        MountKind::Secret | MountKind::Ssh if rw => not_for("readwrite"),
        MountKind::Ssh if m.from.is_some() => not_for("from"),
        MountKind::Cache if m.source.is_some() && m.from.is_none() => Err(MountError::Invalid(
            "a cache mount's source selects a path of its from= stage or image: give from=".into(),
        )),
        _ => Ok(()),
    }
}

fn finish(mut m: Mount, ro_auto: bool) -> Result<Mount, MountError> {
    let file_info_allowed = matches!(
        m.kind,
        MountKind::Secret | MountKind::Ssh | MountKind::Cache
    );
    for (key, set) in [
        ("mode", m.mode.is_some()),
        ("uid", m.uid.is_some()),
        ("gid", m.gid.is_some()),
    ] {
        if set && !file_info_allowed {
            return Err(MountError::FileInfoNotAllowed {
                key: key.into(),
                kind: m.kind,
            });
        }
    }
    refuse_unused(&m, ro_auto)?;
    if ro_auto {
        m.read_only = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
    }
    if m.sharing != Sharing::Shared && m.kind != MountKind::Cache {
        return Err(MountError::Invalid(format!(
            "invalid cache sharing set for {} mount",
            m.kind
        )));
    }
    match m.kind {
        MountKind::Secret => secret_defaults(&mut m)?,
        MountKind::Ssh => {
            m.id.get_or_insert_with(|| "default".to_string());
        }
        MountKind::Cache => {
            m.id.get_or_insert_with(|| m.target.clone());
        }
        _ => {}
    }
    if m.target.is_empty()
        && matches!(
            m.kind,
            MountKind::Bind | MountKind::Cache | MountKind::Tmpfs
        )
    {
        return Err(MountError::Invalid(format!(
            "mount type {} requires a target",
            m.kind
        )));
    }
    Ok(m)
}

fn secret_defaults(m: &mut Mount) -> Result<(), MountError> {
    if m.from.is_some() {
        return Err(MountError::Invalid(
            "secret mount should not have a from".into(),
        ));
    }
    if m.source.is_some() && m.id.is_some() {
        return Err(MountError::Invalid(
            "both source and id can't be set".into(),
        ));
    }
    let id = match (&m.id, &m.source) {
        (Some(id), _) | (None, Some(id)) => id.clone(),
        (None, None) if m.target.is_empty() => {
            return Err(MountError::Invalid("one of source, target required".into()))
        }
        (None, None) => base_name(&m.target).to_string(),
    };
    if m.target.is_empty() && m.env.is_none() {
        m.target = format!("/run/secrets/{}", base_name(&id));
    }
    m.id = Some(id);
    Ok(())
}

fn base_name(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { "." } else { "/" };
    }
    t.rsplit('/').next().unwrap_or(t)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units `RAMInBytes`: `64m`, `1g`, `512KiB`, `100` (binary multipliers).
fn ram_in_bytes(s: &str) -> Option<u64> {
    let num_len = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let number: f64 = s[..num_len].parse().ok()?;
    let unit = s[num_len..].trim_start_matches(' ').to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    Some((number * (1u64 << shift) as f64) as u64)
}

/// Go `encoding/csv` style field splitting (quotes with `""` escapes).
fn csv_fields(spec: &str) -> Result<Vec<String>, MountError> {
    let mut fields = Vec::new();
    let mut chars = spec.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(MountError::Invalid(
                            "failed to parse csv mounts: extraneous or missing \" in quoted-field"
                                .into(),
                        ))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
        }
        for c in chars.by_ref() {
            if c == ',' {
                fields.push(std::mem::take(&mut field));
                break;
            }
            field.push(c);
        }
        if chars.peek().is_none() {
            if !field.is_empty() || fields.is_empty() || spec.ends_with(',') {
                fields.push(field);
            }
            break;
        }
    }
    Ok(fields.into_iter().filter(|f| !f.is_empty()).collect())
}

/// Assigns ssh mounts without a target BuildKit's `/run/buildkit/ssh_agent.N` sockets.
pub fn default_ssh_targets(mounts: &mut [Mount]) {
    let ssh = mounts.iter_mut().filter(|m| m.kind == MountKind::Ssh);
    for (n, m) in ssh.enumerate() {
        if m.target.is_empty() {
            m.target = format!("/run/buildkit/ssh_agent.{n}");
        }
    }
}

#[cfg(test)]
mod tests {
    /// A spec using each option of [`MOUNT_OPTIONS`] and each type of [`MOUNT_TYPES`].
    const SAMPLES: &[&str] = &[
        "type=bind,from=x,source=a,target=/t,readonly",
        "type=bind,target=/t,readwrite",
        "type=secret,id=a,required,env=X",
        "type=tmpfs,target=/t,size=1m",
        "type=cache,id=a,target=/t,sharing=locked,mode=0700,uid=1,gid=2",
        "type=ssh",
    ];

    #[test]
    fn options_a_type_does_not_use_are_refused() {
        for (spec, key) in [
            ("type=cache,target=/c,env=X", "env"),
            ("type=bind,target=/b,env=X", "env"),
            ("type=tmpfs,target=/t,from=x", "from"),
            ("type=tmpfs,target=/t,source=x", "source"),
            ("type=tmpfs,target=/t,id=x", "id"),
            ("type=bind,target=/b,id=x", "id"),
            ("type=secret,id=s,rw", "readwrite"),
            ("type=ssh,readwrite=true", "readwrite"),
            ("type=ssh,from=x", "from"),
        ] {
            assert!(
                matches!(parse_mount(spec, None), Err(MountError::KeyNotForType { key: k, .. }) if k == key),
                "{spec}"
            );
        }
        assert!(matches!(
            parse_mount("type=cache,target=/c,source=sub", None),
            Err(MountError::Invalid(_))
        ));
        for ok in [
            "type=secret,id=s,ro",
            "type=tmpfs,target=/t,ro",
            "type=cache,target=/c,from=x,source=s",
        ] {
            parse_mount(ok, None).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn the_option_tables_are_what_the_parser_accepts() {
        for option in MOUNT_OPTIONS {
            assert!(
                SAMPLES.iter().any(
                    |s| s.contains(&format!("{option}=")) || s.split(',').any(|f| f == *option)
                ),
                "no sample uses {option}"
            );
        }
        for kind in MOUNT_TYPES {
            assert!(SAMPLES.iter().any(|s| s.contains(&format!("type={kind}"))));
        }
        for spec in SAMPLES {
            parse_mount(spec, None).unwrap_or_else(|e| panic!("{spec}: {e}"));
            let bogus = format!("{spec},bogus=1");
            assert!(
                matches!(
                    parse_mount(&bogus, None),
                    Err(MountError::UnknownKey { .. })
                ),
                "{bogus}"
            );
        }
    }

    use super::*;

    fn p(s: &str) -> Result<Mount, MountError> {
        parse_mount(s, None)
    }

    #[test]
    fn bind_defaults_read_only() {
        let m = p("target=/src,from=builder,source=/out").unwrap();
        assert_eq!(m.kind, MountKind::Bind);
        assert!(m.read_only);
        assert_eq!(m.from.as_deref(), Some("builder"));
        assert!(!p("type=bind,target=/a,rw").unwrap().read_only);
        assert!(!p("type=bind,target=/a,readwrite=true").unwrap().read_only);
    }

    #[test]
    fn cache_defaults() {
        let m = p("type=cache,target=/root/.cache,sharing=locked,mode=0755,uid=1000").unwrap();
        assert_eq!(m.id.as_deref(), Some("/root/.cache"));
        assert!(!m.read_only);
        assert_eq!(
            (m.sharing, m.mode, m.uid),
            (Sharing::Locked, Some(0o755), Some(1000))
        );
    }

    #[test]
    fn secret_defaults() {
        let m = p("type=secret,id=npmrc").unwrap();
        assert_eq!(m.target, "/run/secrets/npmrc");
        assert!(m.read_only);
        let m = p("type=secret,id=tok,env=TOKEN,required").unwrap();
        assert_eq!(
            (m.target.as_str(), m.env.as_deref(), m.required),
            ("", Some("TOKEN"), true)
        );
        let m = p("type=secret,target=/etc/key.pem").unwrap();
        assert_eq!(m.id.as_deref(), Some("key.pem"));
        assert_eq!(
            p("type=secret").unwrap_err(),
            MountError::Invalid("one of source, target required".into())
        );
    }

    #[test]
    fn ssh_and_tmpfs() {
        let mut ms = vec![p("type=ssh").unwrap(), p("type=ssh,id=gh").unwrap()];
        default_ssh_targets(&mut ms);
        assert_eq!(ms[0].id.as_deref(), Some("default"));
        assert_eq!(ms[1].target, "/run/buildkit/ssh_agent.1");
        let m = p("type=tmpfs,target=/tmp,size=64m").unwrap();
        assert_eq!(m.size, Some(64 << 20));
    }

    #[test]
    fn errors() {
        assert_eq!(
            p("type=bind,target=/a,foo=bar").unwrap_err().to_string(),
            "unexpected key 'foo' in 'foo=bar'"
        );
        assert_eq!(
            p("type=nfs,target=/a").unwrap_err().to_string(),
            "unsupported mount type \"nfs\""
        );
        assert_eq!(
            p("type=bind,target=/a,mode=0700").unwrap_err(),
            MountError::FileInfoNotAllowed {
                key: "mode".into(),
                kind: MountKind::Bind
            }
        );
        assert_eq!(
            p("type=bind,target=/a,required").unwrap_err(),
            MountError::KeyNotForType {
                key: "required".into(),
                kind: MountKind::Bind
            }
        );
        assert_eq!(
            p("type=bind,target=/a,sharing=locked").unwrap_err(),
            MountError::Invalid("invalid cache sharing set for bind mount".into())
        );
        assert_eq!(
            p("type=tmpfs,target=/a,size=lots").unwrap_err(),
            MountError::InvalidValue {
                key: "size".into(),
                value: "lots".into()
            }
        );
        assert_eq!(
            p("type=cache").unwrap_err(),
            MountError::Invalid("mount type cache requires a target".into())
        );
        assert_eq!(
            p("type=bind,target=/a,from=$STAGE").unwrap_err(),
            MountError::FromExpansion
        );
        assert_eq!(
            p("type=bind,target=/a,bogus").unwrap_err(),
            MountError::NotKeyValue {
                field: "bogus".into()
            }
        );
    }

    #[test]
    fn expansion_and_quoting() {
        let f = |v: &str| Ok::<_, ExpandError>(v.replace("$T", "/cache"));
        let m = parse_mount(
            "type=cache,target=$T,mode=$M",
            Some(&|v| {
                if v == "$M" {
                    Ok("0700".into())
                } else {
                    f(v)
                }
            }),
        )
        .unwrap();
        assert_eq!((m.target.as_str(), m.mode), ("/cache", Some(0o700)));
        assert_eq!(p("type=cache,target=$T,mode=$M").unwrap().mode, None);
        let m = p("\"type=bind,x\"").unwrap_err();
        assert!(m.to_string().contains("x"));
        let m = p("type=bind,\"target=/a,b\"").unwrap();
        assert_eq!(m.target, "/a,b");
    }
}
