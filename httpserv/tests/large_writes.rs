//! Large writes are split as IIS requires (io.rs): memory chunks of at most 4 GiB each
//! (`HTTP_DATA_CHUNK::FromMemory.BufferLength` is a ULONG) in one `WriteEntityChunks` call, at
//! most 65,535 chunks (IIS's limit per response). The hidden hooks `write_split` /
//! `write_async_split` lower the per-chunk limit so the splitting is seen on small bodies, without
//! allocating gigabytes; the real entry points (`write`, `write_async`) are the same code with the
//! 4 GiB limit.

mod common;

use common::register;
use httpserv::__private::{last_refusal, write_async_split, write_split};
use httpserv::prelude::*;
use httpserv_testing::{TestRequest, TestServer};

#[derive(Default)]
struct SyncSplit;

#[http_module]
impl HttpModule for SyncSplit {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let response = context.response();
        write_split(&response, b"0123456789", 4).unwrap();
        // Needs 65,536 one-byte chunks: one more than IIS takes. Refused before anything is sent.
        assert!(write_split(&response, &[b'x'; 65_536], 1).is_err());
        assert!(last_refusal().contains("65,535 chunks"), "{}", last_refusal());
        // Exactly the limit goes, as one call.
        write_split(&response, &[b'y'; 65_535], 1).unwrap();
        NotificationStatus::FinishRequest
    }
}

#[test]
fn a_write_over_the_chunk_limit_goes_as_several_chunks_of_one_call() {
    let server = TestServer::new(register::<SyncSplit>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    let writes: Vec<String> = response.calls_to("IHttpResponse::WriteEntityChunks").map(|c| c.detail.clone()).collect();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(writes[0].starts_with("3 chunk(s), 10 bytes"), "{writes:#?}");
    assert!(writes[1].starts_with("65535 chunk(s), 65535 bytes"), "{writes:#?}");
    let mut expected = b"0123456789".to_vec();
    expected.extend([b'y'; 65_535]);
    assert_eq!(response.body, expected);
    assert_eq!(response.called("IHttpTraceContext::QuickTrace"), 0, "{}", response.transcript());
    server.shutdown();
}

#[derive(Default)]
struct AsyncSplit;

#[http_module]
impl HttpModule for AsyncSplit {
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> NotificationStatus {
        let response = context.response();
        // Buffering off: IIS sends each write at once and reads the chunk array until the
        // write completes.
        response.disable_buffering();
        let (written, data) = write_async_split(&response, b"abcdefgh".to_vec(), 3).await;
        written.unwrap();
        assert_eq!(data, b"abcdefgh", "the buffer comes back");
        let (written, _) = write_async_split(&response, b"ij".to_vec(), 3).await;
        written.unwrap();
        let (refused, data) = write_async_split(&response, vec![b'x'; 65_536], 1).await;
        assert!(refused.is_err());
        assert!(last_refusal().contains("65,535 chunks"), "{}", last_refusal());
        assert_eq!(data.len(), 65_536, "a refused buffer comes back too");
        NotificationStatus::FinishRequest
    }
}

#[test]
fn an_async_write_over_the_chunk_limit_goes_as_several_chunks_of_one_call() {
    let server = TestServer::new(register::<AsyncSplit>).unwrap();
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.status, 200, "{}", response.transcript());
    let writes: Vec<String> = response.calls_to("IHttpResponse::WriteEntityChunks").map(|c| c.detail.clone()).collect();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(writes[0].starts_with("3 chunk(s), 8 bytes"), "{writes:#?}");
    assert!(writes[1].starts_with("1 chunk(s), 2 bytes"), "{writes:#?}");
    assert_eq!(response.body_str(), "abcdefghij");
    // The handler's own assertions held (a panic after the headers went would leave the 200).
    assert_eq!(response.called("IHttpTraceContext::QuickTrace"), 0, "{}", response.transcript());
    server.shutdown();
}
