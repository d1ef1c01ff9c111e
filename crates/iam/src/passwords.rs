//! Console passwords of project users: Argon2id hashes (PHC strings) kept
//! on the user record, set by an operator or the project's root user, checked
//! at console sign-in.
//!
//! Hashing is deliberately slow (tens of milliseconds, 19 MiB), so it runs
//! on the password worker's own threads, a bounded few at a time
//! (`hasher.rs`): a sign-in that finds no free slot soon is refused
//! ([`SigninError::Busy`]) without hashing. A failed sign-in looks the same
//! whatever the reason (unknown project or user, no password, wrong
//! password): same error, and always one verification, against
//! [`DUMMY_HASH`] when there is no hash, within the same bound.

use crate::hasher::Scratch;
use crate::principal::UserPrincipal;
use crate::{Iam, IamError};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use coffer_meta::MetaError;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The hash verified when a sign-in has no stored hash to check, so that it
/// costs as much as a real one. Argon2id with the default parameters (the
/// ones [`hash_password`] uses; a test checks) of a random password nobody
/// knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$xcT/+fwpqu7I95U6HMXSzg$F3GPEQK0bJirYFkusLDcyhcUIreYd6SMH79YPBcin2A";

/// `WeakPassword` unless the password has an acceptable length.
fn check_strength(password: &str) -> Result<(), IamError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(IamError::WeakPassword(format!(
            "a console password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(IamError::WeakPassword(format!(
            "a console password may have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Argon2's raw output for `params` into `out`, in `scratch` (grown to the
/// default cost once and kept; a larger cost gets memory of its own).
fn compute(
    argon: &Argon2,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), argon2::Error> {
    let need = params.block_count();
    if need > Params::DEFAULT.block_count() {
        let mut own = vec![Block::default(); need];
        return argon.hash_password_into_with_memory(password, salt, out, &mut own[..]);
    }
    if scratch.len() < need {
        scratch.resize(need, Block::default());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut scratch[..need])
}

/// The Argon2id PHC string of `password` with the default parameters and a
/// fresh random salt. CPU-heavy: call on a password thread.
fn hash_password(password: &str, scratch: &mut Scratch) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let params = Params::DEFAULT;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let hash = (|| -> Result<String, password_hash::Error> {
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf)?;
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            Ok(compute(&argon, &params, password.as_bytes(), salt_bytes, out, scratch)?)
        })?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    })();
    // Only invalid parameters, salt or output lengths fail; the defaults
    // and a generated salt are valid.
    hash.expect("Argon2id with default parameters")
}

/// Whether `password` gives the hash `phc` holds; `false` for a hash this
/// code cannot check. The outputs are compared in constant time.
fn matches(phc: &PasswordHash, password: &str, scratch: &mut Scratch) -> bool {
    let mut check = || -> Result<bool, password_hash::Error> {
        let algorithm = Algorithm::try_from(phc.algorithm)?;
        let version = phc.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let params = Params::try_from(phc)?;
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else { return Ok(false) };
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf)?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let actual = Output::init_with(expected.len(), |out| {
            Ok(compute(&argon, &params, password.as_bytes(), salt_bytes, out, scratch)?)
        })?;
        Ok(actual == expected)
    };
    check().unwrap_or(false)
}

/// Whether `password` matches the PHC string `hash` (`None`, or a hash that
/// does not parse: checked against [`DUMMY_HASH`] and never matches).
/// CPU-heavy: call on a password thread.
fn verify_password(hash: Option<&str>, password: &str, scratch: &mut Scratch) -> bool {
    let parsed = hash.and_then(|h| match PasswordHash::new(h) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, "stored console password hash does not parse; sign-in refused");
            None
        }
    });
    match parsed {
        Some(p) => matches(&p, password, scratch),
        None => {
            let dummy = PasswordHash::new(DUMMY_HASH).expect("the dummy hash parses");
            let _ = matches(&dummy, password, scratch);
            false
        }
    }
}

/// Why a console sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SigninError {
    /// Unknown project or user, no password, or a wrong one (deliberately
    /// indistinguishable).
    #[error("the user name or password is wrong")]
    BadCredentials,
    /// Every password slot stayed busy: nothing was checked; retry shortly.
    #[error("too many sign-ins are being checked at once; try again shortly")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Failed(#[from] IamError),
}

impl Iam {
    /// Sets (Some) or removes (None) a user's console password. At least 12
    /// characters, at most 1024; else [`IamError::WeakPassword`]. The user is
    /// found by its name in any case; `NoSuchUser` if missing. Only an
    /// Argon2id hash is stored.
    pub async fn set_password(&self, project: &str, user: &str, password: Option<&str>) -> Result<(), IamError> {
        if let Some(p) = password {
            check_strength(p)?;
        }
        let rec = self.user(project, user).await?;
        let hash = match password {
            Some(p) => {
                let p = p.to_owned();
                Some(self.hasher.run(move |scratch| hash_password(&p, scratch)).await)
            }
            None => None,
        };
        match self.store.set_user_password(project, &rec.name, hash.as_deref()).await {
            Err(MetaError::NotFound) => Err(IamError::NoSuchUser(user.into())),
            r => Ok(r?),
        }
    }

    /// Checks a console sign-in. `Ok` with the user's principal (policies
    /// loaded as [`Iam::resolve`] does; `access_key` empty) when the user
    /// (found by its name in any case) exists, has a password and it matches;
    /// [`SigninError::BadCredentials`] otherwise, whatever the reason, after
    /// one Argon2id verification in every case. [`SigninError::Busy`] when no
    /// password slot freed up within [`crate::SIGNIN_WAIT`] (nothing was
    /// verified). Store failures are passed on.
    pub async fn check_password(
        &self,
        project: &str,
        user: &str,
        password: &str,
    ) -> Result<UserPrincipal, SigninError> {
        let rec = match self.user(project, user).await {
            Ok(rec) => Some(rec),
            Err(IamError::NoSuchUser(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let hash = rec.as_ref().and_then(|r| r.password_hash.clone());
        let password = password.to_owned();
        let ok = self
            .hasher
            .run_within(self.signin_wait, move |scratch| verify_password(hash.as_deref(), &password, scratch))
            .await
            .map_err(|_| SigninError::Busy)?;
        match rec {
            Some(rec) if ok => Ok(UserPrincipal {
                policies: if rec.root { Vec::new() } else { Iam::policies_of(&rec) },
                project: rec.project,
                user: rec.name,
                path: rec.path,
                root: rec.root,
                access_key: String::new(),
            }),
            _ => Err(SigninError::BadCredentials),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_costs_as_much_as_a_real_one() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let mut scratch = Scratch::new();
        let real_text = hash_password("correct horse battery staple", &mut scratch);
        let real = PasswordHash::new(&real_text).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        let cost = |h: &PasswordHash| {
            let p = argon2::Params::try_from(h).unwrap();
            (p.m_cost(), p.t_cost(), p.p_cost(), p.output_len())
        };
        assert_eq!(cost(&dummy), cost(&real));
        let d = argon2::Params::default();
        assert_eq!(cost(&real), (d.m_cost(), d.t_cost(), d.p_cost(), Some(argon2::Params::DEFAULT_OUTPUT_LEN)));
        assert!(!verify_password(None, "correct horse battery staple", &mut scratch));
        assert!(!verify_password(Some("not a phc string"), "correct horse battery staple", &mut scratch));
        assert!(verify_password(Some(&real_text), "correct horse battery staple", &mut scratch));
    }

    #[test]
    fn strength_counts_characters() {
        assert!(check_strength(&"é".repeat(12)).is_ok());
        assert!(matches!(check_strength(&"é".repeat(11)), Err(IamError::WeakPassword(_))));
        assert!(check_strength(&"x".repeat(1024)).is_ok());
        assert!(matches!(check_strength(&"x".repeat(1025)), Err(IamError::WeakPassword(_))));
    }
}

#[cfg(test)]
mod compatibility {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Hashes made here verify with the argon2 crate's own verifier and the
    /// reverse, and one scratch buffer serves every job without growing.
    #[test]
    fn same_answers_as_the_argon2_crate_and_memory_is_reused() {
        let mut scratch = Scratch::new();
        let ours = hash_password("tr0ub4dor&3 but longer", &mut scratch);
        let blocks = scratch.len();
        assert_eq!(blocks, Params::DEFAULT.block_count());
        let parsed = PasswordHash::new(&ours).unwrap();
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert!(Argon2::default().verify_password(b"tr0ub4dor&3 but longer", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"tr0ub4dor&3 but shorter", &parsed).is_err());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default().hash_password(b"another password!", &salt).unwrap().to_string();
        assert!(verify_password(Some(&theirs), "another password!", &mut scratch));
        assert!(!verify_password(Some(&theirs), "another password?", &mut scratch));
        // A hash with other (cheaper) parameters still checks.
        let cheap = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let cheap_text = cheap.hash_password(b"cheap but fine", &salt).unwrap().to_string();
        assert!(verify_password(Some(&cheap_text), "cheap but fine", &mut scratch));
        assert!(!verify_password(Some(&cheap_text), "cheap but wrong", &mut scratch));
        assert_eq!((scratch.len(), scratch.capacity() >= blocks), (blocks, true), "the same memory every time");
    }
}
