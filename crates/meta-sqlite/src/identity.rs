//! [`IdentityStore`] for [`SqliteMetaStore`]: writes through the writer
//! thread, reads on the pool, SQL in `identity_ops`.

use crate::identity_ops as ops;
use crate::SqliteMetaStore;
use async_trait::async_trait;
use coffer_meta::*;
use coffer_types::UnixMillis;

#[async_trait]
impl IdentityStore for SqliteMetaStore {
    async fn create_project(&self, project: ProjectRecord) -> Result<(), MetaError> {
        self.writer.run(move |c| ops::create_project(c, &project)).await
    }
    async fn get_project(&self, name: &str) -> Result<Option<ProjectRecord>, MetaError> {
        let n = name.to_owned();
        self.readers.point(move |c| ops::get_project(c, &n)).await
    }
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>, MetaError> {
        self.readers.run(ops::list_projects).await
    }
    async fn delete_project(&self, name: &str) -> Result<(), MetaError> {
        let n = name.to_owned();
        self.writer.run(move |c| ops::delete_project(c, &n)).await
    }
    async fn create_user(&self, user: UserRecord) -> Result<(), MetaError> {
        self.writer.run(move |c| ops::create_user(c, &user)).await
    }
    async fn get_user(&self, project: &str, name: &str) -> Result<Option<UserRecord>, MetaError> {
        let (p, n) = (project.to_owned(), name.to_owned());
        self.readers.point(move |c| ops::get_user(c, &p, &n)).await
    }
    async fn list_users(&self, project: &str) -> Result<Vec<UserRecord>, MetaError> {
        let p = project.to_owned();
        self.readers.run(move |c| ops::list_users(c, &p)).await
    }
    async fn set_user_policies(
        &self,
        user: &UserRecord,
        if_unchanged_from: Option<&UserRecord>,
    ) -> Result<(), MetaError> {
        let (u, before) = (user.clone(), if_unchanged_from.cloned());
        self.writer.run(move |c| ops::set_user_policies(c, &u, before.as_ref())).await
    }
    async fn delete_user(&self, project: &str, name: &str) -> Result<(), MetaError> {
        let (p, n) = (project.to_owned(), name.to_owned());
        self.writer.run(move |c| ops::delete_user(c, &p, &n)).await
    }
    async fn rename_user(
        &self,
        project: &str,
        name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> Result<(), MetaError> {
        let (p, n) = (project.to_owned(), name.to_owned());
        let (nn, np) = (new_name.map(str::to_owned), new_path.map(str::to_owned));
        self.writer.run(move |c| ops::rename_user(c, &p, &n, nn.as_deref(), np.as_deref())).await
    }
    async fn set_user_password(&self, project: &str, name: &str, hash: Option<&str>) -> Result<(), MetaError> {
        let (p, n, h) = (project.to_owned(), name.to_owned(), hash.map(str::to_owned));
        self.writer.run(move |c| ops::set_user_password(c, &p, &n, h.as_deref())).await
    }
    async fn create_access_key(&self, key: AccessKeyRecord) -> Result<(), MetaError> {
        self.writer.run(move |c| ops::create_access_key(c, &key)).await
    }
    async fn get_access_key(&self, access_key: &str) -> Result<Option<AccessKeyRecord>, MetaError> {
        let a = access_key.to_owned();
        self.readers.point(move |c| ops::get_access_key(c, &a)).await
    }
    async fn list_access_keys(&self, project: &str, user: Option<&str>) -> Result<Vec<AccessKeyRecord>, MetaError> {
        let (p, u) = (project.to_owned(), user.map(str::to_owned));
        self.readers.run(move |c| ops::list_access_keys(c, &p, u.as_deref())).await
    }
    async fn set_access_key_status(&self, access_key: &str, status: KeyStatus) -> Result<(), MetaError> {
        let a = access_key.to_owned();
        self.writer.run(move |c| ops::set_access_key_status(c, &a, status)).await
    }
    async fn set_access_key_secret(&self, access_key: &str, sealed_secret: &str) -> Result<(), MetaError> {
        let (a, s) = (access_key.to_owned(), sealed_secret.to_owned());
        self.writer.run(move |c| ops::set_access_key_secret(c, &a, &s)).await
    }
    async fn set_access_key_secret_if(
        &self,
        access_key: &str,
        expected_sealed: &str,
        new_sealed: &str,
    ) -> Result<bool, MetaError> {
        let (a, e, n) = (access_key.to_owned(), expected_sealed.to_owned(), new_sealed.to_owned());
        self.writer.run(move |c| ops::set_access_key_secret_if(c, &a, &e, &n)).await
    }
    async fn touch_access_key(&self, access_key: &str, when: UnixMillis) -> Result<(), MetaError> {
        let a = access_key.to_owned();
        self.writer.run(move |c| ops::touch_access_key(c, &a, when)).await
    }
    async fn delete_access_key(&self, access_key: &str) -> Result<bool, MetaError> {
        let a = access_key.to_owned();
        self.writer.run(move |c| ops::delete_access_key(c, &a)).await
    }
    async fn record_signin_failure(
        &self,
        scopes: &[String],
        at: UnixMillis,
        forget_before: UnixMillis,
    ) -> Result<(), MetaError> {
        let scopes = scopes.to_vec();
        self.writer.run(move |c| ops::record_signin_failure(c, &scopes, at, forget_before)).await
    }
    async fn signin_failures(&self, scope: &str, since: UnixMillis) -> Result<SigninFailures, MetaError> {
        let s = scope.to_owned();
        self.readers.point(move |c| ops::signin_failures(c, &s, since)).await
    }
    async fn session_generation(&self, principal: &str) -> Result<u64, MetaError> {
        let p = principal.to_owned();
        self.readers.point(move |c| ops::session_generation(c, &p)).await
    }
    async fn end_sessions(&self, principal: &str) -> Result<u64, MetaError> {
        let p = principal.to_owned();
        self.writer.run(move |c| ops::end_sessions(c, &p)).await
    }
}
