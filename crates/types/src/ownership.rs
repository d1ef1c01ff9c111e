//! S3 Object Ownership: whether ACLs are in force on a bucket, and who owns
//! what another project writes into it.
//! - `BucketOwnerEnforced` (the default for new buckets, as on S3 since
//!   2023): ACLs disabled (none may be set and none grants anything), and
//!   the bucket's project owns every object.
//! - `BucketOwnerPreferred`: ACLs work; a writer of another project owns
//!   what it writes unless it gives the `bucket-owner-full-control` ACL.
//! - `ObjectWriter`, and a bucket whose setting was deleted: ACLs work, and
//!   a writer of another project owns what it writes.

/// A bucket's Object Ownership setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectOwnership {
    BucketOwnerEnforced,
    BucketOwnerPreferred,
    ObjectWriter,
}

impl ObjectOwnership {
    /// S3's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOwnership::BucketOwnerEnforced => "BucketOwnerEnforced",
            ObjectOwnership::BucketOwnerPreferred => "BucketOwnerPreferred",
            ObjectOwnership::ObjectWriter => "ObjectWriter",
        }
    }

    /// Parses S3's spelling (exact).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::BucketOwnerEnforced, Self::BucketOwnerPreferred, Self::ObjectWriter]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    /// Whether ACLs are in force.
    pub fn acls_enabled(self) -> bool {
        self != ObjectOwnership::BucketOwnerEnforced
    }

    /// Whether a writer of another project owns an object it writes with
    /// `acl` under `setting` (`None`: the setting was deleted, S3's
    /// behaviour before the setting existed, the same as `ObjectWriter`).
    pub fn writer_owns(setting: Option<Self>, acl: Option<crate::CannedAcl>) -> bool {
        match setting {
            Some(ObjectOwnership::BucketOwnerEnforced) => false,
            Some(ObjectOwnership::BucketOwnerPreferred) => acl != Some(crate::CannedAcl::BucketOwnerFullControl),
            Some(ObjectOwnership::ObjectWriter) | None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling() {
        for o in
            [ObjectOwnership::BucketOwnerEnforced, ObjectOwnership::BucketOwnerPreferred, ObjectOwnership::ObjectWriter]
        {
            assert_eq!(ObjectOwnership::parse(o.as_str()), Some(o));
        }
        assert_eq!(ObjectOwnership::parse("bucketownerenforced"), None);
        assert!(!ObjectOwnership::BucketOwnerEnforced.acls_enabled());
        assert!(ObjectOwnership::BucketOwnerPreferred.acls_enabled());
    }

    #[test]
    fn who_owns_a_foreign_write() {
        use crate::CannedAcl::{BucketOwnerFullControl, BucketOwnerRead, Private};
        let full = Some(BucketOwnerFullControl);
        for acl in [None, Some(Private), Some(BucketOwnerRead), full] {
            assert!(!ObjectOwnership::writer_owns(Some(ObjectOwnership::BucketOwnerEnforced), acl));
            assert!(ObjectOwnership::writer_owns(Some(ObjectOwnership::ObjectWriter), acl));
            assert!(ObjectOwnership::writer_owns(None, acl));
            let preferred = ObjectOwnership::writer_owns(Some(ObjectOwnership::BucketOwnerPreferred), acl);
            assert_eq!(preferred, acl != full, "{acl:?}");
        }
    }
}
