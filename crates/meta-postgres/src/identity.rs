//! [`IdentityStore`] for [`PgMetaStore`]: each call one read or one
//! transaction (with the bounded retries of `retry.rs`), SQL in
//! `identity_ops`.

use crate::identity_ops as ops;
use crate::retry::{reading, writing};
use crate::PgMetaStore;
use async_trait::async_trait;
use coffer_meta::*;
use coffer_types::UnixMillis;

#[async_trait]
impl IdentityStore for PgMetaStore {
    async fn create_project(&self, project: ProjectRecord) -> Result<(), MetaError> {
        writing!(self, |tx| ops::create_project(tx, &project))
    }
    async fn get_project(&self, name: &str) -> Result<Option<ProjectRecord>, MetaError> {
        reading!(self, |c| ops::get_project(c, name))
    }
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, MetaError> {
        reading!(self, |c| ops::list_projects(c))
    }
    async fn delete_project(&self, name: &str) -> Result<(), MetaError> {
        writing!(self, |tx| ops::delete_project(tx, name))
    }
    async fn create_user(&self, user: UserRecord) -> Result<(), MetaError> {
        writing!(self, |tx| ops::create_user(tx, &user))
    }
    async fn get_user(&self, project: &str, name: &str) -> Result<Option<UserRecord>, MetaError> {
        reading!(self, |c| ops::get_user(c, project, name))
    }
    async fn list_users(&self, project: &str) -> Result<Vec<UserRecord>, MetaError> {
        reading!(self, |c| ops::list_users(c, project))
    }
    async fn set_user_policies(
        &self,
        user: &UserRecord,
        if_unchanged_from: Option<&UserRecord>,
    ) -> Result<(), MetaError> {
        writing!(self, |tx| ops::set_user_policies(tx, user, if_unchanged_from))
    }
    async fn delete_user(&self, project: &str, name: &str) -> Result<(), MetaError> {
        writing!(self, |tx| ops::delete_user(tx, project, name))
    }
    async fn rename_user(
        &self,
        project: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), MetaError> {
        writing!(self, |tx| ops::rename_user(tx, project, name, new_name, new_path))
    }
    async fn set_user_password(&self, project: &str, name: &str, hash: Option<&str>) -> Result<(), MetaError> {
        writing!(self, |tx| ops::set_user_password(tx, project, name, hash))
    }
    async fn create_access_key(&self, key: AccessKeyRecord) -> Result<(), MetaError> {
        writing!(self, |tx| ops::create_access_key(tx, &key))
    }
    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKeyRecord>, MetaError> {
        reading!(self, |c| ops::get_access_key(c, access_key))
    }
    async fn list_access_keys(&self, project: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>, MetaError> {
        reading!(self, |c| ops::list_access_keys(c, project, user))
    }
    async fn set_access_key_status(&self, access_key: &str, status: KeyStatus) -> Result<(), MetaError> {
        writing!(self, |tx| ops::set_access_key_status(tx, access_key, status))
    }
    async fn set_access_key_secret(&self, access_key: &str, sealed_secret: &str) -> Result<(), MetaError> {
        writing!(self, |tx| ops::set_access_key_secret(tx, access_key, sealed_secret))
    }
    async fn set_access_key_secret_if(
        &self,
        access_key: &str,
        expected_sealed: &str,
        new_sealed: &str,
    ) -> Result<bool, MetaError> {
        writing!(self, |tx| ops::set_access_key_secret_if(tx, access_key, expected_sealed, new_sealed))
    }
    async fn touch_access_key(&self, access_key: &str, when: UnixMillis) -> Result<(), MetaError> {
        writing!(self, |tx| ops::touch_access_key(tx, access_key, when))
    }
    async fn delete_access_key(&self, access_key: &str) -> Result<bool, MetaError> {
        writing!(self, |tx| ops::delete_access_key(tx, access_key))
    }
    async fn record_signin_failure(
        &self,
        scopes: &[String],
        at: UnixMillis,
        forget_before: UnixMillis,
    ) -> Result<(), MetaError> {
        writing!(self, |tx| ops::record_signin_failure(tx, scopes, at, forget_before))
    }
    async fn signin_failures(&self, scope: &str, since: UnixMillis) -> Result<SigninFailures, MetaError> {
        reading!(self, |c| ops::signin_failures(c, scope, since))
    }
    async fn session_generation(&self, principal: &str) -> Result<u64, MetaError> {
        reading!(self, |c| ops::session_generation(c, principal))
    }
    async fn end_sessions(&self, principal: &str) -> Result<u64, MetaError> {
        writing!(self, |tx| ops::end_sessions(tx, principal))
    }
}
