//! Package URLs (<https://github.com/package-url/purl-spec>): `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`.

/// Percent-encodes everything but unreserved characters (`A-Z a-z 0-9 . - _ ~`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes each `/`-separated segment of a name or namespace, keeping the slashes.
fn encode_segments(s: &str) -> String {
    s.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// `pkg:TYPE/[NAMESPACE/]NAME@VERSION[?k=v&…]`; qualifiers with an empty value are left
/// out, the others sorted by key as the spec asks.
pub fn make(
    purl_type: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{purl_type}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        out.push_str(&encode_segments(ns));
        out.push('/');
    }
    out.push_str(&encode_segments(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    let mut q: Vec<_> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort();
    for (i, (k, v)) in q.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_are_encoded_as_the_spec_shows() {
        assert_eq!(
            make(
                "deb",
                Some("debian"),
                "libc6",
                "2.36-9+deb12u4",
                &[("distro", "debian-12"), ("arch", "amd64")]
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            make("npm", Some("@types"), "node", "20.1.0", &[]),
            "pkg:npm/%40types/node@20.1.0"
        );
        assert_eq!(
            make(
                "golang",
                None,
                "github.com/docker/distribution",
                "v2.8.2+incompatible",
                &[]
            ),
            "pkg:golang/github.com/docker/distribution@v2.8.2%2Bincompatible"
        );
        assert_eq!(
            make("deb", Some("debian"), "x", "1:2.0", &[("arch", "")]),
            "pkg:deb/debian/x@1%3A2.0"
        );
    }
}
