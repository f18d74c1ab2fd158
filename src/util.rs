//! Small helpers with no better home: wall-clock milliseconds, and the
//! syntax of an HTTP listener address (`metrics.listener`), which the
//! broker's config reads and the console reads from other brokers.

/// Milliseconds since the Unix epoch, as Kafka timestamps are.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Splits an HTTP listener address, `host:port` or `http://host:port`,
/// either with a trailing `/` or `/metrics`, into its host (as written; IPv6
/// in brackets, empty for every interface) and port; `Err` says why not.
pub fn split_http_address(value: &str) -> Result<(&str, u16), String> {
    let trimmed = value.trim();
    let rest = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "unsupported scheme {scheme:?}; use http://host:port"
            ));
        }
        None => trimmed,
    };
    let authority = rest
        .strip_suffix("/metrics")
        .or_else(|| rest.strip_suffix('/'))
        .unwrap_or(rest);
    if authority.contains('/') {
        return Err("the endpoint serves only /metrics; give host:port".to_string());
    }
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err("expected host:port".to_string());
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("port {port:?} is not 0-65535"))?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if !bracketed && host.contains(':') {
        return Err("write IPv6 hosts in brackets".to_string());
    }
    if host.chars().any(|c| c.is_whitespace()) {
        return Err("the host contains whitespace".to_string());
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::split_http_address;

    #[test]
    fn http_addresses_split_into_host_and_port() {
        assert_eq!(split_http_address("h:1"), Ok(("h", 1)));
        assert_eq!(
            split_http_address(" HTTP://[::1]:9308/metrics "),
            Ok(("[::1]", 9308))
        );
        assert_eq!(split_http_address("http://h:2/"), Ok(("h", 2)));
        assert_eq!(split_http_address(":3"), Ok(("", 3)));
        // The other refused forms: config/metrics_listener.rs's test.
        assert!(split_http_address("a b:1").is_err());
    }
}
