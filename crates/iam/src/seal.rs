//! Secrets at rest: every access key's secret is sealed with AES-256-GCM
//! under the deployment's master key, with the access key id as associated
//! data (a sealed secret copied onto another key's row does not open).
//!
//! A deployment holds a [`Keyring`]: one or more master keys, the first of
//! which seals while every one of them opens. Rotating the master key puts a
//! new key first, re-seals every stored value under it
//! ([`crate::Iam::reseal_all`]), then drops the old key.
//!
//! Formats (text, versioned):
//! - `v2:<id>:` + base64(nonce ‖ ciphertext ‖ tag), where `<id>` is the
//!   sealing key's [`KeyId`] (8 hex digits): what is sealed now.
//! - `v1:` + base64(nonce ‖ ciphertext ‖ tag), sealed by an older version
//!   under an unnamed key: every key of the ring is tried.
//! - `plain:` + secret: rows migrated from the first schema, until
//!   [`crate::Iam::reseal_plain_keys`] seals them at start-up.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const V1: &str = "v1:";
const V2: &str = "v2:";
const PLAIN: &str = "plain:";
/// What a key's id is a digest of, before the key's bytes: the id names
/// the key without being any other digest of it in use.
const KEY_ID_DOMAIN: &[u8] = b"coffer-master-key-id\0";

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("unknown format")]
    Format,
    #[error("authentication failed (wrong master key, or the value was tampered with)")]
    Open,
    /// A `v2` value names a key that is not in the keyring.
    #[error("sealed under master key {0}, which is not in the keyring")]
    UnknownKey(KeyId),
    #[error("a keyring needs at least one master key")]
    NoKeys,
    #[error("no randomness available")]
    Random,
}

/// A master key's short public name: the first 4 bytes of SHA-256 over a
/// fixed prefix and the key, shown as 8 hex digits. It tells keys apart in
/// sealed values, logs and files; it reveals nothing usable about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    /// The id of a key from its 32 bytes.
    fn of(bytes: &[u8; 32]) -> KeyId {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(KEY_ID_DOMAIN);
        ctx.update(bytes);
        let digest = ctx.finish();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest.as_ref()[..4]);
        KeyId(id)
    }

    /// An id from its 8 hex digits (either case).
    pub fn parse(s: &str) -> Option<KeyId> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; 4];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(KeyId(id))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One 256-bit master key.
pub struct MasterKey {
    key: LessSafeKey,
    id: KeyId,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.id)
    }
}

impl MasterKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // A 32-byte key always fits AES-256.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).unwrap_or_else(|_| unreachable!("AES-256 takes 32 bytes"));
        MasterKey { key: LessSafeKey::new(unbound), id: KeyId::of(bytes) }
    }

    /// 32 fresh random bytes for a new master key.
    pub fn generate() -> Result<[u8; 32], SealError> {
        let mut b = [0u8; 32];
        SystemRandom::new().fill(&mut b).map_err(|_| SealError::Random)?;
        Ok(b)
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Seals `secret`, bound to `access_key` (format `v2`, naming this key).
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<String, SealError> {
        Ok(format!("{V2}{}:{}", self.id, B64.encode(self.seal_raw(access_key, secret)?)))
    }

    /// Seals in format `v1`, which names no key (what a ring of one key
    /// writes, so that servers older than key rotation read it).
    fn seal_v1(&self, access_key: &str, secret: &str) -> Result<String, SealError> {
        Ok(format!("{V1}{}", B64.encode(self.seal_raw(access_key, secret)?)))
    }

    /// Nonce ‖ ciphertext ‖ tag.
    fn seal_raw(&self, access_key: &str, secret: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buf = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(access_key.as_bytes()), &mut buf)
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens a sealed (or legacy plain) secret of `access_key`.
    pub fn open(&self, access_key: &str, sealed: &str) -> Result<String, SealError> {
        open_with(std::slice::from_ref(self), access_key, sealed)
    }

    /// Whether `sealed` is a legacy plain value awaiting sealing.
    pub fn is_plain(sealed: &str) -> bool {
        sealed.starts_with(PLAIN)
    }

    /// Opens raw nonce ‖ ciphertext ‖ tag bytes.
    fn open_raw(&self, access_key: &str, raw: &[u8]) -> Result<String, SealError> {
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Format)?;
        let mut buf = rest.to_vec();
        let clear =
            self.key.open_in_place(nonce, Aad::from(access_key.as_bytes()), &mut buf).map_err(|_| SealError::Open)?;
        String::from_utf8(clear.to_vec()).map_err(|_| SealError::Format)
    }
}

/// The master keys of a deployment: never empty; the first seals, every
/// one opens.
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Keyring").field(&self.ids()).finish()
    }
}

impl From<MasterKey> for Keyring {
    fn from(key: MasterKey) -> Self {
        Keyring { keys: vec![key] }
    }
}

impl Keyring {
    /// A ring of `keys`, the first of which seals; `NoKeys` if empty.
    pub fn new(keys: Vec<MasterKey>) -> Result<Keyring, SealError> {
        if keys.is_empty() {
            return Err(SealError::NoKeys);
        }
        Ok(Keyring { keys })
    }

    /// The key that seals.
    pub fn current(&self) -> &MasterKey {
        // Never empty (checked by `new`).
        &self.keys[0]
    }

    /// Every key, the one that seals first.
    pub fn keys(&self) -> &[MasterKey] {
        &self.keys
    }

    /// The ids of the keys, the one that seals first.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(MasterKey::id).collect()
    }

    /// Seals under the first key: in format `v2` (naming the key) while the
    /// ring holds several, during a rotation; in `v1` with one key, which
    /// servers older than key rotation read too (a rolling upgrade).
    pub fn seal(&self, access_key: &str, secret: &str) -> Result<String, SealError> {
        match self.keys.len() {
            1 => self.current().seal_v1(access_key, secret),
            _ => self.current().seal(access_key, secret),
        }
    }

    /// Opens a value sealed under any key of the ring (or a legacy plain one).
    pub fn open(&self, access_key: &str, sealed: &str) -> Result<String, SealError> {
        open_with(&self.keys, access_key, sealed)
    }

    /// Whether `sealed` is already sealed under the first key (`v1` and
    /// `plain:` values never are: they name no key).
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed_under(sealed) == Some(self.current().id())
    }
}

/// The key a `v2` value names; `None` for any other value (`v1`, `plain:`,
/// malformed). Says nothing about whether the value opens.
pub fn sealed_under(sealed: &str) -> Option<KeyId> {
    match parse(sealed) {
        Ok(Parsed::V2(id, _)) => Some(id),
        _ => None,
    }
}

enum Parsed<'a> {
    Plain(&'a str),
    V1(Vec<u8>),
    V2(KeyId, Vec<u8>),
}

fn parse(sealed: &str) -> Result<Parsed<'_>, SealError> {
    if let Some(plain) = sealed.strip_prefix(PLAIN) {
        return Ok(Parsed::Plain(plain));
    }
    let (id, b64) = if let Some(rest) = sealed.strip_prefix(V2) {
        let (id, b64) = rest.split_once(':').ok_or(SealError::Format)?;
        (Some(KeyId::parse(id).ok_or(SealError::Format)?), b64)
    } else {
        (None, sealed.strip_prefix(V1).ok_or(SealError::Format)?)
    };
    let raw = B64.decode(b64).map_err(|_| SealError::Format)?;
    if raw.len() < NONCE_LEN {
        return Err(SealError::Format);
    }
    Ok(match id {
        Some(id) => Parsed::V2(id, raw),
        None => Parsed::V1(raw),
    })
}

/// Opens `sealed` with whichever of `keys` it was sealed under.
fn open_with(keys: &[MasterKey], access_key: &str, sealed: &str) -> Result<String, SealError> {
    match parse(sealed)? {
        Parsed::Plain(p) => Ok(p.to_owned()),
        // Sealed before keys had names: any key of the ring may be the one.
        Parsed::V1(raw) => keys.iter().find_map(|k| k.open_raw(access_key, &raw).ok()).ok_or(SealError::Open),
        Parsed::V2(id, raw) => {
            let mut named = keys.iter().filter(|k| k.id == id).peekable();
            if named.peek().is_none() {
                return Err(SealError::UnknownKey(id));
            }
            // Two keys sharing an id (one chance in 2^32) are both tried.
            named.find_map(|k| k.open_raw(access_key, &raw).ok()).ok_or(SealError::Open)
        }
    }
}

/// Associated data of sealed tokens starts with a NUL byte, which no access
/// key id contains: a token never opens as a key's secret, nor the reverse.
const TOKEN_AD: &str = "\0token\0";

impl crate::Iam {
    /// Seals a short-lived token (e.g. a console session) under the master
    /// key that seals now, bound to `purpose` (e.g. `console-session`): it
    /// opens only for the same purpose. Same format as sealed secrets.
    pub fn seal_token(&self, purpose: &str, clear: &str) -> Result<String, SealError> {
        self.keyring().seal(&format!("{TOKEN_AD}{purpose}"), clear)
    }

    /// Opens a token sealed by [`crate::Iam::seal_token`] for `purpose`,
    /// under any key of the current ring. Legacy `plain:` values are refused.
    pub fn open_token(&self, purpose: &str, sealed: &str) -> Result<String, SealError> {
        if MasterKey::is_plain(sealed) {
            return Err(SealError::Format);
        }
        self.keyring().open(&format!("{TOKEN_AD}{purpose}"), sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value sealed the way versions before key ids did (`v1:`).
    fn seal_v1(k: &MasterKey, access_key: &str, secret: &str) -> String {
        let nonce = [5u8; NONCE_LEN];
        let mut buf = secret.as_bytes().to_vec();
        k.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(access_key.as_bytes()), &mut buf)
            .unwrap();
        format!("{V1}{}", B64.encode([nonce.as_slice(), &buf].concat()))
    }

    fn flip_last_char(s: &str) -> String {
        let mut b = s.as_bytes().to_vec();
        let last = b.len() - 3;
        b[last] = if b[last] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn a_ring_of_one_seals_in_v1_and_a_rotation_in_v2() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let one = Keyring::new(vec![MasterKey::from_bytes(&old)]).unwrap();
        let s = one.seal("AK", "s").unwrap();
        assert!(s.starts_with("v1:"), "servers older than rotation read it: {s}");
        let two = Keyring::new(vec![MasterKey::from_bytes(&new), MasterKey::from_bytes(&old)]).unwrap();
        let t = two.seal("AK", "s").unwrap();
        assert_eq!(sealed_under(&t), Some(MasterKey::from_bytes(&new).id()));
        assert_eq!(two.open("AK", &s).unwrap(), "s", "the old key's v1 value opens in the ring");
    }

    #[test]
    fn seal_open_roundtrip_and_binding() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let s = k.seal("AK1", "secret/with+chars").unwrap();
        assert!(s.starts_with(&format!("v2:{}:", k.id())), "{s}");
        assert!(!s.contains("secret"));
        assert_eq!(k.open("AK1", &s).unwrap(), "secret/with+chars");
        assert_eq!(sealed_under(&s), Some(k.id()));
        // Bound to its key id, its master key, and its bytes.
        assert!(matches!(k.open("AK2", &s), Err(SealError::Open)));
        assert!(matches!(MasterKey::from_bytes(&[8u8; 32]).open("AK1", &s), Err(SealError::UnknownKey(_))));
        assert!(k.open("AK1", &flip_last_char(&s)).is_err());
        // Two seals of one secret differ (random nonce).
        assert_ne!(s, k.seal("AK1", "secret/with+chars").unwrap());
    }

    #[test]
    fn key_ids_are_stable_hex_and_tell_keys_apart() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let id = k.id().to_string();
        assert_eq!(id.len(), 8);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
        assert_eq!(MasterKey::from_bytes(&[7u8; 32]).id(), k.id());
        assert_ne!(MasterKey::from_bytes(&[8u8; 32]).id(), k.id());
        assert_eq!(KeyId::parse(&id), Some(k.id()));
        assert_eq!(KeyId::parse(&id.to_uppercase()), Some(k.id()));
        for bad in ["", "abc", "abcdefgh", "0123456789", "+1234567"] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
        // Known answer: the id is SHA-256("coffer-master-key-id\0" ‖ key)[..4].
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"coffer-master-key-id\0");
        ctx.update(&[7u8; 32]);
        let d = ctx.finish();
        assert_eq!(id, d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert!(format!("{k:?}").contains(&id) && format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn v1_values_still_open_with_any_key_of_the_ring() {
        let (old, new) = (MasterKey::from_bytes(&[1u8; 32]), MasterKey::from_bytes(&[2u8; 32]));
        let v1 = seal_v1(&old, "AK", "s3cret");
        assert_eq!(old.open("AK", &v1).unwrap(), "s3cret");
        assert_eq!(sealed_under(&v1), None);
        let ring = Keyring::new(vec![MasterKey::from_bytes(&[2u8; 32]), MasterKey::from_bytes(&[1u8; 32])]).unwrap();
        assert_eq!(ring.open("AK", &v1).unwrap(), "s3cret");
        assert!(!ring.is_current(&v1), "a v1 value is never under the current key");
        assert!(matches!(new.open("AK", &v1), Err(SealError::Open)));
        assert!(matches!(ring.open("AK2", &v1), Err(SealError::Open)));
        assert!(ring.open("AK", &flip_last_char(&v1)).is_err());
    }

    #[test]
    fn a_ring_seals_under_its_first_key_and_opens_under_all() {
        let old = MasterKey::from_bytes(&[1u8; 32]);
        let by_old = old.seal("AK", "s").unwrap();
        let ring = Keyring::new(vec![MasterKey::from_bytes(&[2u8; 32]), MasterKey::from_bytes(&[1u8; 32])]).unwrap();
        assert_eq!(ring.ids(), vec![MasterKey::from_bytes(&[2u8; 32]).id(), old.id()]);
        assert_eq!(ring.open("AK", &by_old).unwrap(), "s");
        assert!(!ring.is_current(&by_old));
        let by_ring = ring.seal("AK", "s").unwrap();
        assert!(ring.is_current(&by_ring));
        assert_eq!(sealed_under(&by_ring), Some(ring.current().id()));
        assert_eq!(ring.open("AK", &by_ring).unwrap(), "s");
        // The new key alone: the old key's value no longer opens.
        let only_new = Keyring::from(MasterKey::from_bytes(&[2u8; 32]));
        assert!(matches!(only_new.open("AK", &by_old), Err(SealError::UnknownKey(id)) if id == old.id()));
        assert_eq!(only_new.open("AK", &by_ring).unwrap(), "s");
        // Tampering: with the bytes, or with the id (another key's name).
        assert!(matches!(ring.open("AK", &flip_last_char(&by_ring)), Err(SealError::Open)));
        let renamed = by_old.replacen(&old.id().to_string(), &ring.current().id().to_string(), 1);
        assert!(matches!(ring.open("AK", &renamed), Err(SealError::Open)));
        assert!(matches!(Keyring::new(Vec::new()), Err(SealError::NoKeys)));
        assert_eq!(format!("{ring:?}"), format!("Keyring({:?})", ring.ids()));
    }

    #[test]
    fn legacy_and_malformed_values() {
        let k = MasterKey::from_bytes(&[1u8; 32]);
        assert_eq!(k.open("AK", "plain:abc").unwrap(), "abc");
        assert!(MasterKey::is_plain("plain:abc") && !MasterKey::is_plain("v1:xx"));
        assert!(!Keyring::from(MasterKey::from_bytes(&[1u8; 32])).is_current("plain:abc"));
        let id = k.id();
        for bad in [
            "".to_owned(),
            "v3:abc".into(),
            "v1:!!!".into(),
            "v1:AAAA".into(),
            "v2:abc".into(),
            format!("v2:{id}"),
            format!("v2:{id}:!!!"),
            format!("v2:{id}:AAAA"),
            "v2:zzzzzzzz:AAAAAAAAAAAAAAAAAAAAAAAA".into(),
        ] {
            assert!(matches!(k.open("AK", &bad), Err(SealError::Format)), "{bad}");
            assert_eq!(sealed_under(&bad), None, "{bad}");
        }
        assert_ne!(MasterKey::generate().unwrap(), MasterKey::generate().unwrap());
    }
}
