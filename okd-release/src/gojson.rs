//! JSON as Go's `encoding/json` reads and writes it.
//!
//! `oc` writes `image-references` and `release-metadata` with `json.MarshalIndent(v, "", "  ")`,
//! and reads them with `encoding/json` (through `ghodss/yaml` for image-references). Matching
//! those bytes and that leniency takes three things serde_json does not do by itself:
//!
//! * **Escaping**: Go escapes `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`, and U+2028/U+2029
//!   as `\u2028`/`\u2029`; control characters use `\b \f \n \r \t` or `\u00XX` (lowercase hex).
//! * **Floats**: Go decodes every JSON number of an `interface{}` as `float64` and prints it in
//!   the shortest form, without exponent between 1e-6 and 1e21 (`1` not `1.0`, `1e+21`, `1e-7`).
//! * **Field names**: a JSON key matches a struct field exactly or, failing that,
//!   case-insensitively (`Name` fills `name`). Keys that match nothing are ignored, a later key
//!   wins over an earlier one, and `null` leaves a non-pointer field untouched.
//!
//! Go sorts map keys by bytes, which `BTreeMap<String, _>` also does; struct fields keep their
//! declaration order in serde as in Go. No trailing newline is written.
//!
//! ```
//! use std::collections::BTreeMap;
//! let mut m = BTreeMap::new();
//! m.insert("url", "https://example.com/?a=1&b=<2>");
//! assert_eq!(
//!     okd_release::gojson::to_string_indent(&m).unwrap(),
//!     "{\n  \"url\": \"https://example.com/?a=1\\u0026b=\\u003c2\\u003e\"\n}"
//! );
//! ```

use std::io;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::{Map, Number, Value};

/// Serialises `value` as Go's `json.MarshalIndent(value, "", "  ")`.
pub fn to_string_indent<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    to_string_with(value, GoFormatter(PrettyFormatter::with_indent(b"  ")))
}

/// Serialises `value` as Go's `json.MarshalIndent(value, "", indent)`.
pub fn to_string_indent_with<T: Serialize + ?Sized>(
    value: &T,
    indent: &[u8],
) -> Result<String, serde_json::Error> {
    to_string_with(value, GoFormatter(PrettyFormatter::with_indent(indent)))
}

/// Serialises `value` as Go's `json.Marshal(value)`.
pub fn to_string_compact<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    to_string_with(value, GoFormatter(CompactFormatter))
}

fn to_string_with<T: Serialize + ?Sized, F: Formatter>(
    value: &T,
    formatter: F,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    // Every byte written is either ASCII punctuation or comes from a `&str`.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// A serde_json formatter that escapes and prints numbers as Go does, delegating layout to the
/// wrapped formatter.
#[derive(Debug, Clone)]
pub struct GoFormatter<F>(pub F);

impl<F: Formatter> Formatter for GoFormatter<F> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// Formats a float as Go's `encoding/json` does: shortest round-trip digits, plain notation for
/// magnitudes in [1e-6, 1e21), exponent notation otherwise with a signed exponent of at least one
/// digit (`1e+21`, `1e-7`).
pub fn go_float(value: f64) -> String {
    if !value.is_finite() {
        // Go refuses to encode these; serde_json cannot either, so this is never reached from a
        // parsed document. Print what JavaScript would rather than panic.
        return "null".to_string();
    }
    let abs = value.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{value:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if exp.starts_with('-') => format!("{mantissa}e{exp}"),
            Some((mantissa, exp)) => format!("{mantissa}e+{exp}"),
            None => s,
        }
    } else {
        // Rust's `Display` for f64 is the shortest round-trip form without exponent, like Go's
        // 'f' format with precision -1; `-0` prints as "-0" in both.
        format!("{value}")
    }
}

/// Formats a value as Go's `fmt` `%v` prints a decoded `interface{}`: strings bare, numbers as
/// `%g` with shortest digits (`1e+06`), `[a b]` for lists, `map[k:v]` for objects, `<nil>`.
pub fn go_sprint(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(go_g).unwrap_or_else(|| n.to_string()),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_sprint).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            format!(
                "map[{}]",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", go_sprint(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

/// Go's `%v` for a float64: shortest digits, in exponent form (`1e+06`, `1.5e-07`) when the
/// decimal exponent is below -4 or at least 6.
fn go_g(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{value}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Converts every number in `value` to a float, as Go's `interface{}` decoding does, so that it
/// is printed back the way Go prints it.
pub fn floats_as_go(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Number(n)),
        Value::Array(items) => Value::Array(items.into_iter().map(floats_as_go).collect()),
        Value::Object(map) => {
            // Re-insert in sorted order so the result is sorted whatever serde_json's map is.
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, floats_as_go(v)))
                    .collect(),
            )
        }
        other => other,
    }
}

/// How a Go type decodes, for case-insensitive field matching. See [`from_slice_go`].
#[derive(Debug)]
pub enum Shape {
    /// A struct: its JSON field names and their shapes. A `null` leaves the field untouched.
    Struct(&'static [(&'static str, &'static Shape)]),
    /// A pointer to a struct: like [`Shape::Struct`], but `null` clears it.
    PtrStruct(&'static [(&'static str, &'static Shape)]),
    /// A `map[string]T`: keys are kept as they are.
    Map(&'static Shape),
    /// A slice.
    List(&'static Shape),
    /// A non-pointer scalar (string, number, bool, or a type with its own decoder such as a
    /// time): a `null` leaves it untouched.
    Scalar,
    /// Anything else (`interface{}`, pointers to scalars): taken as is.
    Any,
}

/// Parses JSON, or YAML when `yaml` is set, into `T` with Go's field-name rules, given the Go
/// type's `shape`.
pub fn from_slice_go<T: DeserializeOwned>(
    data: &[u8],
    shape: &'static Shape,
    yaml: bool,
) -> Result<T, String> {
    let node: Node = if yaml {
        crate::flow_depth::check(data)?;
        serde_yaml_ng::from_slice(data).map_err(|e| e.to_string())?
    } else {
        serde_json::from_slice(data).map_err(|e| e.to_string())?
    };
    let value = fold(node, shape).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Deserialises `null` as the type's default, as Go leaves a nil slice or map empty.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A parsed document that keeps the order of object keys and their duplicates, because Go lets
/// a later key override an earlier one after case folding.
#[derive(Debug, Clone)]
enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a JSON number")))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            // YAML allows non-string keys; ghodss/yaml turns them into their text.
            let key = match k {
                Node::String(s) => s,
                Node::Null => "null".to_string(),
                Node::Bool(b) => b.to_string(),
                Node::Number(n) => n.to_string(),
                Node::Array(_) | Node::Object(_) => {
                    return Err(de::Error::custom("mapping keys must be scalars"));
                }
            };
            entries.push((key, v));
        }
        Ok(Node::Object(entries))
    }
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Number(n) => Value::Number(n),
            Node::String(s) => Value::String(s),
            Node::Array(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k, v.into_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// Go's `bytes.EqualFold` on field names: ASCII case-insensitive, plus the two non-ASCII runes
/// that fold onto ASCII letters (U+017F LONG S → s, U+212A KELVIN SIGN → k).
fn fold_eq(key: &str, field: &str) -> bool {
    let mut k = key.chars().map(|c| match c {
        '\u{017F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    });
    let mut f = field.chars().map(|c| c.to_ascii_lowercase());
    loop {
        match (k.next(), f.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => continue,
            _ => return false,
        }
    }
}

/// Applies Go's decoding rules for `shape` to `node`. `None` means "leave the field as it is".
fn fold(node: Node, shape: &'static Shape) -> Option<Value> {
    match (shape, node) {
        (Shape::Struct(_) | Shape::Scalar, Node::Null) => None,
        (Shape::Struct(fields) | Shape::PtrStruct(fields), Node::Object(entries)) => {
            let mut out = Map::new();
            for (key, value) in entries {
                let field = fields
                    .iter()
                    .find(|(name, _)| *name == key)
                    .or_else(|| fields.iter().find(|(name, _)| fold_eq(&key, name)));
                let Some((name, field_shape)) = field else {
                    continue;
                };
                let Some(new) = fold(value, field_shape) else {
                    continue;
                };
                let merged = match (out.remove(*name), new) {
                    // Go decodes a repeated struct into the value it already has.
                    (Some(Value::Object(mut old)), Value::Object(new))
                        if matches!(
                            field_shape,
                            Shape::Struct(_) | Shape::PtrStruct(_) | Shape::Map(_)
                        ) =>
                    {
                        for (k, v) in new {
                            old.insert(k, v);
                        }
                        Value::Object(old)
                    }
                    (_, new) => new,
                };
                out.insert(name.to_string(), merged);
            }
            Some(Value::Object(out))
        }
        (Shape::Map(elem), Node::Object(entries)) => {
            let mut out = Map::new();
            for (key, value) in entries {
                out.insert(key, fold(value, elem).unwrap_or(Value::Null));
            }
            Some(Value::Object(out))
        }
        (Shape::List(elem), Node::Array(items)) => Some(Value::Array(
            items
                .into_iter()
                .map(|item| fold(item, elem).unwrap_or(Value::Null))
                .collect(),
        )),
        // A type mismatch: pass it on so that the typed decoder reports it.
        (_, node) => Some(node.into_value()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn escapes_like_go() {
        let s = "a<b>&c\u{2028}\u{2029}\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é";
        assert_eq!(
            to_string_compact(&s).unwrap(),
            r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\r\t\b\f\u0001\u001f"#.to_string()
                + "\u{7f}é\""
        );
    }

    #[test]
    fn escapes_keys_too() {
        let mut m = BTreeMap::new();
        m.insert("<k>", 1);
        assert_eq!(to_string_compact(&m).unwrap(), r#"{"\u003ck\u003e":1}"#);
    }

    #[test]
    fn floats_like_go() {
        for (v, go) in [
            (1.0, "1"),
            (-0.5, "-0.5"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (123456789.125, "123456789.125"),
            (12345678901234567890.0, "12345678901234567000"),
            (0.0, "0"),
            (1e-10, "1e-10"),
            (2.5e300, "2.5e+300"),
        ] {
            assert_eq!(go_float(v), go, "{v}");
        }
    }

    #[test]
    fn sprint_like_go() {
        let v: Value = serde_json::from_str(
            r#"[1, 123456, 1000000, 0.0001, 0.00001, 1.5e-7, "s", true, null, {"b": [1], "a": "x"}]"#,
        )
        .unwrap();
        assert_eq!(
            go_sprint(&v),
            "[1 123456 1e+06 0.0001 1e-05 1.5e-07 s true <nil> map[a:x b:[1]]]"
        );
    }

    #[test]
    fn empty_containers_stay_compact() {
        #[derive(Serialize)]
        struct S {
            a: Vec<u8>,
            b: BTreeMap<String, String>,
        }
        let s = S {
            a: vec![],
            b: BTreeMap::new(),
        };
        assert_eq!(
            to_string_indent(&s).unwrap(),
            "{\n  \"a\": [],\n  \"b\": {}\n}"
        );
    }

    static INNER: Shape = Shape::Struct(&[("name", &Shape::Scalar), ("count", &Shape::Scalar)]);
    static OUTER: Shape = Shape::Struct(&[
        ("name", &Shape::Scalar),
        ("inner", &INNER),
        ("labels", &Shape::Map(&Shape::Scalar)),
        ("items", &Shape::List(&INNER)),
    ]);

    #[derive(Debug, serde::Deserialize, PartialEq, Default)]
    #[serde(default)]
    struct Inner {
        name: String,
        count: i64,
    }
    #[derive(Debug, serde::Deserialize, PartialEq, Default)]
    #[serde(default)]
    struct Outer {
        name: String,
        inner: Inner,
        labels: BTreeMap<String, String>,
        items: Vec<Inner>,
    }

    #[test]
    fn field_names_fold_like_go() {
        let doc = br#"{"NAME":"x","Inner":{"nAmE":"y","count":1},"inner":{"COUNT":2},
            "Labels":{"Keep":"Case"},"ITEMS":[{"Name":"z"}],"unknown":1,"name":null}"#;
        let o: Outer = from_slice_go(doc, &OUTER, false).unwrap();
        assert_eq!(
            o,
            Outer {
                name: "x".into(),
                inner: Inner {
                    name: "y".into(),
                    count: 2
                },
                labels: [("Keep".to_string(), "Case".to_string())].into(),
                items: vec![Inner {
                    name: "z".into(),
                    count: 0
                }],
            }
        );
    }

    #[test]
    fn later_key_wins_and_special_folds() {
        let doc =
            "{\"name\":\"first\",\"NAME\":\"second\",\"inner\":{\"\u{212A}ount\":0,\"count\":3}}";
        let o: Outer = from_slice_go(doc.as_bytes(), &OUTER, false).unwrap();
        assert_eq!(o.name, "second");
        assert_eq!(o.inner.count, 3);
    }

    #[test]
    fn yaml_goes_through_the_same_rules() {
        let doc = b"Name: x\ninner:\n  Count: 4\nitems:\n- name: a\n";
        let o: Outer = from_slice_go(doc, &OUTER, true).unwrap();
        assert_eq!(o.name, "x");
        assert_eq!(o.inner.count, 4);
        assert_eq!(o.items[0].name, "a");
    }

    #[test]
    fn type_mismatch_is_an_error() {
        let err = from_slice_go::<Outer>(br#"{"name": 3}"#, &OUTER, false).unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err = from_slice_go::<Outer>(br#"{"name": "x""#, &OUTER, false).unwrap_err();
        assert!(err.contains("EOF"), "{err}");
    }

    #[test]
    fn numbers_become_go_floats() {
        let v: Value =
            serde_json::from_str(r#"{"b":[1,2.50,1e21],"a":12345678901234567890}"#).unwrap();
        assert_eq!(
            to_string_compact(&floats_as_go(v)).unwrap(),
            r#"{"a":12345678901234567000,"b":[1,2.5,1e+21]}"#
        );
    }
}
