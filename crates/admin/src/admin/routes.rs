//! The admin API's route table and matcher. Paths are relative to
//! [`BASE`]; `{name}` segments capture one percent-decoded path segment.
//! The OpenAPI document must describe exactly these routes (a test checks).

/// Where the admin API lives.
pub(crate) const BASE: &str = "/_coffer/admin/v1";

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteId {
    OpenApi,
    Regions,
    ListProjects,
    CreateProject,
    GetProject,
    DeleteProject,
    ListUsers,
    CreateUser,
    GetUser,
    DeleteUser,
    GetPolicy,
    PutPolicy,
    PutPassword,
    CreateKey,
    ListKeys,
    GetKey,
    UpdateKey,
    DeleteKey,
    GetProjectQuota,
    PutProjectQuota,
    GetProjectPublicAccessBlock,
    PutProjectPublicAccessBlock,
    Usage,
    ListBuckets,
    GetBucketQuota,
    PutBucketQuota,
}

/// One route: method, path pattern, handler.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Route {
    pub method: &'static str,
    pub pattern: &'static str,
    pub id: RouteId,
}

const fn r(method: &'static str, pattern: &'static str, id: RouteId) -> Route {
    Route { method, pattern, id }
}

/// Every route served.
pub(crate) const ROUTES: &[Route] = &[
    r("GET", "/openapi.json", RouteId::OpenApi),
    r("GET", "/regions", RouteId::Regions),
    r("GET", "/projects", RouteId::ListProjects),
    r("POST", "/projects", RouteId::CreateProject),
    r("GET", "/projects/{project}", RouteId::GetProject),
    r("DELETE", "/projects/{project}", RouteId::DeleteProject),
    r("GET", "/projects/{project}/users", RouteId::ListUsers),
    r("POST", "/projects/{project}/users", RouteId::CreateUser),
    r("GET", "/projects/{project}/users/{user}", RouteId::GetUser),
    r("DELETE", "/projects/{project}/users/{user}", RouteId::DeleteUser),
    r("GET", "/projects/{project}/users/{user}/policy", RouteId::GetPolicy),
    r("PUT", "/projects/{project}/users/{user}/policy", RouteId::PutPolicy),
    r("PUT", "/projects/{project}/users/{user}/password", RouteId::PutPassword),
    r("POST", "/projects/{project}/keys", RouteId::CreateKey),
    r("GET", "/projects/{project}/keys", RouteId::ListKeys),
    r("GET", "/projects/{project}/quota", RouteId::GetProjectQuota),
    r("PUT", "/projects/{project}/quota", RouteId::PutProjectQuota),
    r("GET", "/projects/{project}/public-access-block", RouteId::GetProjectPublicAccessBlock),
    r("PUT", "/projects/{project}/public-access-block", RouteId::PutProjectPublicAccessBlock),
    r("GET", "/projects/{project}/usage", RouteId::Usage),
    r("GET", "/keys/{access_key}", RouteId::GetKey),
    r("PATCH", "/keys/{access_key}", RouteId::UpdateKey),
    r("DELETE", "/keys/{access_key}", RouteId::DeleteKey),
    r("GET", "/buckets", RouteId::ListBuckets),
    r("GET", "/buckets/{bucket}/quota", RouteId::GetBucketQuota),
    r("PUT", "/buckets/{bucket}/quota", RouteId::PutBucketQuota),
];

/// The values of a route's `{name}` segments.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of `{name}` (empty if the route has no such segment).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
    }
}

/// The outcome of matching a request line.
#[derive(Debug)]
pub(crate) enum Match {
    Found(RouteId, Params),
    /// The path exists with other methods (listed for `Allow`).
    WrongMethod(Vec<&'static str>),
    NotFound,
}

/// Matches `method` and `path` (relative to [`BASE`], still percent-encoded).
pub(crate) fn find(method: &str, path: &str) -> Match {
    let mut allowed = Vec::new();
    for route in ROUTES {
        if let Some(params) = capture(route.pattern, path) {
            if route.method == method {
                return Match::Found(route.id, params);
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        Match::NotFound
    } else {
        Match::WrongMethod(allowed)
    }
}

/// The captures of `pattern` against `path`, if it matches.
fn capture(pattern: &'static str, path: &str) -> Option<Params> {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(Params(params)),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                let value = percent_encoding::percent_decode_str(g).decode_utf8().ok()?;
                if value.is_empty() {
                    return None;
                }
                params.push((&w[1..w.len() - 1], value.into_owned()));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_captures() {
        let Match::Found(id, p) = find("GET", "/projects/acme/users/bob%2Bci/policy") else { panic!("found") };
        assert_eq!(id, RouteId::GetPolicy);
        assert_eq!((p.get("project"), p.get("user")), ("acme", "bob+ci"));
        assert!(matches!(find("GET", "/projects"), Match::Found(RouteId::ListProjects, _)));
        assert!(matches!(find("PATCH", "/projects"), Match::WrongMethod(m) if m == ["GET", "POST"]));
        assert!(matches!(find("GET", "/projects/"), Match::NotFound));
        assert!(matches!(find("GET", "/projects/a/b"), Match::NotFound));
        assert!(matches!(find("GET", "/nope"), Match::NotFound));
        assert!(matches!(find("GET", "/keys/%FF"), Match::NotFound));
    }
}
