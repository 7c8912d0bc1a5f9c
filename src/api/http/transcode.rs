//! The proto3 JSON mapping, both ways, for the HTTP face: a request's
//! path fields, query string and JSON body made into the RPC's protobuf
//! message; an answer's message made into JSON; a refusal made into the
//! `google.rpc.Status` JSON with its details rendered (`"@type"` and the
//! fields), under the HTTP status its gRPC code maps to. Dynamic messages
//! over the service's own descriptors (`prost-reflect`), so that every RPC
//! is transcoded by the same few functions and no message is described
//! twice.

use std::sync::LazyLock;

use http::StatusCode;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage as _, Value,
};
use tonic::Code;

use crate::wire::proto;

/// The service's descriptors (those reflection serves).
pub static POOL: LazyLock<DescriptorPool> =
    LazyLock::new(|| DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET).expect("the built descriptor set decodes"));

/// A request that cannot be made into its message: which field, and why.
#[derive(Debug)]
pub struct BadRequest {
    pub field: String,
    pub why: String,
}

impl BadRequest {
    fn new(field: impl Into<String>, why: impl std::fmt::Display) -> Self {
        Self { field: field.into(), why: why.to_string() }
    }

    pub fn status(&self) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt as _};
        let why = crate::domain::rejection::shown(&self.why, 200).into_owned();
        let field = crate::domain::rejection::shown(&self.field, 100).into_owned();
        let message = if field.is_empty() { why.clone() } else { format!("{field}: {why}") };
        tonic::Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request_violation(field, why),
        )
    }
}

/// Where a request's parts go in its message.
pub struct Parts<'a> {
    /// Fields bound by the path, with their values (decoded).
    pub path: &'a [(String, String)],
    /// The query string, if any (still percent-encoded).
    pub query: Option<&'a str>,
    /// The body: the whole message, one field of it, or nothing.
    pub body: Body<'a>,
}

pub enum Body<'a> {
    None(&'a [u8]),
    All(&'a [u8]),
    Field(&'a str, &'a [u8]),
}

/// The protobuf encoding of the request message of type `input`.
pub fn request(input: &MessageDescriptor, parts: &Parts<'_>) -> Result<Vec<u8>, BadRequest> {
    let json = |desc: MessageDescriptor, bytes: &[u8]| -> Result<DynamicMessage, BadRequest> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let msg = DynamicMessage::deserialize(desc, &mut de).map_err(|e| BadRequest::new("", format!("body: {e}")))?;
        de.end().map_err(|e| BadRequest::new("", format!("body: {e}")))?;
        Ok(msg)
    };
    let mut msg = match parts.body {
        Body::All(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => json(input.clone(), bytes)?,
        Body::All(_) => DynamicMessage::new(input.clone()),
        Body::Field(name, bytes) => {
            let mut msg = DynamicMessage::new(input.clone());
            let field = field_of(input, name).ok_or_else(|| BadRequest::new(name, "no such field"))?;
            let Kind::Message(desc) = field.kind() else {
                return Err(BadRequest::new(name, "the body must be a message field"));
            };
            msg.set_field(&field, Value::Message(json(desc, bytes)?));
            msg
        }
        Body::None(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            return Err(BadRequest::new("", "this method takes no body: send the fields in the query string"));
        }
        Body::None(_) => DynamicMessage::new(input.clone()),
    };
    for (name, value) in parts.path {
        set(&mut msg, name, value, false)?;
    }
    if let Some(query) = parts.query
        && !matches!(parts.body, Body::All(_))
    {
        for (name, value) in form_urlencoded(query) {
            set(&mut msg, &name, &value, true)?;
        }
    }
    Ok(msg.encode_to_vec())
}

/// The proto3 JSON of a message of type `output`, from its encoding.
pub fn response(output: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let msg = DynamicMessage::decode(output.clone(), bytes).map_err(|e| format!("an undecodable answer: {e}"))?;
    serde_json::to_vec(&msg).map_err(|e| e.to_string())
}

/// The HTTP status a gRPC code maps to. As Google's and Envoy's mapping,
/// except FAILED_PRECONDITION: 412 Precondition Failed, not 400, so that a
/// client tells "your request is wrong" from "the state does not allow it"
/// by the status alone.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status"),
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `google.rpc.Status` JSON of a refusal, with its details.
pub fn status_json(status: &tonic::Status) -> Vec<u8> {
    let desc = POOL.get_message_by_name("google.rpc.Status").expect("google.rpc.Status is compiled in");
    // tonic carries the whole google.rpc.Status in `details`, when there is one.
    let msg = DynamicMessage::decode(desc.clone(), status.details()).ok().filter(|_| !status.details().is_empty());
    let msg = msg.unwrap_or_else(|| {
        let plain = proto::google::rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        };
        DynamicMessage::decode(desc, plain.encode_to_vec().as_slice()).expect("a status decodes")
    });
    serde_json::to_vec(&msg).unwrap_or_else(|_| {
        serde_json::to_vec(&serde_json::json!({"code": status.code() as i32, "message": status.message()}))
            .expect("plain JSON")
    })
}

/// Sets the field at `path` (dotted, proto or JSON names) from its text.
/// From the query string a repeated field takes each value in turn.
fn set(msg: &mut DynamicMessage, path: &str, text: &str, from_query: bool) -> Result<(), BadRequest> {
    let mut names = path.split('.').peekable();
    let mut at = msg;
    while let Some(name) = names.next() {
        let desc = at.descriptor();
        let field = field_of(&desc, name).ok_or_else(|| BadRequest::new(path, "no such field"))?;
        if names.peek().is_some() {
            if !matches!(field.kind(), Kind::Message(_)) || field.is_list() || field.is_map() {
                return Err(BadRequest::new(path, format!("{name} is not a message field")));
            }
            at = at
                .get_field_mut(&field)
                .as_message_mut()
                .ok_or_else(|| BadRequest::new(path, format!("{name} is not a message field")))?;
            continue;
        }
        if field.is_map() {
            return Err(BadRequest::new(path, "a map field cannot be set from the path or the query"));
        }
        let value = scalar(&field, text).map_err(|why| BadRequest::new(path, why))?;
        if field.is_list() {
            if !from_query {
                return Err(BadRequest::new(path, "a repeated field cannot be bound by the path"));
            }
            if let Some(list) = at.get_field_mut(&field).as_list_mut() {
                list.push(value);
            }
        } else {
            at.set_field(&field, value);
        }
    }
    Ok(())
}

fn field_of(desc: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    desc.get_field_by_name(name).or_else(|| desc.get_field_by_json_name(name))
}

/// A scalar field's value from its text, as the JSON mapping spells it.
fn scalar(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("{text:?} is not {what}");
    Ok(match field.kind() {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bool => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(text.parse().map_err(|_| bad("a 32-bit integer"))?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(text.parse().map_err(|_| bad("a 64-bit integer"))?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(text.parse().map_err(|_| bad("an unsigned 32-bit integer"))?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(text.parse().map_err(|_| bad("an unsigned 64-bit integer"))?),
        Kind::Float => Value::F32(text.parse().map_err(|_| bad("a number"))?),
        Kind::Double => Value::F64(text.parse().map_err(|_| bad("a number"))?),
        Kind::Enum(e) => match e.get_value_by_name(text) {
            Some(v) => Value::EnumNumber(v.number()),
            None => match text.parse::<i32>().ok().and_then(|n| e.get_value(n)) {
                Some(v) => Value::EnumNumber(v.number()),
                None => return Err(format!("{text:?} is not one of {}", enum_names(&e))),
            },
        },
        Kind::Bytes => return Err("a bytes field cannot be set from the path or the query".into()),
        Kind::Message(m) if m.full_name() == "google.type.Date" => {
            // `asOf=2024-03-01`, the way a person writes a date.
            let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad("a date (YYYY-MM-DD)"))?;
            let wire = proto::google::r#type::Date {
                year: chrono::Datelike::year(&date),
                month: chrono::Datelike::month(&date) as i32,
                day: chrono::Datelike::day(&date) as i32,
            };
            Value::Message(DynamicMessage::decode(m, wire.encode_to_vec().as_slice()).map_err(|e| e.to_string())?)
        }
        Kind::Message(m) => return Err(format!("{} is a message: set its fields (name.field=...)", m.name())),
    })
}

fn enum_names(e: &prost_reflect::EnumDescriptor) -> String {
    e.values().filter(|v| v.number() != 0).map(|v| v.name().to_owned()).collect::<Vec<_>>().join(", ")
}

/// The pairs of a query string, decoded (`+` is a space).
fn form_urlencoded(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            let spaced = s.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
        };
        (decode(k), decode(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> MessageDescriptor {
        POOL.get_message_by_name(name).unwrap()
    }

    #[test]
    fn path_query_and_body_make_the_request_message() {
        let path = [("scope.agency_id".to_owned(), "hlj-jgj".to_owned()), ("year".to_owned(), "2024".to_owned())];
        let query = Some("template=TEMPLATE_2021&asOfPosition=12&review_dating=REVIEW_DATING_FILED_IN_YEAR");
        let bytes =
            request(&input("disclosure.v1.GetReportRequest"), &Parts { path: &path, query, body: Body::None(b"") })
                .unwrap();
        let r = proto::GetReportRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(r.year, 2024);
        assert_eq!(r.as_of_position, 12);
        assert_eq!(r.template(), proto::Template::Template2021);
        assert_eq!(
            r.scope.unwrap().scope,
            Some(proto::report_scope::Scope::AgencyId("hlj-jgj".into())),
            "a nested path field"
        );
        let e = request(
            &input("disclosure.v1.GetReportRequest"),
            &Parts { path: &path, query: Some("year=soon"), body: Body::None(b"") },
        )
        .unwrap_err();
        assert_eq!(e.field, "year");
        let body = br#"{"events":[{"eventId":"e-1","agencyId":"a","subjectId":"s","occurredOn":{"year":2024,"month":3,"day":1},"applicationReceived":{"applicantCategory":"APPLICANT_CATEGORY_NATURAL_PERSON"}}],"validateOnly":true}"#;
        let bytes = request(
            &input("disclosure.v1.AppendEventsRequest"),
            &Parts { path: &[], query: None, body: Body::All(body) },
        )
        .unwrap();
        let r = proto::AppendEventsRequest::decode(bytes.as_slice()).unwrap();
        assert!(r.validate_only);
        assert_eq!(r.events[0].event_id, "e-1");
        let unknown = request(
            &input("disclosure.v1.AppendEventsRequest"),
            &Parts { path: &[], query: None, body: Body::All(br#"{"evnts":[]}"#) },
        )
        .unwrap_err();
        assert!(unknown.why.contains("evnts"), "{unknown:?}");
        let date = request(
            &input("disclosure.v1.ListDeadlinesRequest"),
            &Parts { path: &[], query: Some("asOf=2024-03-01&filter=DEADLINE_FILTER_OVERDUE"), body: Body::None(b"") },
        );
        let r = proto::ListDeadlinesRequest::decode(date.unwrap().as_slice()).unwrap();
        assert_eq!(r.as_of.unwrap().day, 1);
    }

    #[test]
    fn a_refusal_is_the_status_json_with_its_details() {
        let status = BadRequest::new("events[0].occurred_on", "not a date").status();
        let json: serde_json::Value = serde_json::from_slice(&status_json(&status)).unwrap();
        assert_eq!(json["code"], 3);
        assert_eq!(json["details"][0]["@type"], "type.googleapis.com/google.rpc.BadRequest");
        assert_eq!(json["details"][0]["fieldViolations"][0]["field"], "events[0].occurred_on");
        assert_eq!(http_status(Code::FailedPrecondition), StatusCode::PRECONDITION_FAILED);
        assert_eq!(http_status(Code::ResourceExhausted), StatusCode::TOO_MANY_REQUESTS);
    }
}
