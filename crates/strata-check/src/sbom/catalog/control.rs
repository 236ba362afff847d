//! Debian-control-style paragraphs (`Key: value`, continuation lines start with a blank,
//! paragraphs separated by empty lines): dpkg's status database. apk's database is the
//! same shape with one-letter keys and no continuations.

/// The paragraphs of `text`, each as its fields in order (continuations dropped: no
/// cataloger needs a multi-line value).
pub fn paragraphs(text: &str) -> Vec<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let mut current: Vec<(&str, &str)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            current.push((k.trim(), v.trim()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The value of `key` in a paragraph.
pub fn field<'a>(p: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}
