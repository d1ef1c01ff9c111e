//! Secrets at rest: every access key's secret is sealed with AES-256-GCM
//! under the deployment's master key, with the access key id as associated
//! data (a sealed secret copied onto another key's row does not open).
//!
//! Format (text, versioned): `v1:` + base64(nonce ‖ ciphertext ‖ tag).
//! Rows migrated from the first schema carry `plain:` + secret until
//! [`crate::Iam::reseal_plain_keys`] seals them at start-up.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const V1: &str = "v1:";
const PLAIN: &str = "plain:";

/// Why a sealed secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("unknown format")]
    Format,
    #[error("authentication failed (wrong master key, or the value was tampered with)")]
    Open,
    #[error("no randomness available")]
    Random,
}

/// The deployment's 256-bit master key.
pub struct MasterKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // A 32-byte key always fits AES-256.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).unwrap_or_else(|_| unreachable!("AES-256 takes 32 bytes"));
        MasterKey { key: LessSafeKey::new(unbound) }
    }

    /// 32 fresh random bytes for a new master key.
    pub fn generate() -> Result<[u8; 32], SealError> {
        let mut b = [0u8; 32];
        SystemRandom::new().fill(&mut b).map_err(|_| SealError::Random)?;
        Ok(b)
    }

    /// Seals `secret`, bound to `access_key`.
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buf = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(access_key.as_bytes()), &mut buf)
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{V1}{}", B64.encode(out)))
    }

    /// Opens a sealed (or legacy plain) secret of `access_key`.
    pub fn open(&self, access_key: &str, sealed: &str) -> Result<String, SealError> {
        if let Some(plain) = sealed.strip_prefix(PLAIN) {
            return Ok(plain.to_owned());
        }
        let b64 = sealed.strip_prefix(V1).ok_or(SealError::Format)?;
        let raw = B64.decode(b64).map_err(|_| SealError::Format)?;
        if raw.len() < NONCE_LEN {
            return Err(SealError::Format);
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Format)?;
        let mut buf = rest.to_vec();
        let clear =
            self.key.open_in_place(nonce, Aad::from(access_key.as_bytes()), &mut buf).map_err(|_| SealError::Open)?;
        String::from_utf8(clear.to_vec()).map_err(|_| SealError::Format)
    }

    /// Whether `sealed` is a legacy plain value awaiting sealing.
    pub fn is_plain(sealed: &str) -> bool {
        sealed.starts_with(PLAIN)
    }
}

/// Associated data of sealed tokens starts with a NUL byte, which no access
/// key id contains: a token never opens as a key's secret, nor the reverse.
const TOKEN_AD: &str = "\0token\0";

impl crate::Iam {
    /// Seals a short-lived token (e.g. a console session) under the master
    /// key, bound to `purpose` (e.g. `console-session`): it opens only for
    /// the same purpose. Same format as sealed secrets.
    pub fn seal_token(&self, purpose: &str, clear: &str) -> Result<String, SealError> {
        self.master.seal(&format!("{TOKEN_AD}{purpose}"), clear)
    }

    /// Opens a token sealed by [`crate::Iam::seal_token`] for `purpose`.
    /// Legacy `plain:` values are refused.
    pub fn open_token(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        if MasterKey::is_plain(sealed) {
            return Err(SealError::Format);
        }
        self.master.open(&format!("{TOKEN_AD}{purpose}"), sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_binding() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let s = k.seal("AK1", "secret/with+chars").unwrap();
        assert!(s.starts_with("v1:"));
        assert!(!s.contains("secret"));
        assert_eq!(k.open("AK1", &s).unwrap(), "secret/with+chars");
        // Bound to its key id, its master key, and its bytes.
        assert!(matches!(k.open("AK2", &s), Err(SealError::Open)));
        assert!(matches!(MasterKey::from_bytes(&[8u8; 32]).open("AK1", &s), Err(SealError::Open)));
        let mut tampered = s.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(k.open("AK1", &String::from_utf8(tampered).unwrap()).is_err());
        // Two seals of one secret differ (random nonce).
        assert_ne!(s, k.seal("AK1", "secret/with+chars").unwrap());
    }

    #[test]
    fn legacy_and_malformed_values() {
        let k = MasterKey::from_bytes(&[1u8; 32]);
        assert_eq!(k.open("AK", "plain:abc").unwrap(), "abc");
        assert!(MasterKey::is_plain("plain:abc") && !MasterKey::is_plain("v1:xx"));
        for bad in ["", "v2:abc", "v1:!!!", "v1:AAAA"] {
            assert!(matches!(k.open("AK", bad), Err(SealError::Format)), "{bad}");
        }
        assert_ne!(MasterKey::generate().unwrap(), MasterKey::generate().unwrap());
    }
}
