//! Plain HTTP(S) GETs from Debian mirrors (blocking `ureq`, as the rest of the workspace), with
//! a few retries on transport errors.

use std::io::Read;
use std::time::Duration;

use super::RepoError;

/// A shared agent: connection reuse across the many `.deb` downloads.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                .timeout_read(Duration::from_secs(60))
                .redirects(5)
                .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
                .build(),
        }
    }
}

impl Http {
    /// GETs `url`: `Ok(None)` on 404/410 (a file the mirror does not have), the body reader
    /// otherwise.
    pub fn get(&self, url: &str) -> Result<Option<Box<dyn Read + Send>>, RepoError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.agent.get(url).call() {
                Ok(resp) => return Ok(Some(resp.into_reader())),
                Err(ureq::Error::Status(404 | 410, _)) => return Ok(None),
                Err(ureq::Error::Status(status, _)) if status >= 500 && attempt < 3 => {}
                Err(ureq::Error::Status(status, _)) => {
                    return Err(RepoError::Status {
                        url: url.to_owned(),
                        status,
                    })
                }
                Err(ureq::Error::Transport(t)) if attempt < 3 => {
                    tracing::debug!(url, error = %t, "retrying");
                }
                Err(ureq::Error::Transport(t)) => {
                    return Err(RepoError::Transport {
                        url: url.to_owned(),
                        source: Box::new(t),
                    })
                }
            }
            std::thread::sleep(Duration::from_millis(200 * attempt));
        }
    }

    /// GETs `url` whole into memory (Release files, indices); `None` on 404.
    pub fn get_bytes(&self, url: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let Some(mut reader) = self.get(url)? else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        reader
            .read_to_end(&mut buf)
            .map_err(|source| RepoError::Read {
                url: url.to_owned(),
                source,
            })?;
        Ok(Some(buf))
    }
}
