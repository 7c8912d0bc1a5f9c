//! The `disclosure.v1.AdminService` gRPC service: access tokens and online
//! backups. Every RPC needs an admin token (or `--no-auth`).

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::access::{Principal, Role, Scope, Token};
use crate::backup;
use crate::ids::{AgencyId, SubjectId};
use crate::ledger::{Ledger, OpeningLedger};
use crate::page;
use crate::proto::{self, admin_service_server::AdminService as AdminServiceApi};
use crate::rejection::{FieldIssue, Rejection, blocking, internal, refuse};

/// Longest token label.
const MAX_LABEL: usize = 256;

#[derive(Clone)]
pub struct AdminService {
    ledger: OpeningLedger,
}

impl AdminService {
    pub fn new(ledger: OpeningLedger) -> Self {
        Self { ledger }
    }

    /// The ledger, once the caller is known to be an admin.
    fn admin<T>(&self, request: &Request<T>, what: &str) -> Result<Arc<Ledger>, Status> {
        Principal::of(request)?.must_be_admin(what).map_err(refuse)?;
        self.ledger.get().map_err(refuse)
    }
}

/// The checked scope and role of a CreateToken request.
fn token_request(r: &proto::CreateTokenRequest) -> Result<(Role, Scope, String), Rejection> {
    let mut issues = Vec::new();
    let role = Role::from_proto(r.role).map_err(|e| issues.push(FieldIssue::new("role", e))).ok();
    let mut scope = Scope { all_agencies: r.all_agencies, ..Scope::default() };
    for (i, a) in r.agency_ids.iter().enumerate() {
        match AgencyId::parse(a) {
            Ok(a) => {
                scope.agencies.insert(a);
            }
            Err(e) => issues.push(FieldIssue::new(format!("agency_ids[{i}]"), e)),
        }
    }
    for (i, g) in r.group_ids.iter().enumerate() {
        match AgencyId::parse(g) {
            Ok(_) => {
                scope.groups.insert(g.clone());
            }
            Err(e) => issues.push(FieldIssue::new(format!("group_ids[{i}]"), e)),
        }
    }
    if r.label.len() > MAX_LABEL {
        issues.push(FieldIssue::new("label", format!("is {} bytes long; at most {MAX_LABEL}", r.label.len())));
    }
    match role {
        Some(Role::Writer) if scope.agencies.is_empty() => {
            issues.push(FieldIssue::new("agency_ids", "a writer token needs the agencies it writes for"))
        }
        Some(Role::Writer) if scope.all_agencies || !scope.groups.is_empty() => issues.push(FieldIssue::new(
            "all_agencies",
            "a writer writes for listed agencies only; all_agencies and group_ids are for readers",
        )),
        Some(Role::Reader) if scope.agencies.is_empty() && scope.groups.is_empty() && !scope.all_agencies => {
            issues.push(FieldIssue::new("agency_ids", "a reader token needs agencies, groups or all_agencies"))
        }
        Some(Role::Admin) if !scope.agencies.is_empty() || !scope.groups.is_empty() || scope.all_agencies => {
            issues.push(FieldIssue::new("agency_ids", "an admin token has no scope: it administers the instance"))
        }
        _ => {}
    }
    match role {
        Some(role) if issues.is_empty() => Ok((role, scope, r.label.clone())),
        _ => Err(Rejection::Invalid(issues)),
    }
}

#[tonic::async_trait]
impl AdminServiceApi for AdminService {
    async fn create_token(
        &self,
        request: Request<proto::CreateTokenRequest>,
    ) -> Result<Response<proto::CreateTokenResponse>, Status> {
        let span = tracing::info_span!("CreateToken", caller = tracing::field::Empty);
        async move {
            let ledger = self.admin(&request, "create tokens")?;
            let (role, scope, label) = token_request(request.get_ref()).map_err(refuse)?;
            let (token, secret) = Token::issue(role, scope, label);
            let shown = token.to_proto();
            let l = Arc::clone(&ledger);
            blocking(move || l.tokens().put(l.store(), token).map_err(internal)).await.map_err(refuse)?;
            tracing::info!(token = %shown.token_id, role = ?role, "token created");
            Ok(Response::new(proto::CreateTokenResponse { token: Some(shown), secret }))
        }
        .instrument(span)
        .await
    }

    async fn revoke_token(
        &self,
        request: Request<proto::RevokeTokenRequest>,
    ) -> Result<Response<proto::RevokeTokenResponse>, Status> {
        let span = tracing::info_span!("RevokeToken", token = %request.get_ref().token_id);
        async move {
            let ledger = self.admin(&request, "revoke tokens")?;
            let id = request.into_inner().token_id;
            let l = Arc::clone(&ledger);
            let lookup = id.clone();
            let token = blocking(move || l.tokens().revoke(l.store(), &lookup).map_err(internal))
                .await
                .map_err(refuse)?
                .ok_or_else(|| refuse(Rejection::NotFound { resource: "token", name: id }))?;
            tracing::info!("token revoked");
            Ok(Response::new(proto::RevokeTokenResponse { token: Some(token.to_proto()) }))
        }
        .instrument(span)
        .await
    }

    async fn list_tokens(
        &self,
        request: Request<proto::ListTokensRequest>,
    ) -> Result<Response<proto::ListTokensResponse>, Status> {
        let ledger = self.admin(&request, "list tokens")?;
        let r = request.into_inner();
        let size = page::size(r.page_size).map_err(|i| refuse(Rejection::Invalid(vec![i])))?;
        let after = page::after(&r.page_token, &()).map_err(refuse)?;
        let after = after.as_ref().map_or("", SubjectId::as_str);
        let tokens = ledger.tokens().list(after, size + 1);
        let next_page_token = match tokens.get(size) {
            Some(_) => SubjectId::parse(&tokens[size - 1].id).map(|id| page::token(&(), &id)).unwrap_or_default(),
            None => String::new(),
        };
        Ok(Response::new(proto::ListTokensResponse {
            tokens: tokens.iter().take(size).map(Token::to_proto).collect(),
            next_page_token,
        }))
    }

    type BackupStream = Pin<Box<dyn Stream<Item = Result<proto::BackupResponse, Status>> + Send>>;

    async fn backup(&self, request: Request<proto::BackupRequest>) -> Result<Response<Self::BackupStream>, Status> {
        let span = tracing::info_span!("Backup");
        let ledger = self.admin(&request, "take backups")?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(
            async move {
                match backup::stream(ledger, tx.clone()).await {
                    Ok(head) => tracing::info!(head, "backup streamed"),
                    Err(e) => {
                        let _ = tx.send(Err(refuse(e))).await;
                    }
                }
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
