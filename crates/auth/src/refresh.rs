//! Refresh tokens: 256-bit random, opaque, stored only as a hash, rotated on every use.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// How long a session lasts from sign-in, however often it is refreshed.
pub const LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Marks careergraph refresh tokens, so secret scanners and people can recognise a leaked one.
const PREFIX: &str = "cgr_";

/// A new refresh token: the secret for the client, and the hash to store.
pub struct NewRefreshToken {
    /// Given to the client once; never stored.
    pub token: SecretString,
    /// What the database keeps.
    pub hash: String,
}

/// Makes a fresh token from 32 bytes of the operating system's randomness.
pub fn generate() -> NewRefreshToken {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    NewRefreshToken { token: SecretString::from(token), hash }
}

/// The stored form of a token. A plain SHA-256 suffices: the token has 256 bits of entropy,
/// so there is nothing for a slow hash to protect against.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a presented refresh token turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented {
    /// Unused, unrevoked, unexpired: rotate it.
    Active,
    /// Already exchanged once. Someone holds a copy: revoke its whole family.
    Reused,
    /// Revoked (logout, password change, reuse elsewhere in its family) or expired.
    Dead,
    /// Not a token this server issued.
    Unknown,
}

/// Classifies a stored token; `None` when no token has the presented hash.
pub fn classify(stored: Option<StoredState>) -> Presented {
    match stored {
        None => Presented::Unknown,
        Some(StoredState { revoked: true, .. } | StoredState { expired: true, .. }) => Presented::Dead,
        Some(StoredState { used: true, .. }) => Presented::Reused,
        Some(_) => Presented::Active,
    }
}

/// The facts about a stored token that decide what presenting it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredState {
    /// It was already exchanged for a new one.
    pub used: bool,
    /// It, or its family, was revoked.
    pub revoked: bool,
    /// Its session's absolute lifetime is over.
    pub expired: bool,
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_their_hash() {
        let a = generate();
        let b = generate();
        assert_ne!(a.token.expose_secret(), b.token.expose_secret());
        assert_eq!(a.token.expose_secret().len(), PREFIX.len() + 43);
        assert_eq!(a.hash, hash(a.token.expose_secret()));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token.expose_secret()[PREFIX.len()..]));
    }

    #[test]
    fn a_spent_token_means_reuse_but_a_revoked_or_expired_one_is_just_dead() {
        let state = |used, revoked, expired| Some(StoredState { used, revoked, expired });
        assert_eq!(classify(None), Presented::Unknown);
        assert_eq!(classify(state(false, false, false)), Presented::Active);
        assert_eq!(classify(state(true, false, false)), Presented::Reused);
        assert_eq!(classify(state(true, true, false)), Presented::Dead);
        assert_eq!(classify(state(false, false, true)), Presented::Dead);
    }
}
