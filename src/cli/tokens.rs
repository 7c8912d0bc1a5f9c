//! `token` create, list and revoke, and `recover-admin` on a stopped store.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::cli::remote::{Remote, status};
use crate::wire::proto::{self};

/// Token administration.
pub async fn token(command: crate::cli::args::TokenCommand) -> anyhow::Result<()> {
    use crate::cli::args::{RoleArg, TokenCommand};
    match command {
        TokenCommand::Create { server, role, agencies, all_agencies, groups, label, output } => {
            let role = match role {
                RoleArg::Writer => proto::Role::Writer,
                RoleArg::Reader => proto::Role::Reader,
                RoleArg::Admin => proto::Role::Admin,
            };
            let created = Remote::connect(&server)
                .await?
                .admin()
                .create_token(proto::CreateTokenRequest {
                    role: role.into(),
                    agency_ids: agencies,
                    all_agencies,
                    group_ids: groups,
                    label,
                })
                .await
                .map_err(status)?
                .into_inner();
            let token = created.token.unwrap_or_default();
            match output {
                Some(path) => {
                    crate::api::server::write_secret(&path, &created.secret)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    say!("token {} created; its secret is in {}", token.token_id, path.display());
                }
                None => {
                    say!("token {} created; the secret below is shown only now:", token.token_id);
                    println!("{}", created.secret);
                }
            }
        }
        TokenCommand::Revoke { server, token_id } => {
            Remote::connect(&server)
                .await?
                .admin()
                .revoke_token(proto::RevokeTokenRequest { token_id: token_id.clone() })
                .await
                .map_err(status)?;
            println!("token {token_id} revoked");
        }
        TokenCommand::List { server } => {
            let mut admin = Remote::connect(&server).await?.admin();
            let mut page_token = String::new();
            let mut tokens = Vec::new();
            loop {
                let page = admin
                    .list_tokens(proto::ListTokensRequest { page_size: 1000, page_token })
                    .await
                    .map_err(status)?
                    .into_inner();
                tokens.extend(page.tokens);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            // The API pages by id (random); people read them oldest first.
            let created = |t: &proto::Token| t.create_time.map(|c| (c.seconds, c.nanos));
            tokens.sort_by(|a, b| created(a).cmp(&created(b)).then_with(|| a.token_id.cmp(&b.token_id)));
            println!("{:<17} {:<7} {:<8} {:<20} {:<20} scope", "id", "role", "state", "label", "created (UTC)");
            for t in &tokens {
                let role = proto::Role::try_from(t.role).map(|r| r.as_str_name()).unwrap_or("?");
                let role = role.trim_start_matches("ROLE_").to_lowercase();
                let state = if t.revoke_time.is_some() { "revoked" } else { "active" };
                let mut scope: Vec<String> = t.agency_ids.clone();
                scope.extend(t.group_ids.iter().map(|g| format!("group:{g}")));
                if t.all_agencies {
                    scope.push("all agencies".into());
                }
                let created = t
                    .create_time
                    .and_then(|c| chrono::DateTime::from_timestamp(c.seconds, 0))
                    .map(|c| c.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default();
                println!(
                    "{:<17} {:<7} {:<8} {:<20} {:<20} {}",
                    t.token_id,
                    role,
                    state,
                    t.label,
                    created,
                    scope.join(",")
                );
            }
        }
    }
    Ok(())
}

/// Adds an admin token to a stopped service's data directory.
pub fn recover_admin(data_dir: &Path, output: &Path) -> anyhow::Result<()> {
    use crate::access::role::{Role, Scope};
    use crate::access::token::{Token, Tokens};
    if !data_dir.join("db").exists() {
        bail!("{} holds no store", data_dir.display());
    }
    let store = crate::store::database::Store::open(data_dir, 8 << 20)
        .with_context(|| format!("cannot open {} (is the service still running on it?)", data_dir.display()))?;
    let tokens = Tokens::load(&store)?;
    let (token, secret) = Token::issue(Role::Admin, Scope::default(), "recovered admin token".into());
    let id = token.id.clone();
    crate::api::server::write_secret(output, &secret).with_context(|| format!("cannot write {}", output.display()))?;
    tokens.put(&store, token)?;
    println!("admin token {id} created; its secret is in {}", output.display());
    Ok(())
}
