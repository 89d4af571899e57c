//! A linear-time check in front of the YAML parser: flow collections (`[…]`, `{…}`, and so
//! JSON) nested deeper than the parser accepts are refused before it sees them.
//!
//! libyaml's scanner, under serde_yaml_ng, does work proportional to the current flow depth for
//! every token, and the whole document is scanned before the deserialiser's own depth limit
//! applies. A payload document of a few hundred kilobytes of nested brackets (an
//! `image-references` or an operator manifest, both written by others) would otherwise keep a
//! thread busy for many minutes. The deserialiser refuses nesting deeper than
//! [`MAX_FLOW_DEPTH`] anyway, so refusing it first changes no outcome, only its cost.
//!
//! Brackets count only where a node can start (at the start of a line, after `- `, `? `, `: `,
//! or after `[`, `{` and `,` inside a flow collection); quoted scalars, comments and block
//! scalars are skipped. A bracket inside a plain scalar is therefore not counted, and nothing
//! here parses YAML: an over-count would need a document that the parser rejects too.

/// Deepest flow nesting accepted: serde_yaml_ng's recursion limit.
pub(crate) const MAX_FLOW_DEPTH: usize = 128;

/// Fails, saying where, when `data` nests flow collections deeper than [`MAX_FLOW_DEPTH`].
pub(crate) fn check(data: &[u8]) -> Result<(), String> {
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut i = 0;
    // Indentation of the current line, and whether only indentation was seen on it so far.
    let mut indent = 0usize;
    let mut line_start = true;
    // The last significant byte on this line, and whether blanks followed it.
    let mut prev: Option<u8> = None;
    let mut blank_after_prev = false;
    // Inside a block scalar: lines indented more than this belong to it.
    let mut block_scalar: Option<usize> = None;
    while i < data.len() {
        let c = data[i];
        if line_start {
            if c == b' ' {
                indent += 1;
                i += 1;
                continue;
            }
            if let Some(parent) = block_scalar {
                // A blank line belongs to the scalar; its newline is handled below.
                if c != b'\n' {
                    if c == b'\r' || indent > parent {
                        i = skip_line(data, i);
                        continue;
                    }
                    block_scalar = None;
                }
            }
        }
        let node_start = match prev {
            None => true,
            Some(b'[' | b'{') => true,
            Some(b',') => depth > 0,
            Some(b'-' | b'?') => blank_after_prev,
            Some(b':') => blank_after_prev || depth > 0,
            Some(_) => false,
        };
        match c {
            b'\n' => {
                line += 1;
                indent = 0;
                line_start = true;
                prev = None;
                blank_after_prev = false;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                blank_after_prev = true;
                i += 1;
                continue;
            }
            b'#' if prev.is_none() || blank_after_prev => {
                i = skip_line(data, i);
                continue;
            }
            b'"' | b'\'' if node_start => {
                let (end, lines) = skip_quoted(data, i);
                line += lines;
                i = end;
                // A quoted key may be followed directly by `:` (JSON style).
                prev = Some(b'"');
                blank_after_prev = false;
                line_start = false;
                continue;
            }
            b'|' | b'>' if node_start && depth == 0 => {
                block_scalar = Some(indent);
                i = skip_line(data, i);
                continue;
            }
            b'[' | b'{' if node_start => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(format!(
                        "flow collections nested deeper than {MAX_FLOW_DEPTH} levels at line {line}"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b':' if prev == Some(b'"') => {
                // `"key":` — the value may start right after.
                prev = Some(b':');
                blank_after_prev = true;
                line_start = false;
                i += 1;
                continue;
            }
            // Part of a plain scalar: opens nothing, and nothing after it starts a node.
            b'[' | b'{' => {
                prev = Some(b'.');
                blank_after_prev = false;
                line_start = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        prev = Some(c);
        blank_after_prev = false;
        line_start = false;
        i += 1;
    }
    Ok(())
}

/// The index of the newline ending the line that `i` is on (or the end of `data`).
fn skip_line(data: &[u8], i: usize) -> usize {
    data[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |n| i + n)
}

/// Skips the quoted scalar opening at `start`; returns the index after it and the newlines in it.
fn skip_quoted(data: &[u8], start: usize) -> (usize, usize) {
    let quote = data[start];
    let mut lines = 0;
    let mut i = start + 1;
    while i < data.len() {
        match data[i] {
            b'\n' => lines += 1,
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && data.get(i + 1) == Some(&b'\'') => i += 1,
            b if b == quote => return (i + 1, lines),
            _ => {}
        }
        i += 1;
    }
    (data.len(), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser_accepts(doc: &str) -> bool {
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(doc).is_ok()
    }

    #[test]
    fn refuses_deep_flow_nesting_in_linear_time() {
        for doc in [
            "[".repeat(200_000),
            "a: {".repeat(100_000),
            format!("{{\"kind\":{}", "[".repeat(100_000)),
            format!("x:\n  - {}", "[".repeat(129)),
        ] {
            let err = check(doc.as_bytes()).unwrap_err();
            assert!(err.contains("deeper than 128"), "{err}");
        }
        let at_limit = "[".repeat(MAX_FLOW_DEPTH) + &"]".repeat(MAX_FLOW_DEPTH);
        assert!(check(at_limit.as_bytes()).is_ok());
        let over = "[".repeat(MAX_FLOW_DEPTH + 1) + &"]".repeat(MAX_FLOW_DEPTH + 1);
        assert!(check(over.as_bytes()).is_err());
        assert!(
            !parser_accepts(&over),
            "the parser refuses what the check refuses"
        );
    }

    #[test]
    fn brackets_that_open_nothing_are_not_counted() {
        let many = "[".repeat(300);
        for doc in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: 'it''s {many}'\n"),
            format!("a: \"\\\"{many}\"\n"),
            format!("# {many}\nkind: x\n"),
            format!("a: b # {many}\n"),
            format!("a: text{many}\n"),
            format!("a: x-{many}\n"),
            format!("a: |\n  {many}\n\n  {many}\nb: c\n"),
            format!("- >-\n    {many}\n- x\n"),
            format!("{{\"a\": \"{many}\", \"b\": [1, 2]}}"),
        ] {
            assert!(check(doc.as_bytes()).is_ok(), "{doc}");
            assert!(parser_accepts(&doc), "{doc}");
        }
    }

    #[test]
    fn counts_nesting_in_every_node_position() {
        let n = MAX_FLOW_DEPTH + 1;
        let seq = "[".repeat(n) + "x" + &"]".repeat(n);
        let map = "{a: ".repeat(n) + "x" + &"}".repeat(n);
        for doc in [
            format!("a: {seq}"),
            format!("- {map}"),
            format!("? {seq}\n: v"),
            format!("{{\"a\":{seq}}}"),
            format!("[1, {seq}]"),
            format!("k: v\nlist:\n  - x\n  - {seq}"),
            format!("a: |\n  text\nb: {seq}"),
        ] {
            assert!(check(doc.as_bytes()).is_err(), "{doc}");
            assert!(!parser_accepts(&doc), "{doc}");
        }
    }
}
