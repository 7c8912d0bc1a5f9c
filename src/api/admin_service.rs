//! The `disclosure.v1.AdminService` gRPC service: access tokens and online
//! backups. Every RPC needs an admin token (or `--no-auth`).

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::access::principal::Principal;
use crate::access::role::{Role, Scope};
use crate::access::token::{OpeningTokens, Token};
use crate::api::page;
use crate::deadline::calendar::{Calendar, CalendarCell};
use crate::domain::ids::{AgencyId, SubjectId};
use crate::domain::rejection::{FieldIssue, Rejection, internal};
use crate::ops::backup;
use crate::store::ledger::blocking;
use crate::store::ledger::{Ledger, OpeningLedger};
use crate::wire::proto::{self, admin_service_server::AdminService as AdminServiceApi};
use crate::wire::status::refuse;

/// Longest token label.
const MAX_LABEL: usize = 256;

#[derive(Clone)]
pub struct AdminService {
    ledger: OpeningLedger,
    tokens: OpeningTokens,
    calendar: CalendarCell,
}

impl AdminService {
    pub fn new(ledger: OpeningLedger, tokens: OpeningTokens, calendar: CalendarCell) -> Self {
        Self { ledger, tokens, calendar }
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
            Ok(g) => {
                scope.groups.insert(g.to_string());
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
            let tokens = self.tokens.get().map_err(refuse)?;
            blocking(move || tokens.put(ledger.store(), token).map_err(internal)).await.map_err(refuse)?;
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
            let tokens = self.tokens.get().map_err(refuse)?;
            let lookup = id.clone();
            let token = blocking(move || tokens.revoke(ledger.store(), &lookup).map_err(internal))
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
        self.admin(&request, "list tokens")?;
        let r = request.into_inner();
        let size = page::size(r.page_size).map_err(|i| refuse(Rejection::Invalid(vec![i])))?;
        let after = page::after(&r.page_token, &()).map_err(refuse)?;
        let after = after.as_ref().map_or("", SubjectId::as_str);
        let tokens = self.tokens.get().map_err(refuse)?.list(after, size + 1);
        let next_page_token = match tokens.get(size) {
            Some(_) => SubjectId::parse(&tokens[size - 1].id).map(|id| page::token(&(), &id)).unwrap_or_default(),
            None => String::new(),
        };
        Ok(Response::new(proto::ListTokensResponse {
            tokens: tokens.iter().take(size).map(Token::to_proto).collect(),
            next_page_token,
        }))
    }

    async fn set_calendar(
        &self,
        request: Request<proto::SetCalendarRequest>,
    ) -> Result<Response<proto::SetCalendarResponse>, Status> {
        let span = tracing::info_span!("SetCalendar");
        async move {
            let ledger = self.admin(&request, "change the calendar")?;
            let text = request.into_inner().toml;
            if text.len() > 1 << 20 {
                return Err(refuse(Rejection::invalid("toml", "is larger than 1 MiB")));
            }
            let parsed = Calendar::parse(&text).map_err(|e| refuse(Rejection::invalid("toml", e)))?;
            let years = parsed.years();
            if years.is_empty() {
                return Err(refuse(Rejection::invalid("toml", "names no year")));
            }
            let l = Arc::clone(&ledger);
            blocking(move || l.store().add_calendar(&text).map_err(internal)).await.map_err(refuse)?;
            self.calendar.merge(parsed);
            tracing::info!(?years, "working-day calendar updated");
            Ok(Response::new(proto::SetCalendarResponse { years, known_years: self.calendar.current().years() }))
        }
        .instrument(span)
        .await
    }

    async fn get_calendar(
        &self,
        request: Request<proto::GetCalendarRequest>,
    ) -> Result<Response<proto::GetCalendarResponse>, Status> {
        self.admin(&request, "read the calendar settings")?;
        let calendar = self.calendar.current();
        let known_years = calendar.years();
        let notices = known_years.iter().map(|y| calendar.notice(*y).unwrap_or_default().to_owned()).collect();
        Ok(Response::new(proto::GetCalendarResponse { known_years, notices }))
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
