//! `COPY/ADD --chmod`: an octal mode or a symbolic one (`u=rwx,g=rx,o=`, `+x`, `go-w`), as
//! BuildKit v0.24 accepts them.
//!
//! frontend/dockerfile/dockerfile2llb/convert.go `dispatchCopy` tries `ParseUint(v, 8, 32)`
//! first (at most `07777`), else `mode.Parse` of vendor/github.com/tonistiigi/dchapes-mode
//! (BSD `setmode(3)`, umask 0). fsutil's copier (vendor/github.com/tonistiigi/fsutil/copy/
//! copy_linux.go `copyFileInfo`) then sets an octal mode as it is, and applies a symbolic one
//! to each copied file's own mode (`X` counts directories and files with an x bit). This is a
//! port of `ParseWithUmask`, `addcmd`, `compress` and `Set.Apply`.

const IS_UID: u16 = 0o4000;
const IS_GID: u16 = 0o2000;
const IS_TXT: u16 = 0o1000;
const RWXU: u16 = 0o700;
const RWXG: u16 = 0o070;
const RWXO: u16 = 0o007;
const R_ALL: u16 = 0o444;
const W_ALL: u16 = 0o222;
const X_ALL: u16 = 0o111;
const STANDARD: u16 = IS_UID | IS_GID | RWXU | RWXG | RWXO;

const CLEAR: u8 = 1;
const SET: u8 = 2;
const G_BITS: u8 = 4;
const O_BITS: u8 = 8;
const U_BITS: u8 = 16;

/// Why a `--chmod` value is refused (the texts are BuildKit's).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChmodError {
    #[error(
        "invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
    )]
    NotOctal { value: String },
    #[error("invalid chmod parameter: '{value}': invalid syntax")]
    Syntax { value: String },
}

/// A parsed `--chmod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chmod {
    /// Set exactly these bits (`0o7777` mask).
    Octal(u32),
    /// Edit each file's own mode.
    Symbolic(Vec<BitCmd>),
}

/// One command of a symbolic mode (dchapes-mode's `bitcmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitCmd {
    cmd: u8,
    cmd2: u8,
    bits: u16,
}

impl Chmod {
    /// Parses a `--chmod` value; an empty value is not a mode (BuildKit ignores `--chmod=`).
    pub fn parse(value: &str) -> Result<Chmod, ChmodError> {
        let not_octal = || ChmodError::NotOctal {
            value: value.to_owned(),
        };
        if value.starts_with(|c: char| c.is_ascii_digit()) {
            // ParseUint(v, 8, 32) failed or exceeded 07777: mode.Parse's ParseInt fails the
            // same way, and BuildKit reports that as not octal.
            let m = u32::from_str_radix(value, 8).map_err(|_| not_octal())?;
            return if m <= 0o7777 {
                Ok(Chmod::Octal(m))
            } else {
                Err(not_octal())
            };
        }
        parse_symbolic(value.as_bytes())
            .map(Chmod::Symbolic)
            .ok_or_else(|| ChmodError::Syntax {
                value: value.to_owned(),
            })
    }

    /// The mode a copied file or directory whose own mode is `mode` ends up with.
    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            Chmod::Octal(m) => *m,
            Chmod::Symbolic(cmds) => u32::from(apply(cmds, (mode & 0o7777) as u16, is_dir)),
        }
    }

    /// The mode of directories the copy creates for its destination: fsutil's `MkdirAll` with
    /// the octal mode (permission bits only: Go's `os.Mkdir` drops raw setuid/setgid/sticky;
    /// buildkitd's umask is 0), else 0755 (copy.go `Copy`/`prepareTargetDir`).
    pub fn created_dir_mode(chmod: Option<&Chmod>) -> u32 {
        match chmod {
            Some(Chmod::Octal(m)) => m & 0o777,
            _ => 0o755,
        }
    }
}

/// `ParseWithUmask(s, 0)` for a value that does not start with a digit.
fn parse_symbolic(mut s: &[u8]) -> Option<Vec<BitCmd>> {
    let mut cmds = Vec::new();
    loop {
        let mut who = 0u16;
        while let Some(&c) = s.first() {
            match c {
                b'a' => who |= STANDARD,
                b'u' => who |= IS_UID | RWXU,
                b'g' => who |= IS_GID | RWXG,
                b'o' => who |= RWXO,
                _ => break,
            }
            s = &s[1..];
        }
        if s.is_empty() {
            return None;
        }
        loop {
            let op = s[0];
            s = &s[1..];
            if !matches!(op, b'+' | b'-' | b'=') {
                return None;
            }
            s = parse_perms(s, op, &mut who, &mut cmds);
            if s.is_empty() || s[0] == b',' {
                break;
            }
        }
        if s.is_empty() {
            break;
        }
        s = &s[1..];
    }
    Some(compress(cmds))
}

/// The permission letters after one operator (`permLoop`); returns the rest of the input.
fn parse_perms<'s>(mut s: &'s [u8], op: u8, who: &mut u16, cmds: &mut Vec<BitCmd>) -> &'s [u8] {
    *who &= !IS_TXT;
    let (mut perm, mut perm_x, mut equal_done) = (0u16, 0u16, false);
    loop {
        match s.first().copied() {
            Some(b'r') => perm |= R_ALL,
            Some(b's') if *who == 0 || *who & !RWXO != 0 => perm |= IS_UID | IS_GID,
            Some(b't') if *who == 0 || *who & !RWXO != 0 => {
                *who |= IS_TXT;
                perm |= IS_TXT;
            }
            Some(b's' | b't') => {}
            Some(b'w') => perm |= W_ALL,
            Some(b'X') if op != b'-' => perm_x = X_ALL,
            Some(b'X' | b'x') => perm |= X_ALL,
            Some(c @ (b'u' | b'g' | b'o')) => {
                if perm != 0 {
                    add_cmd(cmds, op, *who, perm);
                    perm = 0;
                }
                if op == b'=' {
                    equal_done = true;
                }
                if perm_x != 0 {
                    add_cmd(cmds, b'X', *who, perm_x);
                    perm_x = 0;
                }
                add_cmd(cmds, c, *who, u16::from(op));
            }
            _ => {
                if perm != 0 || (op == b'=' && !equal_done) {
                    add_cmd(cmds, op, *who, perm);
                }
                if perm_x != 0 {
                    add_cmd(cmds, b'X', *who, perm_x);
                }
                return s;
            }
        }
        s = &s[1..];
    }
}

/// `addcmd` with mask = all bits (umask 0).
fn add_cmd(cmds: &mut Vec<BitCmd>, op: u8, who: u16, oparg: u16) {
    let mut c = BitCmd {
        cmd: op,
        cmd2: 0,
        bits: 0,
    };
    match op {
        b'=' | b'+' | b'-' | b'X' => {
            if op == b'=' {
                let bits = if who != 0 { who } else { STANDARD };
                cmds.push(BitCmd {
                    cmd: b'-',
                    cmd2: 0,
                    bits,
                });
                c.cmd = b'+';
            }
            c.bits = if who != 0 { who & oparg } else { oparg };
        }
        _ => {
            if who != 0 {
                c.cmd2 |= if who & 0o400 != 0 { U_BITS } else { 0 };
                c.cmd2 |= if who & 0o040 != 0 { G_BITS } else { 0 };
                c.cmd2 |= if who & 0o004 != 0 { O_BITS } else { 0 };
            } else {
                c.cmd2 = U_BITS | G_BITS | O_BITS;
            }
            c.bits = u16::MAX;
            c.cmd2 |= match oparg as u8 {
                b'+' => SET,
                b'-' => CLEAR,
                _ => SET | CLEAR,
            };
        }
    }
    cmds.push(c);
}

/// `compress`: runs of `+`, `-` and `X` merged into at most one of each.
fn compress(cmds: Vec<BitCmd>) -> Vec<BitCmd> {
    let mut out = Vec::with_capacity(cmds.len());
    let mut i = 0;
    while i < cmds.len() {
        if !b"+-X".contains(&cmds[i].cmd) {
            out.push(cmds[i]);
            i += 1;
            continue;
        }
        let (mut set, mut clr, mut x) = (0u16, 0u16, 0u16);
        while let Some(c) = cmds.get(i).filter(|c| b"+-X".contains(&c.cmd)) {
            match c.cmd {
                b'-' => {
                    clr |= c.bits;
                    set &= !c.bits;
                    x &= !c.bits;
                }
                b'+' => {
                    set |= c.bits;
                    clr &= !c.bits;
                    x &= !c.bits;
                }
                _ => x |= c.bits & !set,
            }
            i += 1;
        }
        for (cmd, bits) in [(b'-', clr), (b'+', set), (b'X', x)] {
            if bits != 0 {
                out.push(BitCmd { cmd, cmd2: 0, bits });
            }
        }
    }
    out
}

/// `Set.Apply` on permission bits (with setuid/setgid/sticky).
fn apply(cmds: &[BitCmd], old: u16, is_dir: bool) -> u16 {
    let mut new = old;
    for c in cmds {
        match c.cmd {
            b'u' => new = copy_bits(c, new, (new & RWXU) >> 6),
            b'g' => new = copy_bits(c, new, (new & RWXG) >> 3),
            b'o' => new = copy_bits(c, new, new & RWXO),
            b'+' => new |= c.bits,
            b'-' => new &= !c.bits,
            b'X' if old & X_ALL != 0 || is_dir => new |= c.bits,
            _ => {}
        }
    }
    new & 0o7777
}

/// The `common` closure of `Set.Apply`: `o=u`-style copies of one class's bits.
fn copy_bits(c: &BitCmd, mut new: u16, value: u16) -> u16 {
    let classes = [(U_BITS, 6), (G_BITS, 3), (O_BITS, 0)];
    if c.cmd2 & CLEAR != 0 {
        let clr = if c.cmd2 & SET != 0 { RWXO } else { value };
        for (flag, shift) in classes {
            if c.cmd2 & flag != 0 {
                new &= !((clr << shift) & c.bits);
            }
        }
    }
    if c.cmd2 & SET != 0 {
        for (flag, shift) in classes {
            if c.cmd2 & flag != 0 {
                new |= (value << shift) & c.bits;
            }
        }
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(v: &str, mode: u32, is_dir: bool) -> u32 {
        Chmod::parse(v).unwrap().apply(mode, is_dir)
    }

    /// The modes BuildKit v0.24 gave the same sources (a 0640 file, a 0755 file, a 0700
    /// directory) through vendor/github.com/tonistiigi/dchapes-mode/mode.go `Set.Apply`.
    #[test]
    fn chmod_symbolic_modes_as_buildkit() {
        let cases = [
            ("u=rwx,g=rx,o=", 0o640, 0o750),
            ("+x", 0o640, 0o751),
            ("a+r", 0o640, 0o644),
            ("go-w", 0o755, 0o755),
            ("go-w", 0o666, 0o644),
            ("a+X", 0o640, 0o640),
            ("a+X", 0o755, 0o755),
            ("u+s,g+s", 0o640, 0o6640),
            ("+t", 0o640, 0o1640),
            ("o=u", 0o640, 0o646),
            ("g=u-w", 0o640, 0o640),
            ("u=rw,go=r", 0o640, 0o644),
            ("a=", 0o640, 0),
            ("=", 0o640, 0),
            ("-x", 0o640, 0o640),
            ("g+w", 0o644, 0o664),
            ("u-s", 0o4755, 0o755),
        ];
        for (v, from, want) in cases {
            assert_eq!(sym(v, from, false), want, "{v} on {from:o}");
        }
        assert_eq!(sym("go+rX", 0o700, true), 0o755, "X on a directory");
        assert_eq!(sym("go+rX", 0o600, false), 0o644, "X on a file without x");
    }

    #[test]
    fn chmod_octal_is_exact() {
        assert_eq!(Chmod::parse("755").unwrap(), Chmod::Octal(0o755));
        assert_eq!(Chmod::parse("4755").unwrap().apply(0o600, false), 0o4755);
        assert_eq!(Chmod::created_dir_mode(Some(&Chmod::Octal(0o4700))), 0o700);
        assert_eq!(
            Chmod::created_dir_mode(Some(&Chmod::parse("u+x").unwrap())),
            0o755
        );
        assert_eq!(Chmod::created_dir_mode(None), 0o755);
    }

    /// BuildKit's errors for the same values (convert.go `dispatchCopy`).
    #[test]
    fn chmod_bad_values_are_refused_as_buildkit() {
        for v in ["99999", "17777", "8", "0x7"] {
            assert_eq!(
                Chmod::parse(v),
                Err(ChmodError::NotOctal { value: v.into() }),
                "{v}"
            );
        }
        for v in ["u+z", "u", ",u+x", "u+x,", "+755", "a"] {
            assert_eq!(
                Chmod::parse(v),
                Err(ChmodError::Syntax { value: v.into() }),
                "{v}"
            );
        }
    }
}
