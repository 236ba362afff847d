//! Who made a request, as authentication established it: set as a request extension by the
//! auth layer, read by access logs and events.

/// The authenticated user or robot account of a request (absent: anonymous).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The account name (`alice`, `robot$ci`).
    pub name: String,
}
