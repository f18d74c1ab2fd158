//! `metrics.listener`: where the Prometheus endpoint listens. Accepted forms:
//! `host:port`, `http://host:port`, either with a trailing `/` or `/metrics`
//! (the endpoint's only path); IPv6 hosts in brackets (`[::1]:9308`). The
//! value is normalised to `host:port` (port 0 picks a free port); an empty
//! host means every interface. Anything else fails at start naming the key.

use super::error::{ConfigError, invalid};
use crate::util::split_http_address;

pub(super) const KEY: &str = "metrics.listener";

/// The `host:port` to bind.
pub(super) fn parse(value: &str) -> Result<String, ConfigError> {
    let (host, port) = split_http_address(value).map_err(|why| invalid(KEY, value, why))?;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("127.0.0.1:9308").unwrap(), "127.0.0.1:9308");
        assert_eq!(parse("http://127.0.0.1:9308").unwrap(), "127.0.0.1:9308");
        assert_eq!(
            parse("http://localhost:9308/metrics").unwrap(),
            "localhost:9308"
        );
        assert_eq!(parse("HTTP://[::1]:0/").unwrap(), "[::1]:0");
        assert_eq!(parse(":9308").unwrap(), "0.0.0.0:9308");
    }

    #[test]
    fn refused_forms_name_the_key() {
        for bad in [
            "9308",
            "https://h:1",
            "h:70000",
            "h:x",
            "http://h:1/other",
            "::1:9308",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.key(), Some("metrics.listener"), "{bad}");
        }
    }
}
