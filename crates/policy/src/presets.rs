//! Built-in identity policies a user can be given by name instead of writing a document.
//!
//! | name | ARN | grants |
//! |---|---|---|
//! | `full-access` | `arn:aws:iam::aws:policy/AmazonS3FullAccess` | every S3 action |
//! | `read-only` | `arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess` | `s3:Get*`, `s3:List*`: list buckets and objects, read objects and configuration |
//! | `read-object-only` | `arn:aws:iam::coffer:policy/S3ReadObjectOnly` | read objects (and their versions, ACLs, tags); no listing at all |
//! | `write-only` | `arn:aws:iam::coffer:policy/S3WriteOnly` | upload objects, multipart included; no reads, listings or deletes |

use crate::Policy;
use std::sync::OnceLock;

/// A built-in identity policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Every S3 action on every resource.
    FullAccess,
    /// `s3:Get*` and `s3:List*` on every resource.
    ReadOnly,
    /// Object reads only: `s3:GetObject`, `s3:GetObjectVersion`, `s3:GetObjectAcl`, `s3:GetObjectTagging`.
    ReadObjectOnly,
    /// Object writes only: `s3:PutObject` (which covers multipart uploads), `s3:PutObjectAcl`,
    /// `s3:AbortMultipartUpload`, `s3:ListMultipartUploadParts`.
    WriteOnly,
}

const FULL_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "FullAccess", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
  ]
}"#;

const READ_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOnly", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}
  ]
}"#;

const READ_OBJECT_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadObjects",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectTagging"],
      "Resource": "arn:aws:s3:::*/*"
    }
  ]
}"#;

const WRITE_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "WriteObjects",
      "Effect": "Allow",
      "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": "arn:aws:s3:::*/*"
    }
  ]
}"#;

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 4] = [Preset::FullAccess, Preset::ReadOnly, Preset::ReadObjectOnly, Preset::WriteOnly];

    /// The short name: `full-access`, `read-only`, `read-object-only` or `write-only`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::FullAccess => "full-access",
            Preset::ReadOnly => "read-only",
            Preset::ReadObjectOnly => "read-object-only",
            Preset::WriteOnly => "write-only",
        }
    }

    /// The preset with this short name or ARN (exact spelling).
    pub fn from_name(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == s || p.arn() == s)
    }

    /// The policy ARN, as IAM's managed-policy APIs show it.
    pub fn arn(self) -> &'static str {
        match self {
            Preset::FullAccess => "arn:aws:iam::aws:policy/AmazonS3FullAccess",
            Preset::ReadOnly => "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            Preset::ReadObjectOnly => "arn:aws:iam::coffer:policy/S3ReadObjectOnly",
            Preset::WriteOnly => "arn:aws:iam::coffer:policy/S3WriteOnly",
        }
    }

    /// The policy document (JSON).
    pub fn document(self) -> &'static str {
        match self {
            Preset::FullAccess => FULL_ACCESS,
            Preset::ReadOnly => READ_ONLY,
            Preset::ReadObjectOnly => READ_OBJECT_ONLY,
            Preset::WriteOnly => WRITE_ONLY,
        }
    }

    /// The parsed policy (parsed once, then cloned).
    pub fn policy(self) -> Policy {
        static PARSED: OnceLock<Vec<Policy>> = OnceLock::new();
        let parsed = PARSED.get_or_init(|| {
            Preset::ALL
                .iter()
                .map(|p| {
                    // The documents are constants, and a test parses each of them.
                    Policy::parse_identity(p.document()).expect("preset policy documents are valid")
                })
                .collect()
        });
        parsed[self as usize].clone()
    }
}
