//! The OpenAPI 3.1 document of the HTTP/JSON face, made from the same
//! descriptors and routes that serve it (so it cannot drift from them):
//! every route with its path and query parameters, its body and answer as
//! JSON Schemas of the proto3 JSON mapping, the `google.rpc.Status` of a
//! refusal, the bearer token, and the protos' own comments as descriptions.
//! Served at `/v1/openapi.json` and printed by `disclosure-ledger openapi`.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use prost_types::FileDescriptorProto;
use serde_json::{Map, Value, json};

use crate::api::http::route::{BodyRule, Routes};
use crate::api::http::transcode::POOL;

/// The document.
pub fn document() -> Result<Value, String> {
    let routes = Routes::from_pool(&POOL)?;
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut schemas = Schemas::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for route in routes.iter() {
        let rpc = &route.rpc;
        let input = rpc.input();
        let path = route.path();
        let bound = path_fields(&path);
        let mut parameters: Vec<Value> = bound
            .iter()
            .map(|name| {
                let field = field_at(&input, name);
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": field.as_ref().map_or(json!({"type": "string"}), |f| schemas.scalar(f)),
                    "description": field.as_ref().and_then(field_comments).unwrap_or_default(),
                })
            })
            .collect();
        let mut body = None;
        match &route.body {
            BodyRule::All => body = Some(schemas.reference(&input)),
            BodyRule::Field(name) => {
                if let Some(Kind::Message(m)) = field_at(&input, name).map(|f| f.kind()) {
                    body = Some(schemas.reference(&m));
                }
                query_parameters(&input, "", &bound, Some(name), &mut schemas, &mut parameters, 0);
            }
            BodyRule::None => query_parameters(&input, "", &bound, None, &mut schemas, &mut parameters, 0),
        }
        let base = format!("{}_{}", rpc.parent_service().name(), rpc.name());
        let n = seen.entry(base.clone()).or_default();
        let operation_id = if *n == 0 { base } else { format!("{base}_{n}") };
        *n += 1;
        let output = schemas.reference(&rpc.output());
        let answer = if rpc.is_server_streaming() {
            json!({
                "description": "One message a line (newline-delimited JSON); an error after the first line is a last line {\"error\": Status}.",
                "content": {"application/x-ndjson": {"schema": output}},
            })
        } else if rpc.full_name() == "disclosure.v1.ReportService.GetReport" {
            // Also the exchange format, when the request's Accept asks for it.
            let table = json!({
                "type": "object",
                "description": "A table in the exchange format, version 1: its JSON Schema is served at \
                                /schemas/table-v1.json and kept in docs/schemas/table-v1.schema.json.",
            });
            json!({
                "description": "The answer; with `Accept: application/vnd.disclosure-ledger.table+json`, \
                                the table in the exchange format.",
                "content": {
                    "application/json": {"schema": output},
                    crate::api::http::TABLE_MEDIA_TYPE: {"schema": table},
                },
            })
        } else {
            json!({"description": "The answer.", "content": {"application/json": {"schema": output}}})
        };
        let mut operation = json!({
            "operationId": operation_id,
            "tags": [rpc.parent_service().name()],
            "summary": format!("{} (gRPC {})", rpc.name(), route.grpc_path()),
            "description": comments(rpc.parent_file().file_descriptor_proto(), rpc.path()).unwrap_or_default(),
            "parameters": parameters,
            "responses": {
                "200": answer,
                "default": {
                    "description": "A refusal: the google.rpc.Status, under the HTTP status its code maps to.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}},
                },
            },
        });
        if let Some(body) = body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        paths.entry(path).or_default().insert(route.method.as_str().to_lowercase(), operation);
    }
    schemas.reference(&POOL.get_message_by_name("google.rpc.Status").ok_or("no google.rpc.Status")?);
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "disclosure-ledger",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HTTP/JSON face of the gRPC service: every path comes from the protos' google.api.http \
                annotations, every body is the proto3 JSON mapping of the RPC's message. 64-bit integers are strings; \
                enums are their names. Send the token as `Authorization: Bearer TOKEN`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.done,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }))
}

/// The `{field}` names of a path template.
fn path_fields(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(f, _)| f.to_owned())).collect()
}

/// The field at a dotted path of `message`.
fn field_at(message: &MessageDescriptor, path: &str) -> Option<FieldDescriptor> {
    let mut at = message.clone();
    let mut names = path.split('.').peekable();
    while let Some(name) = names.next() {
        let field = at.get_field_by_name(name)?;
        if names.peek().is_none() {
            return Some(field);
        }
        let Kind::Message(m) = field.kind() else { return None };
        at = m;
    }
    None
}

/// The query parameters of a request without body (or whose body is one
/// field): its scalar fields, a date as `YYYY-MM-DD`, the scalar fields of
/// its message fields dotted (two levels deep).
fn query_parameters(
    message: &MessageDescriptor,
    prefix: &str,
    bound: &[String],
    body: Option<&str>,
    schemas: &mut Schemas,
    out: &mut Vec<Value>,
    depth: usize,
) {
    for field in message.fields() {
        let name = format!("{prefix}{}", field.name());
        if bound.contains(&name) || body == Some(name.as_str()) || field.is_map() {
            continue;
        }
        let description = field_comments(&field).unwrap_or_default();
        let json_name = format!("{prefix}{}", field.json_name());
        match field.kind() {
            Kind::Message(m) if m.full_name() == "google.type.Date" => out.push(json!({
                "name": json_name, "in": "query", "schema": {"type": "string", "format": "date"}, "description": description,
            })),
            Kind::Message(m) if depth < 2 && !field.is_list() => {
                query_parameters(&m, &format!("{name}."), bound, body, schemas, out, depth + 1);
            }
            Kind::Message(_) => {}
            _ => {
                let schema = schemas.scalar(&field);
                let schema = if field.is_list() { json!({"type": "array", "items": schema}) } else { schema };
                out.push(json!({"name": json_name, "in": "query", "schema": schema, "description": description}));
            }
        }
    }
}

/// The JSON Schemas of the messages met so far.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
}

impl Schemas {
    /// A `$ref` to the schema of `message`, made (with those it uses) if new.
    fn reference(&mut self, message: &MessageDescriptor) -> Value {
        let name = message.full_name().to_owned();
        if let Some(well_known) = well_known(&name) {
            return well_known;
        }
        if !self.done.contains_key(&name) {
            self.done.insert(name.clone(), Value::Null); // taken: a message may refer to itself
            let mut properties = Map::new();
            for field in message.fields() {
                let mut schema = self.field(&field);
                if let (Some(c), Value::Object(o)) = (field_comments(&field), &mut schema) {
                    o.insert("description".into(), Value::String(c));
                }
                properties.insert(field.json_name().to_owned(), schema);
            }
            let mut schema = json!({"type": "object", "properties": properties, "additionalProperties": false});
            if let Some(c) = comments(message.parent_file_descriptor_proto(), message.path()) {
                schema["description"] = Value::String(c);
            }
            self.done.insert(name.clone(), schema);
        }
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else { return json!({"type": "object"}) };
            let value = self.field(&entry.map_entry_value_field());
            return json!({"type": "object", "additionalProperties": value});
        }
        let one = match field.kind() {
            Kind::Message(m) => {
                let r = self.reference(&m);
                // A $ref takes no siblings in older validators: wrap it.
                json!({"allOf": [r]})
            }
            _ => self.scalar(field),
        };
        if field.is_list() { json!({"type": "array", "items": one}) } else { one }
    }

    /// The schema of a scalar or enum field, as the JSON mapping writes it.
    fn scalar(&mut self, field: &FieldDescriptor) -> Value {
        match field.kind() {
            Kind::String => json!({"type": "string"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
            Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int32", "minimum": 0}),
            // Written as strings; read as strings or numbers.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({"type": ["string", "integer"], "format": "int64"}),
            Kind::Uint64 | Kind::Fixed64 => json!({"type": ["string", "integer"], "format": "uint64"}),
            Kind::Float | Kind::Double => json!({"type": "number"}),
            Kind::Enum(e) => {
                let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
                json!({"type": "string", "enum": names})
            }
            Kind::Message(m) => self.reference(&m),
        }
    }
}

/// The JSON forms the mapping gives the well-known types.
fn well_known(name: &str) -> Option<Value> {
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "required": ["@type"],
            "additionalProperties": true,
        }),
        _ => return None,
    })
}

fn field_comments(field: &FieldDescriptor) -> Option<String> {
    comments(field.parent_message().parent_file_descriptor_proto(), field.path())
}

/// The leading comment of the element at `path` of a file, if kept.
fn comments(file: &FileDescriptorProto, path: &[i32]) -> Option<String> {
    let info = file.source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?.trim();
    (!text.is_empty()).then(|| text.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_parameters() {
        let doc = document().unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let report = &paths["/v1/agencies/{scope.agency_id}/reports/{year}"]["get"];
        let names: Vec<&str> =
            report["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"scope.agency_id") && names.contains(&"year"), "{names:?}");
        assert!(names.contains(&"asOfPosition") && names.contains(&"template"), "{names:?}");
        assert!(paths["/v1/events:append"]["post"]["requestBody"].is_object());
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("disclosure.v1.AppendEventsRequest"));
        assert!(schemas.contains_key("google.rpc.Status"));
        assert!(schemas.values().all(|s| !s.is_null()), "every schema made");
        assert_eq!(
            paths.values().map(|p| p.as_object().unwrap().len()).sum::<usize>(),
            Routes::from_pool(&POOL).unwrap().iter().count()
        );
    }
}
