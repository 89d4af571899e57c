//! The JSON Schema of stream files, for editors (`schema/stream.schema.json`).
//!
//! It is generated from the [`StreamFile`] types, so the schema and the parser cannot
//! disagree; a test checks that the committed file is the generated one.
//!
//! ```
//! let schema = okd_streams::stream::schema::stream_schema();
//! assert!(schema.contains("\"upstream\""));
//! ```

use super::StreamFile;

/// The `$id` of the schema.
pub const SCHEMA_ID: &str = "https://github.com/okd-project/okd-streams/schema/stream.schema.json";

/// The schema as pretty JSON with a trailing newline.
pub fn stream_schema() -> String {
    let mut schema = schemars::schema_for!(StreamFile);
    schema.insert("$id".to_string(), SCHEMA_ID.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
