//! Name rules for projects, users and IAM paths, and generation of access
//! key pairs and user ids.

use crate::IamError;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The name of every project's root user.
pub const ROOT_USER: &str = "root";

/// Project names: 1–63 of `a-z 0-9 -`, starting with a letter or digit
/// (they appear in ARNs and URLs).
pub fn check_project(name: &str) -> Result<(), IamError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidName(format!(
            "project name {name:?} must be 1-63 characters of a-z, 0-9 and '-', not starting with '-'"
        )))
    }
}

/// User names as IAM allows them: 1–64 of letters, digits and `+=,.@_-`.
pub fn check_user(name: &str) -> Result<(), IamError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidName(format!("user name {name:?} must be 1-64 characters of letters, digits and +=,.@_-")))
    }
}

/// IAM paths as AWS allows them: 1–512 characters of `U+0021`–`U+007E`,
/// starting and ending with `/` (`/` alone, or `/division/team/`).
pub fn check_path(path: &str) -> Result<(), IamError> {
    let ok = path.len() <= 512 && path.starts_with('/') && path.ends_with('/') && printable(path);
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidPath(format!(
            "path {path:?} must be 1-512 printable ASCII characters (no spaces) starting and ending with '/'"
        )))
    }
}

/// A `PathPrefix` of a listing: like a path, but need not end with `/`.
pub fn check_path_prefix(prefix: &str) -> Result<(), IamError> {
    if prefix.len() <= 512 && prefix.starts_with('/') && printable(prefix) {
        Ok(())
    } else {
        Err(IamError::InvalidPath(format!(
            "path prefix {prefix:?} must be 1-512 printable ASCII characters (no spaces) starting with '/'"
        )))
    }
}

/// Every character in `U+0021`–`U+007E`.
fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A new user id: `AIDA` + 17 characters of `A-Z2-7` (21, like AWS's).
pub fn new_user_id() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::thread_rng();
    let tail: String = (0..17).map(|_| ALPHABET[rng.gen_range(0..32)] as char).collect();
    format!("AIDA{tail}")
}

/// A new access key id: `CK` + 18 upper-case letters and digits (20, like AWS's).
pub fn new_access_key() -> String {
    let tail: String = rand::thread_rng().sample_iter(&Alphanumeric).take(18).map(char::from).collect();
    format!("CK{}", tail.to_ascii_uppercase())
}

/// A new secret: 40 letters and digits (about 238 bits).
pub fn new_secret() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_user_names() {
        for ok in ["a", "acme", "team-42", &"x".repeat(63)] {
            check_project(ok).unwrap();
        }
        for bad in ["", "-a", "Acme", "a_b", "a.b", "a/b", "..", &"x".repeat(64)] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
        for ok in ["alice", "Bob.Smith@corp", "svc+ci=1,x_y-z", &"u".repeat(64)] {
            check_user(ok).unwrap();
        }
        for bad in ["", "a b", "a/b", "../x", "é", &"u".repeat(65)] {
            assert!(check_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_and_prefixes() {
        for ok in ["/", "/s3-tests/", "/a/b/c/", "/~!@#$%^&*()_+{}|:\"<>?/", &format!("/{}/", "p".repeat(510))] {
            check_path(ok).unwrap();
        }
        let too_long = format!("/{}/", "p".repeat(511));
        for bad in ["", "//x", "s3-tests/", "/s3-tests", "/a b/", "/tab\t/", "/é/", "/\u{7f}/", &too_long] {
            assert!(matches!(check_path(bad), Err(IamError::InvalidPath(_))), "{bad:?}");
        }
        for ok in ["/", "/s3-tests/a", "/s3-tests/a/x/d"] {
            check_path_prefix(ok).unwrap();
        }
        for bad in ["", "s3", "/a b", &format!("/{}", "p".repeat(512))] {
            assert!(matches!(check_path_prefix(bad), Err(IamError::InvalidPath(_))), "{bad:?}");
        }
    }

    #[test]
    fn generated_user_ids_look_like_aws_ids() {
        let id = new_user_id();
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AIDA") && id.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_ne!(id, new_user_id());
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let ak = new_access_key();
        assert_eq!(ak.len(), 20);
        assert!(ak.starts_with("CK") && ak.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret();
        assert_eq!(sk.len(), 40);
        assert_ne!(sk, new_secret());
    }
}
