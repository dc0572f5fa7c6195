//! Access tokens: short-lived JWTs signed with Ed25519.
//!
//! Verification trusts nothing in the token until its signature checks out with a key chosen by
//! us: the algorithm is pinned to EdDSA (no `none`, no HMAC keyed with a public key), the `kid`
//! must name one of our keys, the type must be `at+jwt` (RFC 9068), and `exp`, `nbf`, `iss`,
//! `aud` and `sub` are all required and checked.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::VerifyingKey;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Role;
use crate::keys::{SigningMaterial, jwk_x, thumbprint};

/// How long an access token is valid.
pub const LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Clock skew tolerated between servers, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// The JWT `typ` of access tokens (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";

/// What an access token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who issued it.
    pub iss: String,
    /// Who it is for.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not valid before.
    pub nbf: u64,
    /// Expires at.
    pub exp: u64,
    /// Unique id of this token.
    pub jti: String,
    /// The session the token belongs to, so that ending the session ends its access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    /// The user the token speaks for.
    pub fn user_id(&self) -> Result<Uuid, TokenError> {
        Uuid::parse_str(&self.sub).map_err(|_| TokenError::Invalid("sub is not a user id".into()))
    }

    /// The session the token belongs to, if it names one.
    pub fn session_id(&self) -> Result<Option<Uuid>, TokenError> {
        self.sid
            .as_deref()
            .map(|sid| Uuid::parse_str(sid).map_err(|_| TokenError::Invalid("sid is not a session id".into())))
            .transpose()
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT at all, or its header cannot be read.
    #[error("malformed token")]
    Malformed,
    /// Signed with an algorithm other than EdDSA, or of another type than an access token.
    #[error("token of the wrong kind")]
    WrongKind,
    /// The `kid` names no key of ours.
    #[error("token signed by an unknown key")]
    UnknownKey,
    /// Past its expiry (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// Anything else: bad signature, wrong issuer or audience, missing claim, not yet valid.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A token could not be signed (a configuration problem).
    #[error("cannot sign tokens: {0}")]
    Signing(String),
}

/// A freshly signed token and what it says.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The compact JWT.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

/// Signs access tokens with one key and verifies them with any of several (for rotation).
pub struct TokenKeys {
    issuer: String,
    audience: String,
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    public_keys: Vec<VerifyingKey>,
    validation: Validation,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

impl TokenKeys {
    /// Keys that sign with `signing` and also accept tokens signed by `extra_verifying`.
    pub fn new(
        issuer: &str,
        audience: &str,
        signing: &SigningMaterial,
        extra_verifying: &[VerifyingKey],
    ) -> Result<Self, TokenError> {
        let encoding =
            EncodingKey::from_ed_pem(signing.private_pem_bytes()).map_err(|e| TokenError::Signing(e.to_string()))?;
        let mut public_keys = vec![signing.public];
        public_keys.extend(extra_verifying.iter().filter(|key| **key != signing.public).copied());
        let mut verifying = HashMap::new();
        for key in &public_keys {
            let decoding =
                DecodingKey::from_ed_components(&jwk_x(key)).map_err(|e| TokenError::Signing(e.to_string()))?;
            verifying.insert(thumbprint(key), decoding);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            signing_kid: thumbprint(&signing.public),
            signing: encoding,
            verifying,
            public_keys,
            validation,
        })
    }

    /// Signs a token for `user` with `role`, valid from now for [`LIFETIME`].
    pub fn issue(&self, user: Uuid, role: Role) -> Result<Issued, TokenError> {
        self.issue_for_session(user, role, None, 0)
    }

    /// Like [`issue`](Self::issue), for the session `session`, and dated no earlier than
    /// `earliest_iat` (seconds since the epoch), so the token survives a revocation cut set at
    /// the next whole second.
    pub fn issue_for_session(
        &self,
        user: Uuid,
        role: Role,
        session: Option<Uuid>,
        earliest_iat: u64,
    ) -> Result<Issued, TokenError> {
        let now = now_secs().max(earliest_iat);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user.to_string(),
            role,
            iat: now,
            nbf: now,
            exp: now + LIFETIME.as_secs(),
            jti: Uuid::now_v7().to_string(),
            sid: session.map(|session| session.to_string()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        header.typ = Some(TOKEN_TYPE.to_owned());
        let token =
            jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(Issued { token, claims })
    }

    /// Checks a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA
            || !header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case(TOKEN_TYPE))
        {
            return Err(TokenError::WrongKind);
        }
        let key = header.kid.as_deref().and_then(|kid| self.verifying.get(kid)).ok_or(TokenError::UnknownKey)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongKind,
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    TokenError::Malformed
                }
                other => TokenError::Invalid(format!("{other:?}")),
            })?;
        let claims = data.claims;
        if claims.role == Role::Anonymous {
            return Err(TokenError::Invalid("a token cannot carry the anonymous role".into()));
        }
        claims.user_id()?;
        if claims.iat > now_secs() + LEEWAY_SECS {
            return Err(TokenError::Invalid("issued in the future".into()));
        }
        Ok(claims)
    }

    /// The public keys as a JSON Web Key Set, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .public_keys
            .iter()
            .map(|key| json!({ "kty": "OKP", "crv": "Ed25519", "x": jwk_x(key), "kid": thumbprint(key), "use": "sig", "alg": "EdDSA" }))
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use rand_core::OsRng;
    use secrecy::SecretString;

    use super::*;

    fn material() -> SigningMaterial {
        let key = SigningKey::generate(&mut OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).unwrap_or_default();
        SigningMaterial { public: key.verifying_key(), private_pem: SecretString::from(pem) }
    }

    fn keys_with(signing: &SigningMaterial) -> TokenKeys {
        TokenKeys::new("careergraph", "careergraph-api", signing, &[]).unwrap_or_else(|e| panic!("keys: {e}"))
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn parts(token: &str) -> (String, String, String) {
        let mut split = token.split('.');
        let mut next = || split.next().unwrap_or_default().to_owned();
        (next(), next(), next())
    }

    fn decoded(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// Signs arbitrary header and claims with `signing`'s key, bypassing `issue`.
    fn forge(signing: &SigningMaterial, header: Header, claims: &Value) -> String {
        let key = EncodingKey::from_ed_pem(signing.private_pem_bytes()).unwrap_or_else(|e| panic!("key: {e}"));
        jsonwebtoken::encode(&header, claims, &key).unwrap_or_else(|e| panic!("encode: {e}"))
    }

    fn valid_claims(keys: &TokenKeys) -> Value {
        let now = now_secs();
        json!({ "iss": keys.issuer, "aud": keys.audience, "sub": Uuid::now_v7().to_string(), "role": "VIEWER",
                "iat": now, "nbf": now, "exp": now + 900, "jti": "j" })
    }

    fn header(keys: &TokenKeys) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some(TOKEN_TYPE.into());
        header
    }

    #[test]
    fn an_issued_token_verifies_and_says_who_and_what() -> Result<(), TokenError> {
        let signing = material();
        let keys = keys_with(&signing);
        let user = Uuid::now_v7();
        let issued = keys.issue(user, Role::Editor)?;
        let claims = keys.verify(&issued.token)?;
        assert_eq!(claims.user_id()?, user);
        assert_eq!(claims.role, Role::Editor);
        assert_eq!(claims.exp - claims.iat, LIFETIME.as_secs());
        let (header, _, _) = parts(&issued.token);
        assert_eq!(decoded(&header)["kid"], json!(thumbprint(&signing.public)));
        Ok(())
    }

    #[test]
    fn alg_none_in_any_case_is_refused() {
        let keys = keys_with(&material());
        let claims = b64(&valid_claims(&keys));
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = b64(&json!({ "alg": alg, "typ": TOKEN_TYPE, "kid": keys.signing_kid }));
            for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
                assert!(keys.verify(&token).is_err(), "alg {alg} accepted");
            }
        }
    }

    #[test]
    fn hs256_keyed_with_our_public_key_is_refused() {
        let signing = material();
        let keys = keys_with(&signing);
        let public_pem = signing.public.to_public_key_pem(LineEnding::LF).unwrap_or_default();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys.signing_kid.clone());
        header.typ = Some(TOKEN_TYPE.into());
        for secret in [public_pem.as_bytes(), signing.public.as_bytes().as_slice()] {
            let token = jsonwebtoken::encode(&header, &valid_claims(&keys), &EncodingKey::from_secret(secret))
                .unwrap_or_default();
            assert_eq!(keys.verify(&token), Err(TokenError::WrongKind));
        }
    }

    #[test]
    fn algorithms_outside_the_allowlist_are_refused() {
        let keys = keys_with(&material());
        let (_, claims, signature) =
            parts(&keys.issue(Uuid::now_v7(), Role::Viewer).map(|i| i.token).unwrap_or_default());
        for alg in ["RS256", "ES256", "HS512", "PS256", "Ed25519"] {
            let header = b64(&json!({ "alg": alg, "typ": TOKEN_TYPE, "kid": keys.signing_kid }));
            assert!(keys.verify(&format!("{header}.{claims}.{signature}")).is_err(), "{alg} accepted");
        }
    }

    #[test]
    fn a_wrong_missing_or_injected_kid_is_refused() {
        let signing = material();
        let keys = keys_with(&signing);
        for kid in [None, Some("other".to_owned()), Some("../../etc/passwd".to_owned()), Some("' OR '1'='1".to_owned())]
        {
            let mut header = header(&keys);
            header.kid = kid.clone();
            let token = forge(&signing, header, &valid_claims(&keys));
            assert_eq!(keys.verify(&token), Err(TokenError::UnknownKey), "kid {kid:?}");
        }
        // Our kid on a token signed by a stranger's key.
        let stranger = material();
        let token = forge(&stranger, header(&keys), &valid_claims(&keys));
        assert!(matches!(keys.verify(&token), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn a_stripped_or_altered_signature_is_refused() -> Result<(), TokenError> {
        let keys = keys_with(&material());
        let token = keys.issue(Uuid::now_v7(), Role::Viewer)?.token;
        let (header, claims, signature) = parts(&token);
        assert!(keys.verify(&format!("{header}.{claims}.")).is_err());
        assert!(keys.verify(&format!("{header}.{claims}")).is_err());
        let mut flipped = URL_SAFE_NO_PAD.decode(&signature).unwrap_or_default();
        flipped[0] ^= 1;
        assert!(keys.verify(&format!("{header}.{claims}.{}", URL_SAFE_NO_PAD.encode(flipped))).is_err());
        Ok(())
    }

    #[test]
    fn a_payload_edited_to_raise_the_role_is_refused() -> Result<(), TokenError> {
        let keys = keys_with(&material());
        let token = keys.issue(Uuid::now_v7(), Role::Viewer)?.token;
        let (header, claims, signature) = parts(&token);
        let mut raised = decoded(&claims);
        raised["role"] = json!("ADMIN");
        assert!(matches!(keys.verify(&format!("{header}.{}.{signature}", b64(&raised))), Err(TokenError::Invalid(_))));
        Ok(())
    }

    #[test]
    fn missing_or_failing_time_and_audience_claims_are_refused() {
        let signing = material();
        let keys = keys_with(&signing);
        let now = now_secs();
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<(&str, Edit)> = vec![
            (
                "missing exp",
                Box::new(|c| {
                    c.as_object_mut().map(|o| o.remove("exp"));
                }),
            ),
            (
                "missing nbf",
                Box::new(|c| {
                    c.as_object_mut().map(|o| o.remove("nbf"));
                }),
            ),
            (
                "missing sub",
                Box::new(|c| {
                    c.as_object_mut().map(|o| o.remove("sub"));
                }),
            ),
            ("expired beyond the leeway", Box::new(move |c| c["exp"] = json!(now - LEEWAY_SECS - 5))),
            ("not valid yet", Box::new(move |c| c["nbf"] = json!(now + LEEWAY_SECS + 60))),
            ("wrong issuer", Box::new(|c| c["iss"] = json!("someone-else"))),
            ("wrong audience", Box::new(|c| c["aud"] = json!("another-api"))),
            ("anonymous role", Box::new(|c| c["role"] = json!("ANONYMOUS"))),
            ("unknown role", Box::new(|c| c["role"] = json!("ROOT"))),
            ("sub not a user id", Box::new(|c| c["sub"] = json!("admin"))),
        ];
        for (case, edit) in edits {
            let mut claims = valid_claims(&keys);
            edit(&mut claims);
            let token = forge(&signing, header(&keys), &claims);
            assert!(keys.verify(&token).is_err(), "{case} accepted");
        }
        let mut expired = valid_claims(&keys);
        expired["exp"] = json!(now - LEEWAY_SECS - 5);
        assert_eq!(keys.verify(&forge(&signing, header(&keys), &expired)), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_of_another_type_is_refused() {
        let signing = material();
        let keys = keys_with(&signing);
        for typ in [None, Some("JWT"), Some("refresh+jwt")] {
            let mut header = header(&keys);
            header.typ = typ.map(str::to_owned);
            assert_eq!(
                keys.verify(&forge(&signing, header, &valid_claims(&keys))),
                Err(TokenError::WrongKind),
                "typ {typ:?}"
            );
        }
    }

    #[test]
    fn a_refresh_token_or_garbage_is_not_an_access_token() {
        let keys = keys_with(&material());
        let refresh = crate::refresh::generate();
        for token in [
            secrecy::ExposeSecret::expose_secret(&refresh.token),
            "",
            "abc",
            "a.b.c",
            "....",
            "eyJ.eyJ.sig",
            "Bearer x",
        ] {
            assert!(keys.verify(token).is_err(), "{token:?} accepted");
        }
    }

    #[test]
    fn tokens_signed_by_a_retired_key_verify_while_it_is_listed() -> Result<(), TokenError> {
        let old = material();
        let new = material();
        let token = keys_with(&old).issue(Uuid::now_v7(), Role::Viewer)?.token;
        let rotated = TokenKeys::new("careergraph", "careergraph-api", &new, &[old.public])?;
        assert!(rotated.verify(&token).is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().map(Vec::len), Some(2));
        assert_eq!(keys_with(&new).verify(&token), Err(TokenError::UnknownKey));
        Ok(())
    }
}
