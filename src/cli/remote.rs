//! A connection to a running server, with the caller's token and TLS
//! settings, and the clients of each service over it.

use std::path::Path;

use anyhow::Context as _;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::access::token::bearer_metadata;
use crate::cli::args::ServerArg;
use crate::wire::proto::{admin_service_client::AdminServiceClient, deadline_service_client::DeadlineServiceClient};
use crate::wire::proto::{ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient};

/// Adds the bearer token, if any, to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(token: Option<MetadataValue<Ascii>>) -> Self {
        Self(token)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A channel that carries the caller's token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// A connection to a running server, with the caller's credentials.
pub struct Remote {
    channel: Channel,
    bearer: Bearer,
}

impl Remote {
    /// Connects (over TLS for an `https://` address).
    pub async fn connect(server: &ServerArg) -> anyhow::Result<Self> {
        let address = &server.server;
        let mut endpoint = Endpoint::from_shared(address.clone()).with_context(|| format!("{address} is not a URL"))?;
        if address.starts_with("https://") || server.tls_ca.is_some() {
            let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &server.tls_ca {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let (Some(cert), Some(key)) = (&server.tls_cert, &server.tls_key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            if let Some(domain) = &server.tls_domain {
                tls = tls.domain_name(domain.clone());
            }
            endpoint = endpoint.tls_config(tls).context("invalid TLS settings")?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the server at {address} (is `disclosure-ledger serve` running?)"))?;
        let token = match (&server.token, &server.token_file) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the token file {}", f.display()))?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        let bearer = token.map(|t| bearer_metadata(&t)).transpose().map_err(anyhow::Error::msg)?;
        Ok(Self { channel, bearer: Bearer(bearer) })
    }

    pub fn health(&self) -> tonic_health::pb::health_client::HealthClient<Channel> {
        tonic_health::pb::health_client::HealthClient::new(self.channel.clone())
    }

    pub fn ledger(&self) -> LedgerServiceClient<Authed> {
        LedgerServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn reports(&self) -> ReportServiceClient<Authed> {
        ReportServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn deadlines(&self) -> DeadlineServiceClient<Authed> {
        DeadlineServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn admin(&self) -> AdminServiceClient<Authed> {
        AdminServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
}

pub async fn reports(server: &ServerArg) -> anyhow::Result<ReportServiceClient<Authed>> {
    Ok(Remote::connect(server).await?.reports())
}

pub fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}
