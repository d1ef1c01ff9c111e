//! Canned ACLs: the named access grants S3 accepts in `x-amz-acl`.
//!
//! Coffer keeps ACLs as these names only (no per-grantee lists): the owner
//! always has full control, and the name adds what everyone else may do.

use serde::{Deserialize, Serialize};

/// A canned ACL on a bucket or an object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CannedAcl {
    /// Only the owner (the default).
    #[default]
    Private,
    /// Everyone may read (objects) or list (buckets).
    PublicRead,
    /// Everyone may read, list, and on a bucket also write and delete objects.
    PublicReadWrite,
    /// Every authenticated principal may read or list.
    AuthenticatedRead,
    /// Object ACLs that name the bucket's owner: on an object another
    /// project owns (Object Ownership), they grant the bucket's project
    /// read, or everything; on the bucket owner's own objects, they are private.
    BucketOwnerRead,
    BucketOwnerFullControl,
}

impl CannedAcl {
    /// Every canned ACL, in S3's spelling order.
    pub const ALL: [CannedAcl; 6] = [
        CannedAcl::Private,
        CannedAcl::PublicRead,
        CannedAcl::PublicReadWrite,
        CannedAcl::AuthenticatedRead,
        CannedAcl::BucketOwnerRead,
        CannedAcl::BucketOwnerFullControl,
    ];

    /// The `x-amz-acl` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
            CannedAcl::AuthenticatedRead => "authenticated-read",
            CannedAcl::BucketOwnerRead => "bucket-owner-read",
            CannedAcl::BucketOwnerFullControl => "bucket-owner-full-control",
        }
    }

    /// Parses the `x-amz-acl` spelling (exact, as S3).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Anyone, signed or not, may read (an object) or list (a bucket).
    pub fn public_read(self) -> bool {
        matches!(self, CannedAcl::PublicRead | CannedAcl::PublicReadWrite)
    }

    /// Anyone may create, overwrite and delete objects (meaningful on a bucket).
    pub fn public_write(self) -> bool {
        self == CannedAcl::PublicReadWrite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for a in CannedAcl::ALL {
            assert_eq!(CannedAcl::parse(a.as_str()), Some(a));
        }
        assert_eq!(CannedAcl::parse("Public-Read"), None);
        assert_eq!(CannedAcl::parse("aws-exec-read"), None);
        assert!(CannedAcl::PublicReadWrite.public_read() && CannedAcl::PublicReadWrite.public_write());
        assert!(CannedAcl::PublicRead.public_read() && !CannedAcl::PublicRead.public_write());
        assert!(!CannedAcl::AuthenticatedRead.public_read());
        assert_eq!(CannedAcl::default(), CannedAcl::Private);
    }
}
