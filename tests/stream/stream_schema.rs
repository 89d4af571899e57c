//! `schema/stream.schema.json` is the schema generated from the stream-file types.
//!
//! Regenerate it with `OKD_STREAMS_BLESS=1 cargo test -p okd-streams --features schema --test stream stream_schema`.

use okd_streams::stream::schema::stream_schema;

#[test]
fn committed_schema_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/stream.schema.json");
    let generated = stream_schema();
    if std::env::var_os("OKD_STREAMS_BLESS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is out of date: run OKD_STREAMS_BLESS=1 cargo test -p okd-streams --features schema --test stream stream_schema"
    );
}

#[test]
fn schema_describes_every_top_level_field() {
    let schema: serde_json::Value = serde_json::from_str(&stream_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for field in [
        "name",
        "store",
        "upstream",
        "os",
        "overrides",
        "version",
        "gating",
        "promotions",
    ] {
        assert!(props.contains_key(field), "{field} missing");
        assert!(
            props[field].get("description").is_some()
                || props[field].get("$ref").is_some()
                || props[field].get("anyOf").is_some()
                || props[field].get("allOf").is_some(),
            "{field} undocumented: {}",
            props[field]
        );
    }
    assert_eq!(
        schema["required"],
        serde_json::json!(["name", "store", "upstream"])
    );
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}
