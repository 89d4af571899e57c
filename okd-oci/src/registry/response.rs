//! Turning registry answers and transport failures into [`Error`]s that name the registry, the
//! operation, the HTTP status and the registry's own message.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::Error;

/// Registry error bodies are small; anything longer is cut when quoted.
const MAX_ERROR_BODY: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Vec<EnvelopeError>,
}

/// One entry of the distribution spec's error envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvelopeError {
    /// `BLOB_UNKNOWN`, `DIGEST_INVALID`, `MANIFEST_BLOB_UNKNOWN`, …
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Code-specific detail (often the digest concerned).
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// A non-success answer, read.
#[derive(Debug, Clone)]
pub struct Failure {
    /// HTTP status.
    pub status: u16,
    /// The error envelope's entries, when the body had one.
    pub errors: Vec<EnvelopeError>,
    /// The body as text (cut), when it was not an envelope.
    pub text: String,
}

impl Failure {
    /// Reads the body of a failed response. A 429 or 503 hands its `Retry-After` to the retry
    /// loop of the attempt that read it.
    pub async fn read(response: reqwest::Response) -> Failure {
        super::retry_after::note(&response);
        let status = response.status().as_u16();
        let body = read_prefix(response, MAX_ERROR_BODY).await;
        Failure::from_parts(status, &body)
    }

    /// A failure from a status and body.
    pub fn from_parts(status: u16, body: &[u8]) -> Failure {
        match serde_json::from_slice::<Envelope>(body) {
            Ok(env) if !env.errors.is_empty() => Failure {
                status,
                errors: env.errors,
                text: String::new(),
            },
            _ => Failure {
                status,
                errors: Vec::new(),
                text: String::from_utf8_lossy(body)
                    .trim()
                    .chars()
                    .take(500)
                    .collect(),
            },
        }
    }

    /// True when the envelope carries `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    /// What the registry said, for messages.
    pub fn message(&self) -> String {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let said = if self.errors.is_empty() {
            self.text.clone()
        } else {
            self.errors
                .iter()
                .map(|e| {
                    let detail = match &e.detail {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) if s.is_empty() => String::new(),
                        d => format!(" ({})", d.to_string().chars().take(200).collect::<String>()),
                    };
                    format!("{}: {}{detail}", e.code, e.message)
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        if said.is_empty() {
            format!("{} {reason}", self.status)
        } else {
            format!("{} {reason}: {said}", self.status)
        }
    }

    /// The typed error: [`Error::Auth`] for 401/403, else [`Error::Registry`].
    pub fn into_error(self, registry: &str, operation: &str) -> Error {
        match self.status {
            401 | 403 => Error::Auth {
                registry: registry.to_string(),
                message: format!("{operation}: {}", self.message()),
            },
            _ => Error::Registry {
                registry: registry.to_string(),
                operation: operation.to_string(),
                status: Some(self.status),
                message: self.message(),
            },
        }
    }
}

/// The first `sha256:` digest in `text`.
pub fn find_digest(text: &str) -> Option<crate::Digest> {
    let start = text.find("sha256:")?;
    text.get(start..start + 71)?.parse().ok()
}

async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Bytes {
    let mut buf = BytesMut::new();
    while buf.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(limit);
    buf.freeze()
}

/// Reads a whole body, refusing more than `limit` bytes.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    registry: &str,
    operation: &str,
) -> Result<Bytes, Error> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(registry, operation, &e))?
    {
        if buf.len() + chunk.len() > limit {
            return Err(Error::TooLarge {
                what: format!("{registry}: {operation}"),
                size: (buf.len() + chunk.len()) as u64,
                limit: limit as u64,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The full chain of an error's sources, for messages and classification.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// A transport failure: [`Error::Tls`] when the TLS handshake failed, else [`Error::Transport`].
pub fn transport_error(registry: &str, operation: &str, e: &reqwest::Error) -> Error {
    let chain = error_chain(e);
    let lower = chain.to_ascii_lowercase();
    // A plain-HTTP server answering a TLS client shows up as an "InvalidContentType" record.
    if lower.contains("certificate")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        return Error::Tls {
            registry: registry.to_string(),
            message: format!("{operation}: {chain}"),
        };
    }
    if let Some(status) = e.status() {
        return Error::Registry {
            registry: registry.to_string(),
            operation: operation.to_string(),
            status: Some(status.as_u16()),
            message: chain,
        };
    }
    Error::Transport {
        registry: registry.to_string(),
        operation: operation.to_string(),
        message: chain,
    }
}

/// Names `operation` (which names the repository and blob or manifest) in an error that a step
/// shared by all operations raised without it: connecting, the `/v2/` probe and its TLS
/// handshake, a token request.
pub fn in_operation(e: Error, operation: &str) -> Error {
    match e {
        Error::Auth { registry, message } if !message.starts_with(operation) => Error::Auth {
            registry,
            message: format!("{operation}: {message}"),
        },
        Error::Tls { registry, message } if !message.starts_with(operation) => Error::Tls {
            registry,
            message: format!("{operation}: {message}"),
        },
        Error::Transport {
            registry,
            operation: step,
            message,
        } if step != operation => Error::Transport {
            registry,
            operation: format!("{operation}: {step}"),
            message,
        },
        Error::Registry {
            registry,
            operation: step,
            status,
            message,
        } if step != operation => Error::Registry {
            registry,
            operation: format!("{operation}: {step}"),
            status,
            message,
        },
        other => other,
    }
}

/// Maps an oci-client error, keeping the HTTP status and the registry's message.
pub fn oci_error(
    registry: &str,
    operation: &str,
    e: oci_client::errors::OciDistributionError,
) -> Error {
    use oci_client::errors::{DigestError, OciDistributionError as O};
    match e {
        O::RequestError(e) => transport_error(registry, operation, &e),
        O::ServerError { code, message, .. } => {
            Failure::from_parts(code, message.as_bytes()).into_error(registry, operation)
        }
        O::RegistryError { envelope, .. } => {
            let errors: Vec<EnvelopeError> = envelope
                .errors
                .iter()
                .map(|e| EnvelopeError {
                    code: serde_json::to_value(&e.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    message: e.message.clone(),
                    detail: e.detail.clone(),
                })
                .collect();
            // oci-client keeps the envelope but not the status; the codes imply it.
            let status = match errors.first().map(|e| e.code.as_str()) {
                Some("BLOB_UNKNOWN" | "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "NOT_FOUND") => 404,
                Some("UNAUTHORIZED") => 401,
                Some("DENIED") => 403,
                Some("TOOMANYREQUESTS") => 429,
                Some("UNSUPPORTED") => 405,
                _ => 400,
            };
            Failure {
                status,
                errors,
                text: String::new(),
            }
            .into_error(registry, operation)
        }
        O::UnauthorizedError { .. } => {
            Failure::from_parts(401, b"").into_error(registry, operation)
        }
        O::IoError(io) => io_error(registry, operation, &io),
        O::DigestError(DigestError::VerificationError { expected, actual }) => {
            match (expected.parse(), actual.parse()) {
                (Ok(expected), Ok(actual)) => Error::DigestMismatch {
                    what: format!("{registry}: {operation}"),
                    expected,
                    actual,
                },
                _ => Error::Registry {
                    registry: registry.to_string(),
                    operation: operation.to_string(),
                    status: None,
                    message: format!("digest mismatch: expected {expected}, got {actual}"),
                },
            }
        }
        other => Error::Registry {
            registry: registry.to_string(),
            operation: operation.to_string(),
            status: None,
            message: error_chain(&other),
        },
    }
}

/// Maps an I/O error from a body stream: a digest failure found by oci-client's verifying
/// stream stays a digest failure, anything else is a broken transfer.
pub fn io_error(registry: &str, operation: &str, io: &std::io::Error) -> Error {
    use oci_client::errors::DigestError;
    if let Some(DigestError::VerificationError { expected, actual }) =
        io.get_ref().and_then(|i| i.downcast_ref::<DigestError>())
        && let (Ok(expected), Ok(actual)) = (expected.parse(), actual.parse())
    {
        return Error::DigestMismatch {
            what: format!("{registry}: {operation}"),
            expected,
            actual,
        };
    }
    Error::Transport {
        registry: registry.to_string(),
        operation: operation.to_string(),
        message: error_chain(io),
    }
}

/// True for failures worth another attempt: 429, 5xx, broken connections and timeouts.
pub fn is_transient(e: &Error) -> bool {
    match e {
        Error::Transport { .. } | Error::UploadBroken { .. } => true,
        Error::Registry {
            status: Some(s), ..
        } => *s == 429 || (500..600).contains(s),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn envelope_codes_and_digests() {
        let f = Failure::from_parts(
            400,
            br#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}"#,
        );
        assert!(f.has_code("MANIFEST_BLOB_UNKNOWN"));
        assert_eq!(
            find_digest(&f.message()).map(|d| d.to_string()).as_deref(),
            Some("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        let e = f.into_error("r.io", "PUT manifest a:b");
        assert!(matches!(
            e,
            Error::Registry {
                status: Some(400),
                ..
            }
        ));
        assert!(e.to_string().contains("MANIFEST_BLOB_UNKNOWN"), "{e}");
    }

    #[test]
    fn plain_bodies_and_auth() {
        let f = Failure::from_parts(503, b"upstream down");
        assert!(
            f.message()
                .contains("503 Service Unavailable: upstream down")
        );
        let e = f.into_error("r.io", "GET manifest a:b");
        assert!(is_transient(&e));
        let e = Failure::from_parts(401, b"").into_error("r.io", "GET manifest a:b");
        assert!(matches!(e, Error::Auth { .. }));
        assert!(!is_transient(&e));
        assert!(is_transient(
            &Failure::from_parts(429, b"").into_error("r", "o")
        ));
        assert!(!is_transient(
            &Failure::from_parts(404, b"").into_error("r", "o")
        ));
    }
}
