//! S3 Block Public Access: four switches a bucket's owner (for one bucket)
//! or a project's root and the operator (for every bucket of the project)
//! turn on so that nothing can be made public, whatever a key holder tries.
//! The settings that apply to a bucket are its own and its project's
//! together: a switch on at either level is on.

/// The four switches (all off: nothing blocked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// Refuse requests that set a public ACL (on buckets and objects).
    pub block_public_acls: bool,
    /// Public ACLs grant nothing.
    pub ignore_public_acls: bool,
    /// Refuse a bucket policy that makes the bucket public.
    pub block_public_policy: bool,
    /// A public bucket policy grants only to the bucket's own project.
    pub restrict_public_buckets: bool,
}

const NAMES: [&str; 4] = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"];

impl PublicAccessBlock {
    /// The name of a project's switches among its settings in the metadata store.
    pub const PROJECT_SETTING: &'static str = "publicAccessBlock";

    /// Every switch on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    /// The switches in S3's order, with their S3 names.
    pub fn switches(&self) -> [(&'static str, bool); 4] {
        let v =
            [self.block_public_acls, self.ignore_public_acls, self.block_public_policy, self.restrict_public_buckets];
        [(NAMES[0], v[0]), (NAMES[1], v[1]), (NAMES[2], v[2]), (NAMES[3], v[3])]
    }

    /// Builds the switches from (S3 name, value) pairs; an unknown name is `Err(name)`.
    pub fn from_switches<'a>(pairs: impl IntoIterator<Item = (&'a str, bool)>) -> Result<Self, String> {
        let mut p = PublicAccessBlock::default();
        for (name, on) in pairs {
            match name {
                "BlockPublicAcls" => p.block_public_acls = on,
                "IgnorePublicAcls" => p.ignore_public_acls = on,
                "BlockPublicPolicy" => p.block_public_policy = on,
                "RestrictPublicBuckets" => p.restrict_public_buckets = on,
                other => return Err(other.to_owned()),
            }
        }
        Ok(p)
    }

    /// The switches on at either level.
    pub fn or(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

    /// Whether any switch is on.
    pub fn any(&self) -> bool {
        *self != PublicAccessBlock::default()
    }

    /// The stored form: the names of the switches that are on, comma-separated.
    pub fn to_stored(&self) -> String {
        self.switches().iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
    }

    /// Reads [`PublicAccessBlock::to_stored`]'s form.
    pub fn from_stored(s: &str) -> Result<Self, String> {
        Self::from_switches(s.split(',').filter(|n| !n.is_empty()).map(|n| (n, true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_and_combination() {
        for p in [
            PublicAccessBlock::default(),
            PublicAccessBlock::ALL,
            PublicAccessBlock { ignore_public_acls: true, ..Default::default() },
            PublicAccessBlock { block_public_acls: true, restrict_public_buckets: true, ..Default::default() },
        ] {
            assert_eq!(PublicAccessBlock::from_stored(&p.to_stored()).unwrap(), p);
        }
        assert_eq!(PublicAccessBlock::default().to_stored(), "");
        assert_eq!(PublicAccessBlock::from_stored("Nope"), Err("Nope".to_string()));
        let a = PublicAccessBlock { block_public_acls: true, ..Default::default() };
        let b = PublicAccessBlock { restrict_public_buckets: true, ..Default::default() };
        let both = a.or(b);
        assert!(both.block_public_acls && both.restrict_public_buckets && !both.ignore_public_acls);
        assert!(both.any() && !PublicAccessBlock::default().any());
    }
}
