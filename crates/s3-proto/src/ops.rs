//! Every S3 operation Coffer serves, declared once.
//!
//! One line per operation names its request line (method, whether it
//! addresses the service, a bucket or an object, the query parameters that
//! select it, whether it carries `x-amz-copy-source`), the IAM action a
//! policy must allow and on which resource, the billing class, what a
//! canned ACL can grant for it, and its traits. The router
//! ([`crate::router`]) picks from this table, the authorizer and the meter
//! read it, and the HTTP layer's dispatch is a `match` the compiler keeps
//! complete. Adding an operation is one line here and one arm there.
//!
//! Selection: an operation matches a request when the method, target and
//! copy-source condition agree, every parameter it selects on is present
//! (`name`, or `name=value`), and every sub-resource in the query (a name in
//! [`SUB_RESOURCES`]) is one it selects on. Of several matches the one with
//! more selectors wins (`?list-type=2` picks ListObjectsV2 over ListObjects).
//! A sub-resource nothing selects on is `NotImplemented`, never silently
//! another operation: `DELETE /bucket?uploads` is not DeleteBucket.

/// What a request line addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `/`: no bucket.
    Service,
    /// `/bucket`.
    Bucket,
    /// `/bucket/key`.
    Object,
}

/// The billing class of a request (usage records count requests by class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Get,
    Put,
    List,
    Delete,
    Other,
}

/// What a canned ACL can grant for an operation: READ on a bucket lists it,
/// WRITE on a bucket writes and deletes its objects, READ on an object
/// reads it. Nothing else is granted by an ACL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclGrant {
    None,
    Read,
    Write,
}

/// Traits of an operation that other layers act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trait {
    /// Writes an object with the request's headers (metadata, ACL, storage
    /// class, lock and tagging headers apply).
    WritesObject,
    /// A bucket configuration read that clients probe: answered with the
    /// empty or default document, or its `NoSuch…` error (`crate::probes`).
    Probe,
    /// Its condition keys include `s3:prefix`, `s3:delimiter`, `s3:max-keys`.
    Lists,
    /// Authorized by its handler once the (small) body is read: some of its
    /// condition keys come from the body (PutObjectTagging's tags).
    AuthorizedAfterBody,
    /// Acts on an existing object as its owner would allow: where ACLs are
    /// in force and a project other than the bucket's owns the object
    /// (Object Ownership), that owner's grants decide, not the bucket's.
    OwnerDecides,
}

/// What a policy must allow for an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'static str,
    /// The action when the request names a version (`versionId`), e.g.
    /// `s3:GetObjectVersion`; `None`: the same action.
    pub version_action: Option<&'static str>,
    /// The resource is `bucket/key`, not the bucket.
    pub on_object: bool,
}

impl Permission {
    /// The action of a request that names a version (`versioned`) or not.
    pub fn action_for(&self, versioned: bool) -> &'static str {
        match self.version_action {
            Some(a) if versioned => a,
            _ => self.action,
        }
    }
}

/// One operation's declaration.
#[derive(Debug)]
pub struct OpSpec {
    pub op: Operation,
    /// The name AWS's API reference uses.
    pub name: &'static str,
    pub method: &'static str,
    pub target: Target,
    /// Query parameters that select it: `name` present, or `name=value`.
    pub select: &'static [&'static str],
    /// `Some(true)`: only with `x-amz-copy-source`; `Some(false)`: only without.
    pub copy: Option<bool>,
    pub permission: Permission,
    pub class: Class,
    pub acl: AclGrant,
    pub traits: &'static [Trait],
}

/// Query parameters that select an operation without being sub-resources:
/// they never make a request unroutable (`GET /b/k?partNumber=1` is a GetObject).
pub const QUALIFIERS: &[&str] = &["partNumber", "list-type"];

/// Every sub-resource S3 defines: a query parameter naming what a request
/// acts on. One that no operation here selects on is `NotImplemented`.
pub const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
];

macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $name:ident = $method:ident $target:ident [$($sel:literal),*] $(copy = $copy:literal)?
            => $res:ident($action:literal $(| $vaction:literal)?), $class:ident, $acl:ident $(, $tr:ident)*;
    )*) => {
        /// Every operation the router can name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $( $(#[$doc])* $name, )*
            /// `OPTIONS`: a CORS preflight (unauthenticated, answered from the CORS rules).
            CorsPreflight,
            /// A recognised S3 sub-resource no operation here serves (its name).
            NotImplemented(&'static str),
        }

        #[allow(non_upper_case_globals)]
        mod specs {
            use super::*;
            $(
                pub(super) static $name: OpSpec = OpSpec {
                    op: Operation::$name,
                    name: stringify!($name),
                    method: stringify!($method),
                    target: Target::$target,
                    select: &[$($sel),*],
                    copy: operations!(@copy $($copy)?),
                    permission: Permission {
                        action: $action,
                        version_action: operations!(@version $($vaction)?),
                        on_object: operations!(@res $res),
                    },
                    class: Class::$class,
                    acl: AclGrant::$acl,
                    traits: &[$(Trait::$tr),*],
                };
            )*
        }

        /// The table, in declaration order.
        pub static OPERATIONS: &[&OpSpec] = &[$(&specs::$name),*];

        impl Operation {
            /// Its declaration; `None` for a CORS preflight or an unbuilt sub-resource.
            pub fn spec(self) -> Option<&'static OpSpec> {
                match self {
                    $( Operation::$name => Some(&specs::$name), )*
                    Operation::CorsPreflight | Operation::NotImplemented(_) => None,
                }
            }
        }
    };
    (@version) => { None };
    (@version $v:literal) => { Some($v) };
    (@copy) => { None };
    (@copy $c:literal) => { Some($c) };
    (@res bucket) => { false };
    (@res object) => { true };
}

operations! {
    ListBuckets = GET Service [] => bucket("s3:ListAllMyBuckets"), List, None;

    CreateBucket = PUT Bucket [] => bucket("s3:CreateBucket"), Other, None;
    DeleteBucket = DELETE Bucket [] => bucket("s3:DeleteBucket"), Delete, None;
    HeadBucket = HEAD Bucket [] => bucket("s3:ListBucket"), Other, Read;
    GetBucketLocation = GET Bucket ["location"] => bucket("s3:GetBucketLocation"), Other, None;
    ListObjects = GET Bucket [] => bucket("s3:ListBucket"), List, Read, Lists;
    ListObjectsV2 = GET Bucket ["list-type=2"] => bucket("s3:ListBucket"), List, Read, Lists;
    ListObjectVersions = GET Bucket ["versions"] => bucket("s3:ListBucketVersions"), List, Read, Lists;
    ListMultipartUploads = GET Bucket ["uploads"] => bucket("s3:ListBucketMultipartUploads"), List, Read;
    /// Each listed key is checked for `s3:DeleteObject` by the handler.
    DeleteObjects = POST Bucket ["delete"] => object("s3:DeleteObject"), Delete, Write;
    /// A browser form upload (`multipart/form-data`) to the bucket URL.
    PostObject = POST Bucket [] => object("s3:PutObject"), Put, Write, WritesObject;

    GetBucketAcl = GET Bucket ["acl"] => bucket("s3:GetBucketAcl"), Other, None;
    PutBucketAcl = PUT Bucket ["acl"] => bucket("s3:PutBucketAcl"), Other, None;
    GetBucketCors = GET Bucket ["cors"] => bucket("s3:GetBucketCORS"), Other, None;
    PutBucketCors = PUT Bucket ["cors"] => bucket("s3:PutBucketCORS"), Other, None;
    DeleteBucketCors = DELETE Bucket ["cors"] => bucket("s3:PutBucketCORS"), Other, None;
    GetBucketPolicy = GET Bucket ["policy"] => bucket("s3:GetBucketPolicy"), Other, None;
    PutBucketPolicy = PUT Bucket ["policy"] => bucket("s3:PutBucketPolicy"), Other, None;
    DeleteBucketPolicy = DELETE Bucket ["policy"] => bucket("s3:DeleteBucketPolicy"), Other, None;
    GetBucketPolicyStatus = GET Bucket ["policyStatus"] => bucket("s3:GetBucketPolicyStatus"), Other, None;
    GetBucketTagging = GET Bucket ["tagging"] => bucket("s3:GetBucketTagging"), Other, None;
    GetBucketOwnershipControls = GET Bucket ["ownershipControls"]
        => bucket("s3:GetBucketOwnershipControls"), Other, None;
    PutBucketOwnershipControls = PUT Bucket ["ownershipControls"]
        => bucket("s3:PutBucketOwnershipControls"), Other, None;
    DeleteBucketOwnershipControls = DELETE Bucket ["ownershipControls"]
        => bucket("s3:PutBucketOwnershipControls"), Other, None;
    GetPublicAccessBlock = GET Bucket ["publicAccessBlock"] => bucket("s3:GetBucketPublicAccessBlock"), Other, None;
    PutPublicAccessBlock = PUT Bucket ["publicAccessBlock"] => bucket("s3:PutBucketPublicAccessBlock"), Other, None;
    DeletePublicAccessBlock = DELETE Bucket ["publicAccessBlock"] => bucket("s3:PutBucketPublicAccessBlock"), Other, None;
    PutBucketTagging = PUT Bucket ["tagging"] => bucket("s3:PutBucketTagging"), Other, None;
    DeleteBucketTagging = DELETE Bucket ["tagging"] => bucket("s3:PutBucketTagging"), Other, None;

    GetBucketAccelerateConfiguration = GET Bucket ["accelerate"]
        => bucket("s3:GetAccelerateConfiguration"), Other, None, Probe;
    ListBucketAnalyticsConfigurations = GET Bucket ["analytics"]
        => bucket("s3:GetAnalyticsConfiguration"), Other, None, Probe;
    GetBucketEncryption = GET Bucket ["encryption"]
        => bucket("s3:GetEncryptionConfiguration"), Other, None, Probe;
    ListBucketIntelligentTieringConfigurations = GET Bucket ["intelligent-tiering"]
        => bucket("s3:GetIntelligentTieringConfiguration"), Other, None, Probe;
    ListBucketInventoryConfigurations = GET Bucket ["inventory"]
        => bucket("s3:GetInventoryConfiguration"), Other, None, Probe;
    GetBucketLifecycleConfiguration = GET Bucket ["lifecycle"]
        => bucket("s3:GetLifecycleConfiguration"), Other, None;
    PutBucketLifecycleConfiguration = PUT Bucket ["lifecycle"]
        => bucket("s3:PutLifecycleConfiguration"), Other, None;
    DeleteBucketLifecycle = DELETE Bucket ["lifecycle"]
        => bucket("s3:PutLifecycleConfiguration"), Other, None;
    GetBucketLogging = GET Bucket ["logging"] => bucket("s3:GetBucketLogging"), Other, None, Probe;
    ListBucketMetricsConfigurations = GET Bucket ["metrics"]
        => bucket("s3:GetMetricsConfiguration"), Other, None, Probe;
    GetBucketNotificationConfiguration = GET Bucket ["notification"]
        => bucket("s3:GetBucketNotification"), Other, None, Probe;
    GetObjectLockConfiguration = GET Bucket ["object-lock"]
        => bucket("s3:GetBucketObjectLockConfiguration"), Other, None;
    PutObjectLockConfiguration = PUT Bucket ["object-lock"]
        => bucket("s3:PutBucketObjectLockConfiguration"), Other, None;
    GetBucketReplication = GET Bucket ["replication"]
        => bucket("s3:GetReplicationConfiguration"), Other, None, Probe;
    GetBucketRequestPayment = GET Bucket ["requestPayment"]
        => bucket("s3:GetBucketRequestPayment"), Other, None, Probe;
    GetBucketVersioning = GET Bucket ["versioning"] => bucket("s3:GetBucketVersioning"), Other, None;
    PutBucketVersioning = PUT Bucket ["versioning"] => bucket("s3:PutBucketVersioning"), Other, None;
    GetBucketWebsite = GET Bucket ["website"] => bucket("s3:GetBucketWebsite"), Other, None, Probe;

    PutObject = PUT Object [] copy = false => object("s3:PutObject"), Put, Write, WritesObject;
    /// Also needs `s3:GetObject` on the source, checked by the handler.
    CopyObject = PUT Object [] copy = true => object("s3:PutObject"), Put, None, WritesObject;
    GetObject = GET Object [] => object("s3:GetObject" | "s3:GetObjectVersion"), Get, Read, OwnerDecides;
    HeadObject = HEAD Object [] => object("s3:GetObject" | "s3:GetObjectVersion"), Get, Read, OwnerDecides;
    /// A canned ACL's WRITE deletes a key (a delete marker, with
    /// versioning), never one version of it for good.
    DeleteObject = DELETE Object [] => object("s3:DeleteObject" | "s3:DeleteObjectVersion"), Delete, Write;
    /// Also needs `s3:GetObject` (`s3:GetObjectVersion`), checked by the handler.
    GetObjectAttributes = GET Object ["attributes"]
        => object("s3:GetObjectAttributes" | "s3:GetObjectVersionAttributes"), Get, Read, OwnerDecides;
    GetObjectAcl = GET Object ["acl"]
        => object("s3:GetObjectAcl" | "s3:GetObjectVersionAcl"), Other, None, OwnerDecides;
    PutObjectAcl = PUT Object ["acl"]
        => object("s3:PutObjectAcl" | "s3:PutObjectVersionAcl"), Other, None, OwnerDecides;
    GetObjectTagging = GET Object ["tagging"]
        => object("s3:GetObjectTagging" | "s3:GetObjectVersionTagging"), Other, None, OwnerDecides;
    /// No canned ACL grants tagging an existing object: tags can decide
    /// access (`s3:ExistingObjectTag/…`), and WRITE on a bucket must not
    /// let anyone retag what others wrote. A write's own tags follow the write.
    PutObjectTagging = PUT Object ["tagging"]
        => object("s3:PutObjectTagging" | "s3:PutObjectVersionTagging"), Other, None, AuthorizedAfterBody, OwnerDecides;
    GetObjectRetention = GET Object ["retention"] => object("s3:GetObjectRetention"), Other, None;
    PutObjectRetention = PUT Object ["retention"] => object("s3:PutObjectRetention"), Other, None;
    GetObjectLegalHold = GET Object ["legal-hold"] => object("s3:GetObjectLegalHold"), Other, None;
    PutObjectLegalHold = PUT Object ["legal-hold"] => object("s3:PutObjectLegalHold"), Other, None;
    DeleteObjectTagging = DELETE Object ["tagging"]
        => object("s3:DeleteObjectTagging" | "s3:DeleteObjectVersionTagging"), Other, None, OwnerDecides;

    CreateMultipartUpload = POST Object ["uploads"] => object("s3:PutObject"), Put, Write, WritesObject;
    UploadPart = PUT Object ["partNumber", "uploadId"] copy = false => object("s3:PutObject"), Put, Write;
    /// Also needs `s3:GetObject` on the source, checked by the handler.
    UploadPartCopy = PUT Object ["partNumber", "uploadId"] copy = true => object("s3:PutObject"), Put, None;
    CompleteMultipartUpload = POST Object ["uploadId"] => object("s3:PutObject"), Put, Write;
    AbortMultipartUpload = DELETE Object ["uploadId"] => object("s3:AbortMultipartUpload"), Delete, Write;
    ListParts = GET Object ["uploadId"] => object("s3:ListMultipartUploadParts"), List, Write;
}

impl Operation {
    /// The name AWS's API reference uses (`CorsPreflight`, or the unbuilt sub-resource's name).
    pub fn name(self) -> &'static str {
        match self {
            Operation::CorsPreflight => "CorsPreflight",
            Operation::NotImplemented(sub) => sub,
            op => op.spec().map_or("Unknown", |s| s.name),
        }
    }

    /// The permission the operation needs. `None`: no authorization (CORS
    /// preflights answer from the CORS rules; unbuilt operations fail
    /// anyway). ListBuckets needs `s3:ListAllMyBuckets` on `*`, which callers
    /// special-case.
    pub fn permission(self) -> Option<Permission> {
        self.spec().map(|s| s.permission)
    }

    /// Its billing class.
    pub fn class(self) -> Class {
        self.spec().map_or(Class::Other, |s| s.class)
    }

    /// What a canned ACL can grant for it.
    pub fn acl_grant(self) -> AclGrant {
        self.spec().map_or(AclGrant::None, |s| s.acl)
    }

    /// Whether it has the trait.
    pub fn is(self, t: Trait) -> bool {
        self.spec().is_some_and(|s| s.traits.contains(&t))
    }

    /// For a probed configuration read, the sub-resource it reads.
    pub fn probed(self) -> Option<&'static str> {
        let s = self.spec()?;
        s.traits.contains(&Trait::Probe).then(|| s.select[0])
    }
}

impl OpSpec {
    fn selector_present<'q>(sel: &str, has: &dyn Fn(&str) -> Option<&'q str>) -> bool {
        match sel.split_once('=') {
            Some((name, value)) => has(name) == Some(value),
            None => has(sel).is_some(),
        }
    }

    fn selects_on(&self, name: &str) -> bool {
        self.select.iter().any(|s| s.split_once('=').map_or(*s, |(n, _)| n) == name)
    }
}

/// The operation a request line names. `param` answers a query parameter's
/// first value. `Err(None)`: the method is not allowed on the target;
/// `Err(Some(sub))`: a sub-resource no operation serves with this method.
pub fn select<'q>(
    method: &str,
    target: Target,
    param: &dyn Fn(&str) -> Option<&'q str>,
    copy_source: bool,
) -> Result<Operation, Option<&'static str>> {
    let present: Vec<&'static str> = SUB_RESOURCES.iter().copied().filter(|s| param(s).is_some()).collect();
    let mut best: Option<&OpSpec> = None;
    for spec in OPERATIONS {
        let fits = spec.method == method
            && spec.target == target
            && spec.copy.is_none_or(|c| c == copy_source)
            && spec.select.iter().all(|s| OpSpec::selector_present(s, param))
            && present.iter().all(|p| spec.selects_on(p));
        if fits && best.is_none_or(|b| spec.select.len() > b.select.len()) {
            best = Some(spec);
        }
    }
    match best {
        Some(spec) => Ok(spec.op),
        None => Err(present.first().copied()),
    }
}

#[cfg(test)]
mod tests;
