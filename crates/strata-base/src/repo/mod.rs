//! Debian archive client (filled in below).
