//! `health`: whether the server and each of its services are serving.

use anyhow::bail;

use crate::cli::args::ServerArg;
use crate::cli::remote::{Remote, status};

/// Succeeds when the server says SERVING.
pub async fn health(server: &ServerArg) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let answer = Remote::connect(server)
        .await?
        .health()
        .check(HealthCheckRequest { service: String::new() })
        .await
        .map_err(status)?
        .into_inner();
    match ServingStatus::try_from(answer.status) {
        Ok(ServingStatus::Serving) => {
            println!("SERVING");
            Ok(())
        }
        other => bail!("not serving: {:?}", other.unwrap_or(ServingStatus::Unknown)),
    }
}
