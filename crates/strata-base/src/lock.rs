//! Lock files (filled in below).
