//! Block Public Access: a bucket's switches (its
//! [`BucketConfigKind::PublicAccessBlock`] document) and its project's (a
//! project setting), which together decide what applies to the bucket. The
//! engine refuses a public ACL where `BlockPublicAcls` is on, on every path
//! that sets one (PUT, copy, multipart, Put*Acl); the HTTP layer and the
//! console enforce the policy switches, which need the policy language.

use crate::{BucketInfo, Engine, EngineError};
use coffer_meta::BucketStamp;
use coffer_types::{BucketConfigKind, CannedAcl, PublicAccessBlock};
use std::time::Instant;

const PROJECT_SETTING: &str = PublicAccessBlock::PROJECT_SETTING;

fn parse(stored: &str, whose: &str) -> Result<PublicAccessBlock, EngineError> {
    PublicAccessBlock::from_stored(stored)
        .map_err(|e| EngineError::Internal(format!("stored public access block of {whose} names {e:?}")))
}

/// Whether a canned ACL makes what it is set on public (S3 counts
/// `authenticated-read` as public too: every signed-in AWS user).
pub fn is_public_acl(acl: CannedAcl) -> bool {
    acl.public_read() || acl == CannedAcl::AuthenticatedRead
}

impl Engine {
    /// The bucket's own switches (`None`: it has none; S3's
    /// `NoSuchPublicAccessBlockConfiguration`).
    pub async fn bucket_public_access_block(&self, bucket: &str) -> Result<Option<PublicAccessBlock>, EngineError> {
        match self.bucket_config(bucket, BucketConfigKind::PublicAccessBlock).await? {
            Some(s) => parse(&s, bucket).map(Some),
            None => Ok(None),
        }
    }

    /// Sets (`None`: removes) the bucket's own switches.
    pub async fn set_bucket_public_access_block(
        &self,
        bucket: &str,
        stamp: Option<&BucketStamp>,
        value: Option<PublicAccessBlock>,
    ) -> Result<(), EngineError> {
        let stored = value.map(|p| p.to_stored());
        self.write_bucket_config(bucket, stamp, BucketConfigKind::PublicAccessBlock, stored).await
    }

    /// The project's switches (all off when none are set); read at most the
    /// bucket TTL ago.
    pub async fn project_public_access_block(&self, project: &str) -> Result<PublicAccessBlock, EngineError> {
        if let Some(p) = self.projects.get(project) {
            return Ok(p);
        }
        let (gen, read_at) = (self.projects.generation(), Instant::now());
        let p = match self.meta.get_project_config(project, PROJECT_SETTING).await? {
            Some(s) => parse(&s, project)?,
            None => PublicAccessBlock::default(),
        };
        self.projects.put(gen, read_at, project, p);
        Ok(p)
    }

    /// Sets the project's switches (all off removes the setting).
    pub async fn set_project_public_access_block(
        &self,
        project: &str,
        value: PublicAccessBlock,
    ) -> Result<(), EngineError> {
        let stored = value.any().then(|| value.to_stored());
        let r = self.meta.set_project_config(project, PROJECT_SETTING, stored).await;
        self.projects.forget(project);
        Ok(r?)
    }

    /// What applies to the bucket: its switches and its project's together.
    pub async fn effective_public_access_block(&self, bucket: &BucketInfo) -> Result<PublicAccessBlock, EngineError> {
        let own = self.bucket_public_access_block(&bucket.name).await?.unwrap_or_default();
        Ok(own.or(self.project_public_access_block(&bucket.project).await?))
    }

    /// Refuses a public ACL on `bucket` (or an object in it) where ACLs are
    /// disabled (Object Ownership) or `BlockPublicAcls` applies.
    pub(crate) async fn allow_acl(&self, bucket: &str, acl: Option<CannedAcl>) -> Result<(), EngineError> {
        if !acl.is_some_and(is_public_acl) {
            return Ok(());
        }
        let info = self.head_bucket(bucket).await?;
        if self.effective_public_access_block(&info).await?.block_public_acls {
            return Err(EngineError::PublicAccessBlocked("public ACLs are blocked (BlockPublicAcls)"));
        }
        if !self.acls_enabled(bucket).await? {
            return Err(EngineError::AclNotSupported);
        }
        Ok(())
    }
}
