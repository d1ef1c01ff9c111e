//! The kinds of configuration a bucket carries beside its record. The
//! metadata store keeps one document per (bucket, kind) under the kind's
//! name; what a document holds is the kind's business:
//!
//! | kind | document | parsed by |
//! |---|---|---|
//! | `Acl` | a canned ACL's name (absent: private) | [`crate::CannedAcl::parse`] |
//! | `Policy` | the bucket policy's JSON, as the owner sent it | `coffer-policy` |
//! | `Cors` | the CORS configuration's XML, as the owner sent it | `coffer-s3-proto::cors` |
//! | `OwnershipControls` | the Object Ownership setting's S3 name, or `none` once deleted (absent: `BucketOwnerEnforced`) | [`crate::ObjectOwnership::parse`] |
//! | `PublicAccessBlock` | the names of the Block Public Access switches that are on, comma-separated | [`crate::PublicAccessBlock::from_stored`] |
//! | `Tagging` | the bucket's tags, as `x-amz-tagging` encodes them | [`crate::TagSet::parse_header`] (up to 50 tags) |
//! | `Lifecycle` | the lifecycle rules as JSON | [`crate::lifecycle::LifecycleConfig`] (serde) |
//! | `ObjectLock` | the default retention of a bucket with object lock (absent: none) | [`crate::DefaultRetention::from_stored`] |

/// A kind of bucket configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BucketConfigKind {
    Acl,
    Policy,
    Cors,
    Tagging,
    PublicAccessBlock,
    OwnershipControls,
    ObjectLock,
    Lifecycle,
}

impl BucketConfigKind {
    /// Every kind.
    pub const ALL: &'static [BucketConfigKind] = &[
        Self::Acl,
        Self::Policy,
        Self::Cors,
        Self::Tagging,
        Self::PublicAccessBlock,
        Self::OwnershipControls,
        Self::ObjectLock,
        Self::Lifecycle,
    ];

    /// The name the metadata store keeps it under (stored: never renamed).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Acl => "acl",
            Self::Policy => "policy",
            Self::Cors => "cors",
            Self::Tagging => "tagging",
            Self::PublicAccessBlock => "publicAccessBlock",
            Self::OwnershipControls => "ownershipControls",
            Self::ObjectLock => "objectLock",
            Self::Lifecycle => "lifecycle",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_stable() {
        let names: Vec<_> = BucketConfigKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            ["acl", "policy", "cors", "tagging", "publicAccessBlock", "ownershipControls", "objectLock", "lifecycle"]
        );
    }
}
