//! The HTTP routes: read from the `google.api.http` annotations of the
//! protos at start, so that the paths this service answers are exactly the
//! ones a standard transcoder (Envoy's gRPC-JSON transcoder, grpc-gateway)
//! would map from the same protos. Templates use the common subset of the
//! syntax: literal segments, `{field}` (one segment bound to a request
//! field, dots for nested fields) and a final `:verb`.

use http::Method;
use prost_reflect::{DescriptorPool, MethodDescriptor};

use crate::wire::proto::google::api::{HttpRule, http_rule::Pattern};

/// The name of the annotation.
const HTTP_OPTION: &str = "google.api.http";

/// Where a request's body goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyRule {
    /// No body: the fields not in the path come from the query string.
    None,
    /// The body is the request message (`body: "*"`).
    All,
    /// The body is this field of the request; the rest from the query.
    Field(String),
}

/// One HTTP route to one RPC.
#[derive(Clone, Debug)]
pub struct Route {
    pub method: Method,
    template: Template,
    pub body: BodyRule,
    pub rpc: MethodDescriptor,
}

impl Route {
    /// The template as annotated, for error messages and the docs.
    pub fn path(&self) -> String {
        self.template.to_string()
    }

    /// The gRPC path of the RPC: `/disclosure.v1.LedgerService/AppendEvents`.
    pub fn grpc_path(&self) -> String {
        format!("/{}/{}", self.rpc.parent_service().full_name(), self.rpc.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Field(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Template {
    segments: Vec<Segment>,
    verb: Option<String>,
}

impl Template {
    fn parse(path: &str) -> Result<Self, String> {
        let rest = path.strip_prefix('/').ok_or_else(|| format!("{path:?} does not start with /"))?;
        // The verb follows the last segment, outside any braces.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (rest, verb) = match rest[last_slash..].rfind(':') {
            Some(i) if !rest[last_slash + i..].contains('}') => {
                (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_owned()))
            }
            _ => (rest, None),
        };
        let segments = rest
            .split('/')
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(field) if !field.is_empty() && !field.contains(['=', '*', '{', '}']) => {
                    Ok(Segment::Field(field.to_owned()))
                }
                Some(_) => Err(format!("{path:?}: only {{field}} variables are supported")),
                None if s.is_empty() || s.contains(['{', '}', '*']) => Err(format!("{path:?}: a bad segment {s:?}")),
                None => Ok(Segment::Literal(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { segments, verb })
    }

    /// The fields bound by `path` (as sent: percent-encoded), if it matches.
    fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut rest = path.strip_prefix('/')?;
        if let Some(verb) = &self.verb {
            rest = rest.strip_suffix(verb.as_str())?.strip_suffix(':')?;
        }
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut bound = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Field(field) => {
                    let value = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
                    if value.is_empty() {
                        return None;
                    }
                    bound.push((field.clone(), value.into_owned()));
                }
            }
        }
        Some(bound)
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.segments {
            match s {
                Segment::Literal(l) => write!(f, "/{l}")?,
                Segment::Field(field) => write!(f, "/{{{field}}}")?,
            }
        }
        if let Some(verb) = &self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

/// What a request's method and path found.
pub enum Found<'a> {
    /// The route, and the fields its path binds.
    Route(&'a Route, Vec<(String, String)>),
    /// The path is known, but not with this method: the methods it has.
    OtherMethods(Vec<Method>),
    NotFound,
}

/// Every route of the annotated RPCs.
#[derive(Clone, Debug)]
pub struct Routes(Vec<Route>);

impl Routes {
    /// The routes of every RPC in `pool` annotated with `google.api.http`.
    /// Client-streaming RPCs have no HTTP form and must not be annotated.
    pub fn from_pool(pool: &DescriptorPool) -> Result<Self, String> {
        let option =
            pool.get_extension_by_name(HTTP_OPTION).ok_or("the google.api.http option is not in the protos")?;
        let mut routes = Vec::new();
        for service in pool.services() {
            for rpc in service.methods() {
                let options = rpc.options();
                if !options.has_extension(&option) {
                    continue;
                }
                if rpc.is_client_streaming() {
                    return Err(format!("{} streams from the client: it has no HTTP form", rpc.full_name()));
                }
                let rule: HttpRule = options
                    .get_extension(&option)
                    .as_message()
                    .ok_or("google.api.http is not a message")?
                    .transcode_to()
                    .map_err(|e| format!("{}: {e}", rpc.full_name()))?;
                for rule in std::iter::once(&rule).chain(&rule.additional_bindings) {
                    routes.push(route(&rpc, rule)?);
                }
            }
        }
        Ok(Self(routes))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.0.iter()
    }

    /// The route for a request.
    pub fn find(&self, method: &Method, path: &str) -> Found<'_> {
        let mut others = Vec::new();
        for route in &self.0 {
            if let Some(bound) = route.template.matches(path) {
                if route.method == *method {
                    return Found::Route(route, bound);
                }
                others.push(route.method.clone());
            }
        }
        if others.is_empty() { Found::NotFound } else { Found::OtherMethods(others) }
    }
}

fn route(rpc: &MethodDescriptor, rule: &HttpRule) -> Result<Route, String> {
    let (method, path) = match &rule.pattern {
        Some(Pattern::Get(p)) => (Method::GET, p),
        Some(Pattern::Put(p)) => (Method::PUT, p),
        Some(Pattern::Post(p)) => (Method::POST, p),
        Some(Pattern::Delete(p)) => (Method::DELETE, p),
        Some(Pattern::Patch(p)) => (Method::PATCH, p),
        Some(Pattern::Custom(c)) => {
            (Method::from_bytes(c.kind.as_bytes()).map_err(|e| format!("{}: {e}", rpc.full_name()))?, &c.path)
        }
        None => return Err(format!("{}: an HTTP rule without a path", rpc.full_name())),
    };
    let template = Template::parse(path).map_err(|e| format!("{}: {e}", rpc.full_name()))?;
    let body = match rule.body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::All,
        field => BodyRule::Field(field.to_owned()),
    };
    if method == Method::GET && body != BodyRule::None {
        return Err(format!("{}: a GET route with a body", rpc.full_name()));
    }
    Ok(Route { method, template, body, rpc: rpc.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_match_as_transcoders_read_them() {
        let t = Template::parse("/v1/agencies/{scope.agency_id}/reports/{year}:diff").unwrap();
        assert_eq!(t.to_string(), "/v1/agencies/{scope.agency_id}/reports/{year}:diff");
        assert_eq!(
            t.matches("/v1/agencies/hlj-jgj/reports/2024:diff"),
            Some(vec![("scope.agency_id".into(), "hlj-jgj".into()), ("year".into(), "2024".into())])
        );
        assert_eq!(t.matches("/v1/agencies/hlj-jgj/reports/2024"), None);
        let t = Template::parse("/v1/agencies/{agency_id}/applications/{application_id}").unwrap();
        // An id may hold a colon, and arrives percent-encoded.
        let bound = t.matches("/v1/agencies/a/applications/%E4%BE%9D%E7%94%B3%E8%AF%B7:1").unwrap();
        assert_eq!(bound[1].1, "依申请:1");
        assert_eq!(t.matches("/v1/agencies/a/applications/"), None);
        assert_eq!(t.matches("/v1/agencies/a/applications/x/y"), None);
        let t = Template::parse("/v1/events:append").unwrap();
        assert!(t.matches("/v1/events:append").is_some());
        assert!(t.matches("/v1/events").is_none());
        assert!(Template::parse("/v1/{name=agencies/*}").is_err());
        assert!(Template::parse("v1/x").is_err());
    }
}
