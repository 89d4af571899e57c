//! How commands print: human text by default, a stable JSON document with `-o json`.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

use super::CliError;

/// The `-o/--output` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Text for people.
    #[default]
    Text,
    /// One indented JSON document.
    Json,
}

impl OutputFormat {
    pub fn is_json(self) -> bool {
        self == OutputFormat::Json
    }
}

/// Writes `text` to stdout. A closed pipe (`| head`) is not an error worth a message.
pub fn print_text(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing to standard output: {e}").into())
        }
        _ => Ok(()),
    }
}

/// Writes `value` as indented JSON and a newline to stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    print_text(&text)
}

/// Parses a `KEY=VALUE` argument.
pub fn key_value(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{arg:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        assert_eq!(
            key_value("a=b=c").unwrap(),
            ("a".to_string(), "b=c".to_string())
        );
        assert_eq!(key_value("a=").unwrap(), ("a".to_string(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
    }
}
