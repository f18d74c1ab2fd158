//! The console's pages, embedded in the binary at build time
//! (`include_str!` of `assets/`): one HTML page, its script and its style
//! sheet. No build step and nothing fetched from elsewhere.

use crate::metrics::HttpResponse;

const INDEX_HTML: &str = include_str!("assets/index.html");
const CONSOLE_JS: &str = include_str!("assets/console.js");
const CONSOLE_CSS: &str = include_str!("assets/console.css");

/// The asset named `name` (one `routes.rs` names).
pub fn response(name: &str) -> HttpResponse {
    let (content_type, body) = match name {
        "index.html" => ("text/html; charset=utf-8", INDEX_HTML),
        "console.js" => ("text/javascript; charset=utf-8", CONSOLE_JS),
        "console.css" => ("text/css; charset=utf-8", CONSOLE_CSS),
        _ => ("text/plain; charset=utf-8", "not found\n"),
    };
    let status = if body == "not found\n" { 404 } else { 200 };
    HttpResponse::new(status, content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_and_the_page_loads_its_script() {
        for name in ["index.html", "console.js", "console.css"] {
            let r = response(name);
            assert_eq!(r.status, 200, "{name}");
            assert!(!r.body.is_empty(), "{name}");
        }
        assert!(INDEX_HTML.contains("console.js") && INDEX_HTML.contains("console.css"));
        assert_eq!(response("nope").status, 404);
    }
}
