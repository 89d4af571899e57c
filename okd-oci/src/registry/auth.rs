//! Registry authentication: the `WWW-Authenticate` challenge of `GET /v2/`, HTTP basic, and
//! bearer tokens scoped to several repositories at once.
//!
//! oci-client asks its token endpoint for one repository per token
//! (`repository:<repo>:pull[,push]`), which is not enough for a cross-repository mount: that
//! needs `pull` on the source and `push,pull` on the target in the same token. [`Authenticator`]
//! requests tokens for any set of [`Scope`]s, caches them per scope set until they expire, and
//! answers the `Authorization` header value for a request.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::credentials::{Credentials, FoundCredentials};
use super::response::{Failure, read_limited, transport_error};
use crate::Error;

/// Access to one repository, as the token endpoint's `scope` parameter spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// The repository.
    pub repository: String,
    /// `pull` or `pull,push`.
    pub actions: &'static str,
}

impl Scope {
    /// Read access to `repository`.
    pub fn pull(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            actions: "pull",
        }
    }

    /// Read and write access to `repository`.
    pub fn push(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            actions: "pull,push",
        }
    }

    /// Read, write and delete access to `repository`.
    pub fn delete(repository: &str) -> Scope {
        Scope {
            repository: repository.to_string(),
            actions: "pull,push,delete",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "repository:{}:{}", self.repository, self.actions)
    }
}

/// How a registry asks clients to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `GET /v2/` answered without a challenge: no authentication.
    None,
    /// HTTP basic authentication.
    Basic,
    /// Bearer tokens from `realm`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter to send.
        service: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value; bearer is preferred when several are offered.
    pub fn parse(header: &str) -> Option<Challenge> {
        let mut basic = false;
        for challenge in http_auth::ChallengeParser::new(header).flatten() {
            if challenge.scheme.eq_ignore_ascii_case("bearer") {
                let param = |name: &str| {
                    challenge
                        .params
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.to_unescaped())
                };
                if let Some(realm) = param("realm") {
                    return Some(Challenge::Bearer {
                        realm,
                        service: param("service"),
                    });
                }
            } else if challenge.scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
        basic.then_some(Challenge::Basic)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A credential ready to put in an `Authorization` header.
#[derive(Clone)]
pub enum Grant {
    /// No header.
    Anonymous,
    /// HTTP basic.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token.
    Bearer(String),
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Anonymous => f.write_str("Anonymous"),
            Grant::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Grant::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
        }
    }
}

impl Grant {
    /// The `Authorization` header value, if any.
    pub fn header(&self) -> Option<HeaderValue> {
        use base64::Engine as _;
        let text = match self {
            Grant::Anonymous => return None,
            Grant::Basic { username, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            ),
            Grant::Bearer(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

#[derive(Default)]
struct State {
    challenge: Option<Challenge>,
    tokens: HashMap<String, (String, Instant)>,
}

/// Obtains and caches grants for one registry.
pub struct Authenticator {
    registry: String,
    credentials: Option<FoundCredentials>,
    state: Mutex<State>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("registry", &self.registry)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Tokens are renewed this long before they expire, so a request never carries a token that
/// lapses in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Lifetime assumed for a token whose answer does not say (the token specification's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

impl Authenticator {
    /// An authenticator for `registry` using `credentials` when asked for them.
    pub fn new(registry: &str, credentials: Option<FoundCredentials>) -> Authenticator {
        Authenticator {
            registry: registry.to_string(),
            credentials,
            state: Mutex::new(State::default()),
        }
    }

    /// The credentials in use, if any.
    pub fn credentials(&self) -> Option<&FoundCredentials> {
        self.credentials.as_ref()
    }

    /// The challenge, probing `GET {base}/v2/` the first time.
    pub async fn challenge(&self, http: &reqwest::Client, base: &str) -> Result<Challenge, Error> {
        let mut state = self.state.lock().await;
        if let Some(c) = &state.challenge {
            return Ok(c.clone());
        }
        let url = format!("{base}/v2/");
        let response = http
            .get(&url)
            .send()
            .await
            .map_err(|e| transport_error(&self.registry, "GET /v2/", &e))?;
        let status = response.status().as_u16();
        let challenge = match status {
            401 => response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse)
                .ok_or_else(|| Error::Auth {
                    registry: self.registry.clone(),
                    message: "GET /v2/ answered 401 without a usable WWW-Authenticate challenge"
                        .to_string(),
                })?,
            s if (200..300).contains(&s) => Challenge::None,
            _ => {
                return Err(Failure::read(response)
                    .await
                    .into_error(&self.registry, "GET /v2/"));
            }
        };
        state.challenge = Some(challenge.clone());
        Ok(challenge)
    }

    /// A grant covering `scopes`.
    pub async fn grant(
        &self,
        http: &reqwest::Client,
        base: &str,
        scopes: &[Scope],
    ) -> Result<Grant, Error> {
        match self.challenge(http, base).await? {
            Challenge::None => Ok(Grant::Anonymous),
            Challenge::Basic => match self.credentials.as_ref().map(|c| &c.credentials) {
                Some(Credentials::UserPassword { username, password }) => Ok(Grant::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }),
                Some(Credentials::IdentityToken(_)) => Err(Error::Auth {
                    registry: self.registry.clone(),
                    message: "the registry asks for a user name and password, but only an \
                              identity token is configured"
                        .to_string(),
                }),
                None => Err(self.no_credentials()),
            },
            Challenge::Bearer { realm, service } => {
                // The registry names the token endpoint; a TLS registry must not be able to make
                // its clients send their credentials somewhere in clear text.
                let tls = base.to_ascii_lowercase().starts_with("https://");
                let plain_realm = !realm.to_ascii_lowercase().starts_with("https://");
                if self.credentials.is_some() && tls && plain_realm {
                    return Err(Error::Auth {
                        registry: self.registry.clone(),
                        message: format!(
                            "the registry sends clients to {realm} for tokens, which is not HTTPS; \
                             credentials are not sent there"
                        ),
                    });
                }
                self.token(http, &realm, service.as_deref(), scopes).await
            }
        }
    }

    /// Forgets cached tokens (after a 401 with one of them).
    pub async fn invalidate(&self) {
        self.state.lock().await.tokens.clear();
    }

    fn no_credentials(&self) -> Error {
        Error::Auth {
            registry: self.registry.clone(),
            message: "the registry requires credentials and none were found (searched the auth \
                      files; pass --authfile or log in with podman/skopeo/docker)"
                .to_string(),
        }
    }

    async fn token(
        &self,
        http: &reqwest::Client,
        realm: &str,
        service: Option<&str>,
        scopes: &[Scope],
    ) -> Result<Grant, Error> {
        let mut sorted: Vec<String> = scopes.iter().map(Scope::to_string).collect();
        sorted.sort();
        sorted.dedup();
        let key = sorted.join(" ");
        if let Some((token, expires)) = self.state.lock().await.tokens.get(&key)
            && Instant::now() + EXPIRY_MARGIN < *expires
        {
            return Ok(Grant::Bearer(token.clone()));
        }
        let mut query: Vec<(&str, &str)> = sorted.iter().map(|s| ("scope", s.as_str())).collect();
        if let Some(s) = service {
            query.push(("service", s));
        }
        let request = match self.credentials.as_ref().map(|c| &c.credentials) {
            Some(Credentials::IdentityToken(refresh)) => {
                // The OAuth2 refresh-token grant of the distribution token specification.
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "okd-streams"),
                ];
                let scope = sorted.join(" ");
                form.push(("scope", &scope));
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                http.post(realm)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
            Some(Credentials::UserPassword { username, password }) => http
                .get(realm)
                .query(&query)
                .basic_auth(username, Some(password)),
            None => http.get(realm).query(&query),
        };
        let operation = format!("token for {key}");
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&self.registry, &operation, &e))?;
        let status = response.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            let who = match self.credentials.as_ref() {
                Some(found) => format!(
                    "credentials for {} from {}",
                    found.credentials.username().unwrap_or("<identity token>"),
                    found.source
                ),
                None => "anonymous access".to_string(),
            };
            return Err(Error::Auth {
                registry: self.registry.clone(),
                message: format!("token endpoint {realm} refused {who} ({status})"),
            });
        }
        if !status.is_success() {
            return Err(Failure::read(response)
                .await
                .into_error(&self.registry, &operation));
        }
        let body = read_limited(response, 1024 * 1024, &self.registry, &operation).await?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| Error::Auth {
            registry: self.registry.clone(),
            message: format!("token endpoint {realm} answered something other than a token"),
        })?;
        let token = answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Auth {
                registry: self.registry.clone(),
                message: format!("token endpoint {realm} answered without a token"),
            })?;
        let lifetime = answer
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        self.state
            .lock()
            .await
            .tokens
            .insert(key, (token.clone(), Instant::now() + lifetime));
        Ok(Grant::Bearer(token))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="okd-streams""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn scopes_spell_like_the_token_spec() {
        assert_eq!(
            Scope::push("okd/a").to_string(),
            "repository:okd/a:pull,push"
        );
        assert_eq!(Scope::pull("okd/b").to_string(), "repository:okd/b:pull");
    }

    #[tokio::test]
    async fn credentials_are_not_sent_to_a_plain_http_token_realm_of_a_tls_registry() {
        use crate::registry::credentials::{Credentials, FoundCredentials};
        let with_credentials = || {
            Authenticator::new(
                "registry.example",
                Some(FoundCredentials {
                    credentials: Credentials::new("robot", "hunter2"),
                    source: "test".to_string(),
                }),
            )
        };
        let auth = with_credentials();
        auth.state.lock().await.challenge = Some(Challenge::Bearer {
            realm: "http://127.0.0.1:9/token".to_string(),
            service: None,
        });
        crate::registry::install_tls_provider();
        let http = reqwest::Client::new();
        let err = auth
            .grant(&http, "https://registry.example", &[Scope::pull("okd/a")])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        assert!(
            err.to_string().contains("http://127.0.0.1:9/token"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn grants_redact_secrets() {
        let g = Grant::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{g:?}").contains("hunter2"));
        assert!(g.header().is_some_and(|h| h.is_sensitive()));
        assert!(!format!("{:?}", Grant::Bearer("tok-123".into())).contains("tok-123"));
    }
}
