//! Projects: created with their root user, deleted only once they own no bucket.

use crate::names::{self, ROOT_USER};
use crate::{Iam, IamError};
use coffer_meta::{MetaError, ProjectRecord, UserRecord, DEFAULT_USER_PATH};

impl Iam {
    /// Creates a project and its root user.
    pub async fn create_project(&self, name: &str) -> Result<ProjectRecord, IamError> {
        names::check_project(name)?;
        let now = coffer_types::now_millis();
        let rec = ProjectRecord { name: name.to_owned(), created: now };
        match self.store.create_project(rec.clone()).await {
            Err(MetaError::AlreadyExists) => return Err(IamError::ProjectExists(name.into())),
            r => r?,
        }
        let root = UserRecord {
            project: name.to_owned(),
            name: ROOT_USER.to_owned(),
            id: names::new_user_id(),
            path: DEFAULT_USER_PATH.to_owned(),
            root: true,
            created: now,
            inline_policies: Default::default(),
            attached: Default::default(),
            password_hash: None,
        };
        self.store.create_user(root).await?;
        Ok(rec)
    }

    /// The project, `NoSuchProject` if missing.
    pub async fn project(&self, name: &str) -> Result<ProjectRecord, IamError> {
        self.store.get_project(name).await?.ok_or_else(|| IamError::NoSuchProject(name.into()))
    }

    /// Every project, by name.
    pub async fn list_projects(&self) -> Result<Vec<ProjectRecord>, IamError> {
        Ok(self.store.list_projects().await?)
    }

    /// Deletes a project with its users and keys; refused while it owns buckets.
    pub async fn delete_project(&self, name: &str) -> Result<(), IamError> {
        let deleted = self.store.delete_project(name).await;
        self.identities_changed();
        match deleted {
            Err(MetaError::NotFound) => Err(IamError::NoSuchProject(name.into())),
            Err(MetaError::NotEmpty) => Err(IamError::ProjectNotEmpty(name.into())),
            r => Ok(r?),
        }
    }
}
