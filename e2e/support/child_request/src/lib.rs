//! A test module (not an example) for `tests/e2e_child_request.rs`: `/page` clones its context,
//! points the clone at `/fragment`, executes it asynchronously with a buffered response and
//! answers with what the child answered; `/fragment` is the child (this module gets the child's
//! notifications too, as in IIS). The same requests through both doors must give the same
//! bodies and transcripts, every call of the round trip crossing the generated shims.

use httpserv::prelude::*;
use httpserv::{CloneOptions, ExecuteOptions, RawChunk};

#[http_module(name = "ChildRequest")]
#[derive(Default)]
pub struct ChildRequest;

#[http_module]
impl HttpModule for ChildRequest {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        let response = context.response();
        match context.request().path_str().unwrap_or_default() {
            "/fragment" => {
                let who = context.request().header_str("X-Who").unwrap_or("nobody").to_owned();
                response.set_header("X-Child", "yes")?;
                response.write(format!("fragment for {who}").as_bytes())?;
            }
            "/page" => {
                let child = context.clone_context(CloneOptions::basics().headers())?;
                child.request().set_url("/fragment")?;
                let child = child.execute(ExecuteOptions::default().buffer_response()).await?;
                let raw = child.response().raw_response().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_FAIL))?;
                let mut body = Vec::new();
                for chunk in &raw.chunks {
                    if let RawChunk::Memory(bytes) = chunk {
                        body.extend_from_slice(bytes);
                    }
                }
                let status = raw.status;
                drop(child);
                response.write(format!("page [{status} {}]", String::from_utf8_lossy(&body)).as_bytes())?;
            }
            _ => {
                response.set_status(404, "Not Found")?;
            }
        }
        Ok(NotificationStatus::FinishRequest)
    }
}
