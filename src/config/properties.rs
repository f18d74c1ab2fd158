//! Java `.properties` syntax, read the way `java.util.Properties.load` reads
//! Kafka's `server.properties`, and `--override key=value` arguments.
//!
//! The rules: lines end at `\n`, `\r\n` or `\r`; leading blanks (space, tab,
//! form feed) are skipped; a line whose first character is `#` or `!` is a
//! comment; a line ending in an odd number of backslashes continues on the
//! next line, whose leading blanks are dropped. The key runs to the first
//! unescaped `=`, `:` or blank; then blanks, at most one `=` or `:`, and more
//! blanks are skipped; the rest is the value, trailing blanks included. In keys
//! and values `\t \n \r \f` and `\uXXXX` are escapes and any other `\c` is `c`.
//! A repeated key keeps its last value. Values are kept raw; trimming is the
//! typed reader's job, as in Kafka.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ConfigError;

/// Turns file bytes into text: UTF-8 when valid, else ISO-8859-1 (what Java's
/// `Properties.load(InputStream)`, and so Kafka, reads).
pub(super) fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => err.into_bytes().into_iter().map(char::from).collect(),
    }
}

/// Parses properties text; `path` only names the source in errors.
pub(super) fn parse(text: &str, path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut map = BTreeMap::new();
    let mut logical = String::new();
    let mut first_line = 0;
    let mut continuing = false;
    for (index, line) in normalised.split('\n').enumerate() {
        let line = line.trim_start_matches(is_blank);
        if !continuing {
            if line.is_empty() || line.starts_with(['#', '!']) {
                continue;
            }
            first_line = index + 1;
        }
        let backslashes = line.chars().rev().take_while(|&c| c == '\\').count();
        if backslashes % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continuing = true;
            continue;
        }
        logical.push_str(line);
        continuing = false;
        insert_entry(&mut map, &logical, path, first_line)?;
        logical.clear();
    }
    if continuing {
        insert_entry(&mut map, &logical, path, first_line)?;
    }
    Ok(map)
}

/// Applies one `--override key=value` (split at the first `=`; the value may
/// be empty or contain `=`).
pub(super) fn apply_override(
    map: &mut BTreeMap<String, String>,
    arg: &str,
) -> Result<(), ConfigError> {
    let malformed = |reason: &str| ConfigError::Override {
        arg: arg.to_string(),
        reason: reason.to_string(),
    };
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| malformed("expected key=value"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(malformed("the key before '=' is empty"));
    }
    map.insert(key.to_string(), value.to_string());
    Ok(())
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn insert_entry(
    map: &mut BTreeMap<String, String>,
    logical: &str,
    path: &Path,
    line: usize,
) -> Result<(), ConfigError> {
    let (key, value) = split_entry(logical);
    let syntax = |reason: String| ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let key = unescape(key).map_err(syntax)?;
    let value = unescape(value).map_err(syntax)?;
    map.insert(key, value);
    Ok(())
}

/// Splits a logical line (leading blanks gone) into raw key and raw value.
fn split_entry(logical: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = logical.len();
    let mut has_separator = false;
    for (at, c) in logical.char_indices() {
        if !escaped && (c == '=' || c == ':') {
            key_end = at;
            has_separator = true;
            break;
        }
        if !escaped && is_blank(c) {
            key_end = at;
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    let key = &logical[..key_end];
    let mut rest = logical[key_end..].chars();
    if key_end < logical.len() {
        rest.next(); // the separator or blank that ended the key
    }
    let mut value = rest.as_str().trim_start_matches(is_blank);
    if !has_separator && let Some(after) = value.strip_prefix(['=', ':']) {
        value = after.trim_start_matches(is_blank);
    }
    (key, value)
}

/// Resolves escapes. Works in UTF-16 units so that `\uD83D\uDE00` pairs join
/// into one character, as in Java.
fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut units: Vec<u16> = Vec::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
            continue;
        }
        let escaped = match chars.next() {
            None => break, // a lone trailing backslash is dropped
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u16::from_str_radix(&hex, 16) {
                    Ok(unit) if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) => {
                        units.push(unit);
                        continue;
                    }
                    _ => return Err(format!("malformed \\uXXXX escape \"\\u{hex}\"")),
                }
            }
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('f') => '\u{c}',
            Some(other) => other,
        };
        let mut buf = [0u16; 2];
        units.extend_from_slice(escaped.encode_utf16(&mut buf));
    }
    String::from_utf16(&units).map_err(|_| "unpaired UTF-16 surrogate in a \\u escape".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> BTreeMap<String, String> {
        parse(text, Path::new("test.properties")).expect("parses")
    }

    fn get<'m>(map: &'m BTreeMap<String, String>, key: &str) -> &'m str {
        map.get(key).map(String::as_str).unwrap_or("<absent>")
    }

    #[test]
    fn separators_equals_colon_and_blank() {
        let map = props("a=1\nb: 2\nc 3\nd\t=\t4\ne :5\nf = = 6\ng==7\n");
        assert_eq!(get(&map, "a"), "1");
        assert_eq!(get(&map, "b"), "2");
        assert_eq!(get(&map, "c"), "3");
        assert_eq!(get(&map, "d"), "4");
        assert_eq!(get(&map, "e"), "5");
        assert_eq!(get(&map, "f"), "= 6");
        assert_eq!(get(&map, "g"), "=7");
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let map = props(
            "# comment\n! also a comment\n   # indented comment\n\n \t \nkey=value # not a comment\n",
        );
        assert_eq!(map.len(), 1);
        assert_eq!(get(&map, "key"), "value # not a comment");
    }

    #[test]
    fn leading_blanks_skipped_trailing_blanks_kept() {
        let map = props("   \t key = value  \n");
        assert_eq!(get(&map, "key"), "value  ");
    }

    #[test]
    fn key_without_value_and_empty_value() {
        let map = props("alone\nempty=\nspaced =   \n");
        assert_eq!(get(&map, "alone"), "");
        assert_eq!(get(&map, "empty"), "");
        assert_eq!(get(&map, "spaced"), "");
    }

    #[test]
    fn line_continuation_drops_next_leading_blanks() {
        let map = props("listeners=PLAINTEXT://a:1,\\\n      PLAINTEXT2://b:2\nnext=x\n");
        assert_eq!(get(&map, "listeners"), "PLAINTEXT://a:1,PLAINTEXT2://b:2");
        assert_eq!(get(&map, "next"), "x");
    }

    #[test]
    fn continuation_line_may_start_with_comment_char() {
        let map = props("a=1\\\n#2\n");
        assert_eq!(get(&map, "a"), "1#2");
    }

    #[test]
    fn comment_lines_do_not_continue() {
        let map = props("# comment \\\nkey=value\n");
        assert_eq!(get(&map, "key"), "value");
    }

    #[test]
    fn blank_line_ends_a_continuation_and_eof_too() {
        let map = props("a=1\\\n\nb=2\\");
        assert_eq!(get(&map, "a"), "1");
        assert_eq!(get(&map, "b"), "2");
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        let map = props("path=c:\\\\\nnext=1\n");
        assert_eq!(get(&map, "path"), "c:\\");
        assert_eq!(get(&map, "next"), "1");
    }

    #[test]
    fn escapes_in_keys_and_values() {
        let map = props(
            "my\\:key\\=x\\ y = a\\tb\\nc\\\\d\\:e\\=f\\q\nlead=\\  spaced\nuni=caf\\u00e9 \\u2603\nsmile=\\uD83D\\uDE00\n",
        );
        assert_eq!(get(&map, "my:key=x y"), "a\tb\nc\\d:e=fq");
        assert_eq!(get(&map, "lead"), "  spaced");
        assert_eq!(get(&map, "uni"), "café ☃");
        assert_eq!(get(&map, "smile"), "😀");
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        let map = props("a=1\r\nb=2\rc=3\\\r\n  4\r\n");
        assert_eq!(get(&map, "a"), "1");
        assert_eq!(get(&map, "b"), "2");
        assert_eq!(get(&map, "c"), "34");
    }

    #[test]
    fn last_duplicate_wins() {
        let map = props("a=1\na=2\n");
        assert_eq!(get(&map, "a"), "2");
    }

    #[test]
    fn malformed_unicode_escape_names_the_line() {
        let err = parse("ok=1\n\nbad=\\u12G4\n", Path::new("server.properties")).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ConfigError::Syntax { line: 3, .. }), "{text}");
        assert!(text.starts_with("server.properties:3:"), "{text}");
        let err = parse("short=\\u12", Path::new("p")).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { line: 1, .. }));
        let err = parse("lone=\\uD83D", Path::new("p")).unwrap_err();
        assert!(err.to_string().contains("surrogate"));
    }

    #[test]
    fn latin1_fallback_when_not_utf8() {
        assert_eq!(decode(b"k=caf\xe9".to_vec()), "k=café");
        assert_eq!(decode("k=café".as_bytes().to_vec()), "k=café");
    }

    #[test]
    fn overrides_split_at_first_equals() {
        let mut map = BTreeMap::new();
        apply_override(&mut map, "a=1").unwrap();
        apply_override(&mut map, " b =x=y").unwrap();
        apply_override(&mut map, "c=").unwrap();
        assert_eq!(get(&map, "a"), "1");
        assert_eq!(get(&map, "b"), "x=y");
        assert_eq!(get(&map, "c"), "");
    }

    #[test]
    fn malformed_overrides_are_named() {
        let mut map = BTreeMap::new();
        for arg in ["novalue", "=1", "  =2"] {
            let err = apply_override(&mut map, arg).unwrap_err();
            assert!(matches!(&err, ConfigError::Override { arg: a, .. } if a == arg));
            assert!(err.to_string().contains(&format!("{arg:?}")), "{err}");
        }
    }
}
