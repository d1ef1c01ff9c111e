//! IAM users of a project and their policies: inline documents (validated
//! on the way in) and attached presets.

use crate::names::{self, ROOT_USER};
use crate::{Iam, IamError};
use coffer_meta::{MetaError, UserRecord, DEFAULT_USER_PATH};
use coffer_policy::{Policy, Preset};

/// A user's whole permission set, as `coffer user policy set` replaces it.
#[derive(Clone, Debug)]
pub enum Permissions {
    Preset(Preset),
    /// An identity policy document (JSON), stored as the inline policy `custom`.
    Document(String),
}

/// The inline policy name `Permissions::Document` is stored under.
pub const CUSTOM_POLICY: &str = "custom";

/// How many times a policy edit re-reads after losing a race to another edit.
const EDIT_ATTEMPTS: usize = 64;

impl Iam {
    /// Creates an IAM user with no permissions, at the path `/`.
    pub async fn create_user(&self, project: &str, name: &str) -> Result<UserRecord, IamError> {
        self.create_user_with_path(project, name, DEFAULT_USER_PATH).await
    }

    /// Creates an IAM user with no permissions at an IAM path (`/a/b/`).
    pub async fn create_user_with_path(&self, project: &str, name: &str, path: &str) -> Result<UserRecord, IamError> {
        names::check_user(name)?;
        names::check_path(path)?;
        self.name_free(project, name, None).await?;
        let rec = UserRecord {
            project: project.to_owned(),
            name: name.to_owned(),
            id: names::new_user_id(),
            path: path.to_owned(),
            root: false,
            created: coffer_types::now_millis(),
            inline_policies: Default::default(),
            attached: Default::default(),
            password_hash: None,
        };
        match self.store.create_user(rec.clone()).await {
            Err(MetaError::AlreadyExists) => Err(IamError::UserExists(name.into())),
            Err(MetaError::NotFound) => Err(IamError::NoSuchProject(project.into())),
            r => r.map(|()| rec).map_err(Into::into),
        }
    }

    /// `UserExists` if a user other than `except` has `name` in any case (IAM
    /// user names are unique regardless of case).
    async fn name_free(&self, project: &str, name: &str, except: Option<&str>) -> Result<(), IamError> {
        let users = self.store.list_users(project).await?;
        if users.iter().any(|u| Some(u.name.as_str()) != except && u.name.eq_ignore_ascii_case(name)) {
            return Err(IamError::UserExists(name.into()));
        }
        Ok(())
    }

    /// Renames a user and/or moves it to another path (`None`: unchanged),
    /// as IAM's UpdateUser does: its id, policies and keys stay with it.
    /// The new name must be free regardless of case (a user may change the
    /// case of its own name); the root user is neither renamed nor moved.
    pub async fn update_user(
        &self,
        project: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<UserRecord, IamError> {
        if let Some(n) = new_name {
            names::check_user(n)?;
        }
        if let Some(p) = new_path {
            names::check_path(p)?;
        }
        let mut user = self.user(project, name).await?;
        if user.root {
            return Err(IamError::RootUser("the root user cannot be renamed or moved".into()));
        }
        if let Some(n) = new_name {
            self.name_free(project, n, Some(&user.name)).await?;
        }
        let renamed = self.store.rename_user(project, &user.name, new_name, new_path).await;
        self.identities_changed();
        match renamed {
            Err(MetaError::NotFound) => return Err(IamError::NoSuchUser(name.into())),
            Err(MetaError::AlreadyExists) => return Err(IamError::UserExists(new_name.unwrap_or(name).into())),
            r => r?,
        }
        if let Some(n) = new_name {
            user.name = n.to_owned();
        }
        if let Some(p) = new_path {
            user.path = p.to_owned();
        }
        Ok(user)
    }

    /// The user, found by its name in any case; `NoSuchUser` if missing.
    pub async fn user(&self, project: &str, name: &str) -> Result<UserRecord, IamError> {
        if let Some(u) = self.store.get_user(project, name).await? {
            return Ok(u);
        }
        let all = self.store.list_users(project).await?;
        all.into_iter().find(|u| u.name.eq_ignore_ascii_case(name)).ok_or_else(|| IamError::NoSuchUser(name.into()))
    }

    /// The project's users (the root user included), by name.
    pub async fn list_users(&self, project: &str) -> Result<Vec<UserRecord>, IamError> {
        self.project(project).await?;
        Ok(self.store.list_users(project).await?)
    }

    /// Deletes a user. Without `force`, refused (as IAM does) while the user
    /// has access keys or policies; with it, they go too. The root user is
    /// deleted only with its project.
    pub async fn delete_user(&self, project: &str, name: &str, force: bool) -> Result<(), IamError> {
        let user = self.user(project, name).await?;
        if user.root {
            return Err(IamError::RootUser("the root user is deleted with its project".into()));
        }
        if !force {
            if !self.store.list_access_keys(project, Some(&user.name)).await?.is_empty() {
                return Err(IamError::DeleteConflict("Cannot delete entity, must delete access keys first.".into()));
            }
            if !user.inline_policies.is_empty() || !user.attached.is_empty() {
                return Err(IamError::DeleteConflict("Cannot delete entity, must delete policies first.".into()));
            }
        }
        let deleted = self.store.delete_user(project, &user.name).await;
        self.identities_changed();
        match deleted {
            Err(MetaError::NotFound) => Err(IamError::NoSuchUser(name.into())),
            r => Ok(r?),
        }
    }

    async fn non_root(&self, project: &str, name: &str) -> Result<UserRecord, IamError> {
        let user = self.user(project, name).await?;
        if user.root || name == ROOT_USER {
            return Err(IamError::RootUser(
                "the root user has full access to its project; its policies are fixed".into(),
            ));
        }
        Ok(user)
    }

    async fn save(&self, user: &UserRecord) -> Result<(), IamError> {
        let saved = self.store.set_user_policies(user, None).await;
        self.identities_changed();
        match saved {
            Err(MetaError::NotFound) => Err(IamError::NoSuchUser(user.name.clone())),
            r => Ok(r?),
        }
    }

    /// Reads the user's policies, applies `edit`, and saves the result only
    /// if no other edit committed in between (else reads again): two edits
    /// at once never lose one (a detached policy coming back with an
    /// unrelated PutUserPolicy).
    async fn edit_policies(
        &self,
        project: &str,
        name: &str,
        edit: impl Fn(&mut UserRecord) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let mut attempts = 0;
        loop {
            let before = self.non_root(project, name).await?;
            let mut after = before.clone();
            edit(&mut after)?;
            let saved = self.store.set_user_policies(&after, Some(&before)).await;
            self.identities_changed();
            match saved {
                Err(MetaError::PreconditionFailed) if attempts < EDIT_ATTEMPTS => {
                    attempts += 1;
                    // Spread the racers out: a few milliseconds, more each time.
                    let ms = rand::Rng::gen_range(&mut rand::thread_rng(), 1..=attempts.min(20) as u64);
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                Err(MetaError::NotFound) => return Err(IamError::NoSuchUser(name.into())),
                r => return Ok(r?),
            }
        }
    }

    /// Adds or replaces an inline policy after validating it.
    pub async fn put_user_policy(&self, project: &str, name: &str, policy: &str, doc: &str) -> Result<(), IamError> {
        names::check_user(policy).map_err(|_| IamError::InvalidName(format!("policy name {policy:?}")))?;
        Policy::parse_identity(doc).map_err(|e| IamError::MalformedPolicy(e.to_string()))?;
        self.edit_policies(project, name, |user| {
            user.inline_policies.insert(policy.to_owned(), doc.to_owned());
            Ok(())
        })
        .await
    }

    /// An inline policy's document.
    pub async fn user_policy(&self, project: &str, name: &str, policy: &str) -> Result<String, IamError> {
        let user = self.user(project, name).await?;
        user.inline_policies.get(policy).cloned().ok_or_else(|| IamError::NoSuchPolicy(policy.into()))
    }

    /// Removes an inline policy.
    pub async fn delete_user_policy(&self, project: &str, name: &str, policy: &str) -> Result<(), IamError> {
        self.edit_policies(project, name, |user| match user.inline_policies.remove(policy) {
            Some(_) => Ok(()),
            None => Err(IamError::NoSuchPolicy(policy.into())),
        })
        .await
    }

    /// Attaches a preset (by name or ARN).
    pub async fn attach_preset(&self, project: &str, name: &str, preset: &str) -> Result<(), IamError> {
        let p = Preset::from_name(preset).ok_or_else(|| IamError::UnknownPreset(preset.into()))?;
        self.edit_policies(project, name, |user| {
            user.attached.insert(p.name().to_owned());
            Ok(())
        })
        .await
    }

    /// Detaches a preset; `NoSuchPolicy` if it was not attached.
    pub async fn detach_preset(&self, project: &str, name: &str, preset: &str) -> Result<(), IamError> {
        let p = Preset::from_name(preset).ok_or_else(|| IamError::UnknownPreset(preset.into()))?;
        self.edit_policies(project, name, |user| match user.attached.remove(p.name()) {
            true => Ok(()),
            false => Err(IamError::NoSuchPolicy(p.arn().into())),
        })
        .await
    }

    /// Replaces every policy of the user with one preset or one document.
    pub async fn set_permissions(&self, project: &str, name: &str, perms: &Permissions) -> Result<(), IamError> {
        let mut user = self.non_root(project, name).await?;
        user.inline_policies.clear();
        user.attached.clear();
        match perms {
            Permissions::Preset(p) => {
                user.attached.insert(p.name().to_owned());
            }
            Permissions::Document(doc) => {
                Policy::parse_identity(doc).map_err(|e| IamError::MalformedPolicy(e.to_string()))?;
                user.inline_policies.insert(CUSTOM_POLICY.to_owned(), doc.clone());
            }
        }
        self.save(&user).await
    }

    /// The identity policies in force for a user record (presets, then inline
    /// documents). A stored document that no longer parses is skipped and
    /// logged: it grants nothing.
    pub(crate) fn policies_of(user: &UserRecord) -> Vec<Policy> {
        let presets = user.attached.iter().filter_map(|n| Preset::from_name(n)).map(Preset::policy);
        let inline = user.inline_policies.iter().filter_map(|(name, doc)| match Policy::parse_identity(doc) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(project = %user.project, user = %user.name, policy = %name, error = %e, "stored policy does not parse; ignored");
                None
            }
        });
        presets.chain(inline).collect()
    }
}
