//! Name rules for projects and users, and generation of access key pairs.

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
    fn generated_keys_have_the_documented_shape() {
        let ak = new_access_key();
        assert_eq!(ak.len(), 20);
        assert!(ak.starts_with("CK") && ak.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        let sk = new_secret();
        assert_eq!(sk.len(), 40);
        assert_ne!(sk, new_secret());
    }
}
