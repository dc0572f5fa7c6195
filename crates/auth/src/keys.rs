//! Ed25519 signing keys: loaded from PEM, or created once in the data directory and reused.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
/// A public key tokens are verified with (re-exported: callers hold them without naming ed25519-dalek).
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not an Ed25519 key in PEM form.
    #[error("{path} is not an Ed25519 key in PEM (PKCS#8 or SPKI) form")]
    NotEd25519 {
        /// The key file.
        path: String,
    },
}

/// The key access tokens are signed with, and its public half.
pub struct SigningMaterial {
    /// The private key as PKCS#8 PEM; never logged.
    pub private_pem: SecretString,
    /// The public key.
    pub public: VerifyingKey,
}

impl std::fmt::Debug for SigningMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningMaterial").field("kid", &thumbprint(&self.public)).finish_non_exhaustive()
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.display().to_string(), source }
}

/// Reads a PKCS#8 PEM private key.
pub fn load_signing_key(path: &Path) -> Result<SigningMaterial, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(io_error(path))?;
    let key =
        SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::NotEd25519 { path: path.display().to_string() })?;
    Ok(SigningMaterial { public: key.verifying_key(), private_pem: SecretString::from(pem) })
}

/// Reads the key at `path`, or creates one there (readable by its owner only) when there is
/// none. Returns whether it was created.
pub fn load_or_create_signing_key(path: &Path) -> Result<(SigningMaterial, bool), KeyError> {
    if path.exists() {
        return Ok((load_signing_key(path)?, false));
    }
    match create_signing_key(path) {
        Ok(material) => Ok((material, true)),
        // Another process created it first: use theirs.
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((load_signing_key(path)?, false))
        }
        Err(error) => Err(error),
    }
}

/// Creates a new key at `path`, readable by its owner only; never replaces an existing file.
pub fn create_signing_key(path: &Path) -> Result<SigningMaterial, KeyError> {
    let key = SigningKey::generate(&mut OsRng);
    let pem =
        key.to_pkcs8_pem(LineEnding::LF).map_err(|_| KeyError::NotEd25519 { path: path.display().to_string() })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(pem.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error(path))?;
    Ok(SigningMaterial { public: key.verifying_key(), private_pem: SecretString::from(pem.to_string()) })
}

/// Reads a public key for verification only: an SPKI `PUBLIC KEY` PEM, or a private key PEM
/// whose public half is taken.
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(io_error(path))?;
    VerifyingKey::from_public_key_pem(&pem)
        .or_else(|_| SigningKey::from_pkcs8_pem(&pem).map(|key| key.verifying_key()))
        .map_err(|_| KeyError::NotEd25519 { path: path.display().to_string() })
}

/// The public key's `x` as JWKS carries it (base64url, no padding).
pub fn jwk_x(public: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(public.as_bytes())
}

/// The RFC 7638 JWK thumbprint of a public key, used as its `kid`: stable, and derived from the
/// key itself so two servers with the same key agree on it.
pub fn thumbprint(public: &VerifyingKey) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, jwk_x(public));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl SigningMaterial {
    /// The private key PEM, for handing to the JWT encoder.
    pub fn private_pem_bytes(&self) -> &[u8] {
        self.private_pem.expose_secret().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_to_its_owner_and_reused() -> Result<(), KeyError> {
        let dir = tempfile::tempdir().map_err(io_error(Path::new("tempdir")))?;
        let path = dir.path().join("jwt-ed25519.pem");
        let (first, created) = load_or_create_signing_key(&path)?;
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_err(io_error(&path))?.permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, created) = load_or_create_signing_key(&path)?;
        assert!(!created);
        assert_eq!(first.public, second.public);
        assert_eq!(load_public_key(&path)?, first.public);
        Ok(())
    }

    #[test]
    fn a_file_that_is_not_an_ed25519_key_is_refused() -> Result<(), KeyError> {
        let dir = tempfile::tempdir().map_err(io_error(Path::new("tempdir")))?;
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .map_err(io_error(&path))?;
        assert!(matches!(load_signing_key(&path), Err(KeyError::NotEd25519 { .. })));
        Ok(())
    }
}
