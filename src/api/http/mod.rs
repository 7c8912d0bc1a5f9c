//! The HTTP/JSON face of the service, on the gRPC port: every unary and
//! server-streaming RPC at the path its `google.api.http` annotation gives
//! ([`route`]), in the proto3 JSON mapping ([`transcode`]).
//!
//! There is one service with two encodings, not two services: a request is
//! transcoded to the RPC's protobuf message and sent, in process, through
//! the very gRPC service stack the network reaches (the same gate, so the
//! same `Authorization: Bearer` tokens, scopes and rate limit; the same
//! size limits and decoding; the same service code and spans), and the
//! answer transcoded back. A refusal is the `google.rpc.Status` JSON, with
//! the same details, under the HTTP status its code maps to. A server
//! stream (`ReadLog`, `Backup`) is newline-delimited JSON, one message a
//! line; an error after the first line is a last line `{"error": Status}`.
//! StreamAppendEvents streams from the client and has no HTTP form; over
//! HTTP, each AppendEvents call is one request.

pub mod openapi;
pub mod route;
pub mod transcode;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::{Buf as _, Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::api::http::route::{BodyRule, Found, Routes};
use crate::api::http::transcode::Parts;

/// The headers a request passes on to the gRPC call: the credentials,
/// a deadline, and anything of the caller's own (`x-…`).
fn passed_on(name: &header::HeaderName) -> bool {
    name == header::AUTHORIZATION || name.as_str() == "grpc-timeout" || name.as_str().starts_with("x-")
}

/// The HTTP face: the routes, and the gRPC services they call.
#[derive(Clone)]
pub struct HttpApi {
    routes: Arc<Routes>,
    grpc: tonic::service::Routes,
    max_body: usize,
    /// The OpenAPI document, made once.
    openapi: Bytes,
}

impl HttpApi {
    /// Over `grpc`, the services' routes as the server serves them; a body
    /// larger than `max_body` is refused, as a larger message is.
    pub fn new(grpc: tonic::service::Routes, max_body: usize) -> Result<Self, String> {
        let routes = Routes::from_pool(&transcode::POOL)?;
        let openapi = serde_json::to_vec_pretty(&openapi::document()?).map_err(|e| e.to_string())?;
        Ok(Self { routes: Arc::new(routes), grpc, max_body, openapi: Bytes::from(openapi) })
    }

    /// The axum router of the face, under `/v1/`.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/v1/openapi.json", axum::routing::get(document))
            .route("/schemas/table-v1.json", axum::routing::get(table_schema))
            .route("/schemas/rollup-v1.json", axum::routing::get(rollup_schema))
            .route("/v1/{*path}", axum::routing::any(handle))
            .with_state(self)
    }
}

/// The OpenAPI document (no token needed: it holds no data).
async fn document(State(api): State<HttpApi>) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(api.openapi.clone()))
        .expect("a valid response")
}

/// The exchange format's JSON Schema (no token needed: it holds no data).
async fn table_schema() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/schema+json")
        .body(Body::from(crate::report::exchange::SCHEMA))
        .expect("a valid response")
}

/// The roll-up bundle's JSON Schema.
async fn rollup_schema() -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/schema+json")
        .body(Body::from(crate::report::rollup::BUNDLE_SCHEMA))
        .expect("a valid response")
}

async fn handle(State(api): State<HttpApi>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let (route, bound) = match api.routes.find(&parts.method, parts.uri.path()) {
        Found::Route(route, bound) => (route, bound),
        Found::OtherMethods(methods) => return wrong_method(parts.uri.path(), &methods),
        Found::NotFound => {
            return refusal(&tonic::Status::not_found(format!(
                "no HTTP route {} {}: see /v1/openapi.json or the README",
                parts.method,
                parts.uri.path()
            )));
        }
    };
    // Recorded as the gRPC layer records a call, under protocol "http".
    let method = format!("{}/{}", route.rpc.parent_service().name(), route.rpc.name());
    let meter = move |code: tonic::Code| {
        metrics::histogram!(
            "disclosure_rpc_seconds",
            "method" => method.clone(),
            "code" => format!("{code:?}"),
            "protocol" => "http"
        )
        .record(started.elapsed().as_secs_f64());
    };
    let body = match axum::body::to_bytes(body, api.max_body).await {
        Ok(body) => body,
        Err(e) => {
            let status = tonic::Status::resource_exhausted(format!(
                "the request body cannot be read, or is larger than {} bytes: {e}",
                api.max_body
            ));
            meter(status.code());
            return refusal(&status);
        }
    };
    let body = match &route.body {
        BodyRule::None => transcode::Body::None(&body),
        BodyRule::All => transcode::Body::All(&body),
        BodyRule::Field(f) => transcode::Body::Field(f, &body),
    };
    let message = match transcode::request(&route.rpc.input(), &Parts { path: &bound, query: parts.uri.query(), body })
    {
        Ok(message) => message,
        Err(bad) => {
            let status = bad.status();
            tracing::info!(code = ?status.code(), route = %route.path(), "{}", status.message());
            meter(status.code());
            return refusal(&status);
        }
    };
    // GetReport answers in the exchange format when asked for it.
    let table_for = (route.rpc.full_name() == "disclosure.v1.ReportService.GetReport" && wants_table(&parts.headers))
        .then(|| bound.iter().find(|(field, _)| field.starts_with("scope.")).map(|(_, v)| v.clone()));
    let call = match grpc_call(&route.grpc_path(), &message, parts) {
        Ok(call) => call,
        Err(status) => return refusal(&status),
    };
    let Ok(answer) = api.grpc.clone().oneshot(call).await;
    let (head, body) = answer.into_parts();
    // A refusal before any message comes in the headers (trailers-only).
    if let Some(status) = tonic::Status::from_header_map(&head.headers).filter(|s| s.code() != tonic::Code::Ok) {
        meter(status.code());
        return refusal(&status);
    }
    if let Some(whose) = table_for {
        let (response, code) = match one_message(body).await {
            Ok(message) => exchange_table(&message, whose),
            Err(status) => (refusal(&status), status.code()),
        };
        meter(code);
        response
    } else if route.rpc.is_server_streaming() {
        lines(route.rpc.output(), body, meter)
    } else {
        let (response, code) = unary(&route.rpc.output(), body).await;
        meter(code);
        response
    }
}

/// 405, with the methods the path has.
fn wrong_method(path: &str, methods: &[http::Method]) -> Response {
    let allowed = methods.iter().map(http::Method::as_str).collect::<Vec<_>>().join(", ");
    let mut response = refusal(&tonic::Status::unimplemented(format!("{path} is answered for {allowed} only")));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    if let Ok(allow) = HeaderValue::from_str(&allowed) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// The in-process gRPC call of an HTTP request: one length-prefixed
/// message, uncompressed, with the headers passed on and the connection's
/// own facts (peer address, TLS certificates) as they came.
fn grpc_call(
    path: &str,
    message: &[u8],
    parts: http::request::Parts,
) -> Result<http::Request<tonic::body::Body>, tonic::Status> {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.extend_from_slice(&[0]);
    framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
    framed.extend_from_slice(message);
    let mut call = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers");
    for (name, value) in &parts.headers {
        if passed_on(name) {
            call = call.header(name, value);
        }
    }
    let mut call = call
        .body(tonic::body::Body::new(http_body_util::Full::new(framed.freeze())))
        .map_err(|_| tonic::Status::invalid_argument("a request header cannot be passed on"))?;
    *call.extensions_mut() = parts.extensions;
    Ok(call)
}

/// The media type of the exchange format ([`crate::report::exchange`]):
/// GetReport's routes answer in it when the request's `Accept` names it.
pub const TABLE_MEDIA_TYPE: &str = "application/vnd.disclosure-ledger.table+json";

fn wants_table(headers: &http::HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().any(|v| v.to_str().is_ok_and(|v| v.contains(TABLE_MEDIA_TYPE)))
}

/// GetReport's answer in the exchange format; `whose` is the agency or
/// group the path names (else the agencies the report sums).
fn exchange_table(message: &[u8], whose: Option<String>) -> (Response, tonic::Code) {
    use prost::Message as _;
    let report = crate::wire::proto::GetReportResponse::decode(message)
        .map_err(|e| e.to_string())
        .and_then(|r| r.report.ok_or_else(|| "the service sent no report".to_owned()));
    let table = report.and_then(|r| {
        let whose = whose.unwrap_or_else(|| r.agency_ids.join("+"));
        crate::report::exchange::Table::derived(&r, &whose)
    });
    match table {
        Ok(table) => {
            let response = Response::builder()
                .header(header::CONTENT_TYPE, TABLE_MEDIA_TYPE)
                .header(header::LINK, "</schemas/table-v1.json>; rel=\"describedby\"")
                .body(Body::from(table.to_json()))
                .expect("a valid response");
            (response, tonic::Code::Ok)
        }
        Err(e) => (refusal(&tonic::Status::internal(e)), tonic::Code::Internal),
    }
}

/// The one message of a unary answer, or its refusal.
async fn one_message(mut body: tonic::body::Body) -> Result<Bytes, tonic::Status> {
    let mut pending = BytesMut::new();
    let mut status = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    pending.extend_from_slice(data);
                } else if let Some(trailers) = frame.trailers_ref() {
                    status = tonic::Status::from_header_map(trailers);
                }
            }
            Err(s) => {
                status = Some(s);
                break;
            }
        }
    }
    if let Some(status) = status.filter(|s| s.code() != tonic::Code::Ok) {
        return Err(status);
    }
    next_message(&mut pending).ok_or_else(|| tonic::Status::internal("the service sent no answer"))
}

/// A unary answer as JSON, or its refusal; and the code to record.
async fn unary(output: &prost_reflect::MessageDescriptor, body: tonic::body::Body) -> (Response, tonic::Code) {
    let json = match one_message(body).await {
        Ok(message) => transcode::response(output, &message),
        Err(status) => return (refusal(&status), status.code()),
    };
    match json {
        Ok(json) => {
            let response = Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json))
                .expect("a valid response");
            (response, tonic::Code::Ok)
        }
        Err(e) => (refusal(&tonic::Status::internal(e)), tonic::Code::Internal),
    }
}

/// A server stream as newline-delimited JSON, each message a line as it
/// comes; an error ends it with a last line. `meter` records how it ended.
fn lines(
    output: prost_reflect::MessageDescriptor,
    mut body: tonic::body::Body,
    meter: impl FnOnce(tonic::Code) + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let mut pending = BytesMut::new();
        let code = 'stream: loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        pending.extend_from_slice(data);
                        while let Some(message) = next_message(&mut pending) {
                            let line = match transcode::response(&output, &message) {
                                Ok(mut json) => {
                                    json.push(b'\n');
                                    json
                                }
                                Err(e) => error_line(&tonic::Status::internal(e)),
                            };
                            if tx.send(Ok(Bytes::from(line))).await.is_err() {
                                break 'stream tonic::Code::Cancelled; // the client left
                            }
                        }
                    } else if let Some(trailers) = frame.trailers_ref() {
                        let status = tonic::Status::from_header_map(trailers);
                        if let Some(status) = status.as_ref().filter(|s| s.code() != tonic::Code::Ok) {
                            let _ = tx.send(Ok(Bytes::from(error_line(status)))).await;
                        }
                        break status.map_or(tonic::Code::Ok, |s| s.code());
                    }
                }
                Some(Err(status)) => {
                    let _ = tx.send(Ok(Bytes::from(error_line(&status)))).await;
                    break status.code();
                }
                None => break tonic::Code::Ok,
            }
        };
        meter(code);
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
        .expect("a valid response")
}

/// The next whole gRPC message in `buf`, taken out of it.
fn next_message(buf: &mut BytesMut) -> Option<Bytes> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    buf.advance(5);
    Some(buf.split_to(len).freeze())
}

/// A refusal as HTTP: the mapped status, the `google.rpc.Status` JSON.
fn refusal(status: &tonic::Status) -> Response {
    let mut response = Response::new(Body::from(transcode::status_json(status)));
    *response.status_mut() = transcode::http_status(status.code());
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A stream's error as its last line.
fn error_line(status: &tonic::Status) -> Vec<u8> {
    let mut line = b"{\"error\":".to_vec();
    line.extend_from_slice(&transcode::status_json(status));
    line.extend_from_slice(b"}\n");
    line
}
