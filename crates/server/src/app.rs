//! The one HTTP entry point: requests for the IAM query API and the admin
//! API (recognised from their head alone) go to `coffer-admin`, everything
//! else to the S3 endpoint.

use coffer_admin::ControlService;
use coffer_s3_api::{ConnInfo, ResBody, S3Service};
use http::{Request, Response};
use http_body_util::BodyExt as _;

/// Both front-ends behind one listener.
#[derive(Clone)]
pub(crate) struct App {
    pub s3: S3Service,
    pub control: ControlService,
}

impl App {
    pub async fn handle<B>(&self, req: Request<B>) -> Response<ResBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<coffer_engine::BoxError> + std::fmt::Display,
    {
        let (parts, body) = req.into_parts();
        if ControlService::claims(&parts).is_some() {
            let peer = parts.extensions.get::<ConnInfo>().map(|c| c.peer);
            let resp = self.control.handle(Request::from_parts(parts, body), peer).await;
            return resp.map(|b| b.map_err(|never| match never {}).boxed_unsync());
        }
        self.s3.handle(Request::from_parts(parts, body)).await
    }
}
