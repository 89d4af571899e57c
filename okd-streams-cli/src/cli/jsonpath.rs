//! `-o jsonpath=TEMPLATE`: the Kubernetes JSONPath templates `oc` and `kubectl` print with.
//!
//! No maintained crate implements Kubernetes' template syntax (text with `{…}` actions,
//! `{range}…{end}`), which differs from RFC 9535 JSONPath; this is the subset scripts use:
//!
//! * text outside braces is printed as it is; `{"\n"}` (a quoted string) prints the string;
//! * `{.a.b}`, `{$.a}`, `{@.a}`; `{.metadata.annotations.release\.openshift\.io/x}` or
//!   `{.metadata.annotations['release.openshift.io/x']}` for keys with dots;
//! * `[*]` and `.*` (every element or value), `[n]` and `[-n]`, `[a:b]` slices, `..name`
//!   (every `name` at any depth);
//! * filters `[?(@.name=="cli")]` with `==`, `!=`, `<`, `>`, `<=`, `>=` against a string or
//!   number, and `[?(@.field)]` (the field exists);
//! * `{range EXPR}…{end}`, in which `.x` and `@` are the current element.
//!
//! As in `oc`, a missing key prints nothing, several results of one action are separated by
//! spaces, strings print bare, objects and lists as compact JSON with sorted keys, numbers as
//! Go's `%v` prints them (`1.51043186e+08`), and `null` as `<nil>`.

use serde_json::Value;

use okd_release::gojson::{go_sprint, to_string_compact};

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(Vec<Node>);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Path(Path),
    Range(Path, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
struct Path {
    from_root: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    All,
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Descend(String),
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Path,
    test: Option<(String, Value)>,
}

/// Why a template does not parse.
fn invalid(template: &str, reason: impl std::fmt::Display) -> String {
    format!("invalid jsonpath template {template:?}: {reason}")
}

impl Template {
    /// Parses `template`.
    pub fn parse(template: &str) -> Result<Template, String> {
        let mut actions = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                None => {
                    actions.push(Action::Text(rest.to_string()));
                    rest = "";
                }
                Some(open) => {
                    if open > 0 {
                        actions.push(Action::Text(rest[..open].to_string()));
                    }
                    let inner = &rest[open + 1..];
                    let close = find_close(inner)
                        .ok_or_else(|| invalid(template, "a `{` is never closed"))?;
                    actions.push(
                        Action::parse(inner[..close].trim()).map_err(|r| invalid(template, r))?,
                    );
                    rest = &inner[close + 1..];
                }
            }
        }
        let mut iter = actions.into_iter();
        let nodes = nest(&mut iter, false).map_err(|r| invalid(template, r))?;
        Ok(Template(nodes))
    }

    /// The text the template prints for `doc`.
    pub fn render(&self, doc: &Value) -> String {
        let mut out = String::new();
        render(&self.0, doc, doc, &mut out);
        out
    }
}

/// One `{…}` or stretch of text, before `range`/`end` are paired.
enum Action {
    Text(String),
    Path(Path),
    Range(Path),
    End,
}

impl Action {
    fn parse(inner: &str) -> Result<Action, String> {
        if inner == "end" {
            return Ok(Action::End);
        }
        if let Some(expr) = inner.strip_prefix("range ") {
            return Ok(Action::Range(parse_path(expr.trim())?));
        }
        if inner.starts_with('"') || inner.starts_with('\'') {
            return match parse_literal(inner)? {
                (Value::String(s), "") => Ok(Action::Text(s)),
                _ => Err(format!("{inner:?} is not one quoted string")),
            };
        }
        Ok(Action::Path(parse_path(inner)?))
    }
}

/// The position of the `}` closing an action, skipping quoted strings.
fn find_close(s: &str) -> Option<usize> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '}' => return Some(i),
            None => {}
        }
    }
    None
}

fn nest(actions: &mut impl Iterator<Item = Action>, in_range: bool) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    while let Some(a) = actions.next() {
        match a {
            Action::Text(t) => nodes.push(Node::Text(t)),
            Action::Path(p) => nodes.push(Node::Path(p)),
            Action::Range(p) => nodes.push(Node::Range(p, nest(actions, true)?)),
            Action::End if in_range => return Ok(nodes),
            Action::End => return Err("`{end}` without `{range}`".to_string()),
        }
    }
    if in_range {
        return Err("`{range}` without `{end}`".to_string());
    }
    Ok(nodes)
}

fn parse_path(expr: &str) -> Result<Path, String> {
    let (from_root, mut rest) = match expr.as_bytes().first() {
        Some(b'$') => (true, &expr[1..]),
        Some(b'@') => (false, &expr[1..]),
        Some(b'.') | Some(b'[') => (false, expr),
        _ => {
            return Err(format!(
                "{expr:?} is not a path (it starts with `.`, `$` or `@`)"
            ));
        }
    };
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("..") {
            let (name, next) = take_name(after);
            if name.is_empty() {
                return Err(format!("`..` needs a name in {expr:?}"));
            }
            steps.push(Step::Descend(name));
            rest = next;
        } else if let Some(after) = rest.strip_prefix('.') {
            if let Some(next) = after.strip_prefix('*') {
                steps.push(Step::All);
                rest = next;
                continue;
            }
            let (name, next) = take_name(after);
            if !name.is_empty() {
                steps.push(Step::Key(name));
            }
            rest = next;
        } else if let Some(after) = rest.strip_prefix('[') {
            let close = find_bracket_close(after)
                .ok_or_else(|| format!("a `[` is never closed in {expr:?}"))?;
            steps.push(parse_bracket(after[..close].trim())?);
            rest = &after[close + 1..];
        } else {
            return Err(format!("unexpected {rest:?} in {expr:?}"));
        }
    }
    Ok(Path { from_root, steps })
}

/// A key up to the next `.` or `[`, with `\.` standing for a dot in the key.
fn take_name(s: &str) -> (String, &str) {
    let mut name = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some((_, '.'))) => {
                name.push('.');
                chars.next();
            }
            '.' | '[' => return (name, &s[i..]),
            c => name.push(c),
        }
    }
    (name, "")
}

fn find_bracket_close(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ']') if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::All);
    }
    if inner.starts_with('\'') || inner.starts_with('"') {
        return match parse_literal(inner)? {
            (Value::String(s), "") => Ok(Step::Key(s)),
            _ => Err(format!("[{inner}] is not one quoted key")),
        };
    }
    if let Some(filter) = inner.strip_prefix('?') {
        let body = filter
            .trim()
            .strip_prefix('(')
            .and_then(|f| f.strip_suffix(')'))
            .ok_or_else(|| format!("the filter [{inner}] must be ?(…)"))?;
        return parse_filter(body.trim()).map(Step::Filter);
    }
    let int = |s: &str| -> Result<Option<i64>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse()
            .map(Some)
            .map_err(|_| format!("[{inner}] is not an index, a slice, `*`, a key or a filter"))
    };
    match inner.split_once(':') {
        Some((a, b)) => Ok(Step::Slice(int(a)?, int(b)?)),
        None => int(inner)?
            .map(Step::Index)
            .ok_or_else(|| "an empty `[]`".to_string()),
    }
}

const OPERATORS: [&str; 6] = ["==", "!=", "<=", ">=", "<", ">"];

fn parse_filter(body: &str) -> Result<Filter, String> {
    for op in OPERATORS {
        if let Some((left, right)) = body.split_once(op) {
            let right = right.trim();
            let value = match parse_literal(right) {
                Ok((v, "")) => v,
                _ => serde_json::from_str::<Value>(right)
                    .ok()
                    .filter(Value::is_number)
                    .ok_or_else(|| format!("{right:?} is not a quoted string or a number"))?,
            };
            return Ok(Filter {
                left: parse_path(left.trim())?,
                test: Some((op.to_string(), value)),
            });
        }
    }
    Ok(Filter {
        left: parse_path(body)?,
        test: None,
    })
}

/// A quoted string at the start of `s` (`"…"` with JSON escapes, or `'…'`), and what follows.
fn parse_literal(s: &str) -> Result<(Value, &str), String> {
    let quote = s.chars().next().ok_or("an empty literal")?;
    let body = &s[1..];
    let mut text = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((Value::String(text), body[i + 1..].trim())),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('n') => text.push('\n'),
                Some('t') => text.push('\t'),
                Some('r') => text.push('\r'),
                Some(e) => text.push(e),
                None => break,
            },
            c => text.push(c),
        }
    }
    Err(format!("{s:?} is not closed"))
}

fn render(nodes: &[Node], root: &Value, current: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Path(p) => {
                let texts: Vec<String> = select(p, root, current).into_iter().map(text).collect();
                out.push_str(&texts.join(" "));
            }
            Node::Range(p, body) => {
                for item in select(p, root, current) {
                    render(body, root, item, out);
                }
            }
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => to_string_compact(v).unwrap_or_default(),
        other => go_sprint(other),
    }
}

fn select<'v>(path: &Path, root: &'v Value, current: &'v Value) -> Vec<&'v Value> {
    let mut values = vec![if path.from_root { root } else { current }];
    for step in &path.steps {
        values = values
            .into_iter()
            .flat_map(|v| apply(step, root, v))
            .collect();
    }
    values
}

fn apply<'v>(step: &Step, root: &'v Value, v: &'v Value) -> Vec<&'v Value> {
    match (step, v) {
        (Step::Key(k), Value::Object(m)) => m.get(k).into_iter().collect(),
        (Step::All, Value::Object(m)) => m.values().collect(),
        (Step::All, Value::Array(a)) => a.iter().collect(),
        (Step::Index(i), Value::Array(a)) => {
            index(*i, a.len()).map(|i| &a[i]).into_iter().collect()
        }
        (Step::Slice(from, to), Value::Array(a)) => {
            let len = a.len();
            let start = from.map_or(0, |f| clamp(f, len));
            let end = to.map_or(len, |t| clamp(t, len));
            a.get(start..end.max(start))
                .unwrap_or_default()
                .iter()
                .collect()
        }
        (Step::Descend(k), _) => {
            let mut found = Vec::new();
            descend(k, v, &mut found);
            found
        }
        (Step::Filter(f), Value::Array(a)) => {
            a.iter().filter(|item| keeps(f, root, item)).collect()
        }
        _ => Vec::new(),
    }
}

fn index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    usize::try_from(i).ok().filter(|i| *i < len)
}

fn clamp(i: i64, len: usize) -> usize {
    let i = if i < 0 { len as i64 + i } else { i };
    i.clamp(0, len as i64) as usize
}

fn descend<'v>(key: &str, v: &'v Value, found: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(key) {
                found.push(x);
            }
            m.values().for_each(|x| descend(key, x, found));
        }
        Value::Array(a) => a.iter().for_each(|x| descend(key, x, found)),
        _ => {}
    }
}

fn keeps(f: &Filter, root: &Value, item: &Value) -> bool {
    let lefts = select(&f.left, root, item);
    let Some((op, right)) = &f.test else {
        return !lefts.is_empty();
    };
    let Some(left) = lefts.first() else {
        return false;
    };
    let order = match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match (op.as_str(), order) {
        ("==", Some(o)) => o == Equal,
        ("!=", Some(o)) => o != Equal,
        ("!=", None) => true,
        ("<", Some(o)) => o == Less,
        (">", Some(o)) => o == Greater,
        ("<=", Some(o)) => o != Greater,
        (">=", Some(o)) => o != Less,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::json!({
            "digest": "sha256:aa",
            "listDigest": "",
            "config": {"size": 151043186, "os": "linux"},
            "metadata": {"annotations": {"release.openshift.io/from-release": "quay.io/x@sha256:bb"}},
            "references": {"spec": {"tags": [
                {"name": "cli", "from": {"name": "q/c@sha256:01"}, "generation": 2},
                {"name": "installer", "from": {"name": "q/i@sha256:02"}, "generation": null},
                {"name": "tests", "from": {"name": "q/t@sha256:03"}}
            ]}},
            "warnings": null
        })
    }

    fn run(t: &str) -> String {
        Template::parse(t).unwrap().render(&doc())
    }

    #[test]
    fn fields_lists_and_text() {
        assert_eq!(run("{.digest}"), "sha256:aa");
        assert_eq!(run("digest={.digest}\n"), "digest=sha256:aa\n");
        assert_eq!(run("{$.config.os}/{.listDigest}/{.missing.key}"), "linux//");
        assert_eq!(
            run("{.references.spec.tags[*].name}"),
            "cli installer tests"
        );
        assert_eq!(run("{.references.spec.tags[0].name}"), "cli");
        assert_eq!(run("{.references.spec.tags[-1].name}"), "tests");
        assert_eq!(run("{.references.spec.tags[1:].name}"), "installer tests");
        assert_eq!(run("{..generation}"), "2 <nil>");
        assert_eq!(run("{.config.size}"), "1.51043186e+08");
        assert_eq!(run("{.config}"), r#"{"os":"linux","size":151043186}"#);
        assert_eq!(run("{.warnings}"), "<nil>");
    }

    #[test]
    fn keys_with_dots_filters_and_ranges() {
        let key = "quay.io/x@sha256:bb";
        assert_eq!(
            run("{.metadata.annotations['release.openshift.io/from-release']}"),
            key
        );
        assert_eq!(
            run(r"{.metadata.annotations.release\.openshift\.io/from-release}"),
            key
        );
        assert_eq!(
            run(r#"{.references.spec.tags[?(@.name=="installer")].from.name}"#),
            "q/i@sha256:02"
        );
        assert_eq!(
            run("{.references.spec.tags[?(@.name!='cli')].name}"),
            "installer tests"
        );
        assert_eq!(
            run("{.references.spec.tags[?(@.generation)].name}"),
            "cli installer"
        );
        assert_eq!(
            run("{.references.spec.tags[?(@.generation>=2)].name}"),
            "cli"
        );
        assert_eq!(
            run(r#"{range .references.spec.tags[*]}{.name}{"\t"}{@.from.name}{"\n"}{end}"#),
            "cli\tq/c@sha256:01\ninstaller\tq/i@sha256:02\ntests\tq/t@sha256:03\n"
        );
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (t, says) in [
            ("{.digest", "never closed"),
            ("{range .a[*]}{.b}", "without `{end}`"),
            ("{end}", "without `{range}`"),
            ("{digest}", "is not a path"),
            ("{.a[x]}", "is not an index"),
            ("{.a[?(@.b==x)]}", "quoted string or a number"),
        ] {
            let e = Template::parse(t).unwrap_err();
            assert!(
                e.contains(says) && e.contains("invalid jsonpath template"),
                "{t}: {e}"
            );
        }
    }
}
