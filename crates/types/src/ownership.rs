//! S3 Object Ownership: whether ACLs are in force on a bucket. Coffer's
//! objects always belong to the bucket's owner (its project), so of S3's
//! three settings two are built: `BucketOwnerEnforced` (ACLs disabled: none
//! may be set and none grants anything; the default for new buckets, as on
//! S3 since 2023) and `BucketOwnerPreferred` (ACLs work). `ObjectWriter`
//! (the writer owns what it writes) is not.

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
}
