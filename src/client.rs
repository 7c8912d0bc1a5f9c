//! The client side of the command line: append a JSON Lines file of events,
//! and show an application.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, bail};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::access::bearer_metadata;
use crate::cli::ServerArg;
use crate::proto::{admin_service_client::AdminServiceClient, deadline_service_client::DeadlineServiceClient};

use crate::cli::{ReviewDatingArg, TableArgs};
use crate::proto::{self, ledger_service_client::LedgerServiceClient, report_service_client::ReportServiceClient};
use crate::render::{self, Format};

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

/// Reads events, one proto3-JSON `Event` per line (blank lines and lines
/// starting with `#` are skipped), with their line numbers.
pub fn read_events(reader: impl BufRead) -> anyhow::Result<Vec<(usize, proto::Event)>> {
    let mut events = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let event: proto::Event =
            serde_json::from_str(trimmed).with_context(|| format!("line {}: not a disclosure.v1.Event", i + 1))?;
        events.push((i + 1, event));
    }
    Ok(events)
}

/// Appends the file's events in batches; stops at the first refused batch
/// (earlier batches stay appended; re-running the file is safe, since
/// event ids make retries idempotent).
pub async fn append(server: &ServerArg, file: &Path, batch: usize) -> anyhow::Result<()> {
    let events = if file == Path::new("-") {
        read_events(std::io::stdin().lock())?
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        read_events(std::io::BufReader::new(f))?
    };
    let mut client = Remote::connect(server).await?.ledger();
    let (mut new, mut duplicate) = (0usize, 0usize);
    for chunk in events.chunks(batch) {
        let request = proto::AppendEventsRequest {
            events: chunk.iter().map(|(_, e)| e.clone()).collect(),
            expected_revisions: Vec::new(),
            validate_only: false,
        };
        let first_line = chunk[0].0;
        let last_line = chunk[chunk.len() - 1].0;
        match client.append_events(request).await {
            Ok(response) => {
                for r in response.into_inner().results {
                    if r.duplicate { duplicate += 1 } else { new += 1 }
                }
            }
            Err(status) => {
                let message = relabel(status.message(), chunk.iter().map(|(line, _)| *line));
                bail!(
                    "lines {first_line}-{last_line} refused ({:?}): {message}\n{new} events appended before this batch, {duplicate} already recorded",
                    status.code()
                );
            }
        }
    }
    println!("{new} events appended, {duplicate} already recorded");
    Ok(())
}

/// Rewrites `events[i]` in a message as the line it came from.
fn relabel(message: &str, lines: impl Iterator<Item = usize>) -> String {
    let mut out = message.to_owned();
    let lines: Vec<usize> = lines.collect();
    for (i, line) in lines.iter().enumerate().rev() {
        out = out.replace(&format!("events[{i}]"), &format!("line {line}"));
    }
    out
}

/// Prints an application's state and history.
pub async fn show(server: &ServerArg, agency: &str, application: &str, json: bool) -> anyhow::Result<()> {
    let mut client = Remote::connect(server).await?.ledger();
    let response = client
        .get_application(proto::GetApplicationRequest {
            agency_id: agency.to_owned(),
            application_id: application.to_owned(),
        })
        .await
        .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    if json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(());
    }
    let app = response.application.unwrap_or_default();
    let date = |d: &Option<proto::google::r#type::Date>| {
        d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    };
    println!("application {} of {}", app.application_id, app.agency_id);
    println!("  status      {}", app.status().as_str_name());
    println!("  applicant   {}", app.applicant_category().as_str_name());
    println!("  channel     {}", app.channel().as_str_name());
    println!("  received    {}", date(&app.received_on));
    println!("  concluded   {}", date(&app.concluded_on));
    if app.outcome != 0 {
        println!("  outcome     {}{}", app.outcome().as_str_name(), if app.withdrawn { " (withdrawn)" } else { "" });
    }
    if !app.split_into.is_empty() {
        println!("  split into  {}", app.split_into.join(", "));
    }
    if !app.split_from.is_empty() {
        println!("  split from  {}", app.split_from);
    }
    if let Some(d) = &response.deadline {
        if d.calendar_error.is_empty() {
            println!(
                "  deadline    {} ({}; clock from {}, {} paused, {} extension working days)",
                date(&d.due),
                d.standing().as_str_name().trim_start_matches("DEADLINE_STANDING_"),
                date(&d.clock_starts),
                d.paused_working_days,
                d.extension_working_days
            );
        } else {
            println!("  deadline    unknown: {}", d.calendar_error);
        }
    }
    println!("history ({} events):", response.history.len());
    for r in &response.history {
        let e = r.event.clone().unwrap_or_default();
        let payload = serde_json::to_value(&e)?;
        let kind = payload
            .as_object()
            .and_then(|o| {
                o.keys()
                    .find(|k| {
                        !matches!(
                            k.as_str(),
                            "eventId" | "agencyId" | "subjectId" | "occurredOn" | "actor" | "correlationId"
                        )
                    })
                    .cloned()
            })
            .unwrap_or_default();
        println!("  #{:<8} rev {:<3} {} {} {}", r.position, r.stream_revision, date(&e.occurred_on), kind, e.event_id);
    }
    Ok(())
}

async fn reports(server: &ServerArg) -> anyhow::Result<ReportServiceClient<Authed>> {
    Ok(Remote::connect(server).await?.reports())
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}

fn scope(t: &TableArgs) -> proto::ReportScope {
    use proto::report_scope::Scope;
    let scope = match (&t.group, t.agencies.as_slice()) {
        (Some(g), _) => Scope::GroupId(g.clone()),
        (None, [one]) => Scope::AgencyId(one.clone()),
        (None, many) => Scope::Agencies(proto::AgencyList { agency_ids: many.to_vec() }),
    };
    proto::ReportScope { scope: Some(scope) }
}

fn template(t: &TableArgs) -> i32 {
    match t.template.as_deref() {
        Some("2019") => proto::Template::Template2019 as i32,
        Some("2021") => proto::Template::Template2021 as i32,
        _ => proto::Template::Unspecified as i32,
    }
}

fn dating(t: &TableArgs) -> i32 {
    match t.review_dating {
        ReviewDatingArg::Filed => proto::ReviewDating::FiledInYear as i32,
        ReviewDatingArg::Decided => proto::ReviewDating::DecidedInYear as i32,
    }
}

/// Prints (or writes) a year's tables.
pub async fn report(
    server: &ServerArg,
    t: &TableArgs,
    as_of: Option<u64>,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let report = reports(server)
        .await?
        .get_report(proto::GetReportRequest {
            scope: Some(scope(t)),
            year: t.year,
            template: template(t),
            as_of_position: as_of.unwrap_or(0),
            review_dating: dating(t),
        })
        .await
        .map_err(status)?
        .into_inner()
        .report
        .unwrap_or_default();
    let text = render::render(&report, format)?;
    match output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    if !report.checks_passed {
        let failed: Vec<_> =
            report.checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect();
        bail!("the table failed its checks: {}", failed.join("; "));
    }
    eprintln!("log position {}; all {} checks passed", report.log_position, report.checks.len());
    Ok(())
}

/// Prints the cells that changed between two positions.
pub async fn diff(server: &ServerArg, t: &TableArgs, from: u64, to: Option<u64>) -> anyhow::Result<()> {
    let d = reports(server)
        .await?
        .diff_report(proto::DiffReportRequest {
            scope: Some(scope(t)),
            year: t.year,
            template: template(t),
            review_dating: dating(t),
            from_position: from,
            to_position: to.unwrap_or(0),
        })
        .await
        .map_err(status)?
        .into_inner();
    let (a, b) = (d.from.unwrap_or_default().log_position, d.to.unwrap_or_default().log_position);
    println!("{} cells changed between log positions {a} and {b}", d.changes.len());
    for c in &d.changes {
        println!("  {} {:<12} {:<8} {} -> {}", c.section, c.row, c.column, c.before, c.after);
    }
    Ok(())
}

/// Lists every application counted in a cell, page by page.
pub async fn cell(
    server: &ServerArg,
    agency: &str,
    year: i32,
    row: &str,
    column: i32,
    as_of: Option<u64>,
) -> anyhow::Result<()> {
    let mut client = reports(server).await?;
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page = client
            .list_cell_applications(proto::ListCellApplicationsRequest {
                agency_id: agency.into(),
                year,
                row: row.into(),
                column,
                as_of_position: as_of.unwrap_or(0),
                page_size: 1000,
                page_token: token,
            })
            .await
            .map_err(status)?
            .into_inner();
        for a in &page.applications {
            let d = |d: &Option<proto::google::r#type::Date>| {
                d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            };
            println!(
                "{}\treceived {}\tconcluded {}\t{}\t{}",
                a.application_id,
                d(&a.received_on),
                d(&a.concluded_on),
                a.applicant_category().as_str_name(),
                if a.outcome == 0 { "" } else { a.outcome().as_str_name() }
            );
            count += 1;
        }
        if page.next_page_token.is_empty() {
            eprintln!("{count} applications (log position {})", page.log_position);
            return Ok(());
        }
        token = page.next_page_token;
    }
}

/// Rebuilds everything from the raw log on the server and compares.
pub async fn verify(server: &ServerArg, deep: bool) -> anyhow::Result<()> {
    let v =
        reports(server).await?.verify_tallies(proto::VerifyTalliesRequest { deep }).await.map_err(status)?.into_inner();
    println!(
        "replayed {} events ({} subjects) up to log position {} in {:.2} s ({:.0} events/s)",
        v.events_replayed,
        v.subjects,
        v.log_position,
        v.seconds,
        v.events_replayed as f64 / v.seconds.max(1e-9)
    );
    if !v.consistent {
        for d in &v.differences {
            println!("DIFFERENCE {d}");
        }
        bail!("{} differences between the maintained tallies and the replay", v.differences.len());
    }
    println!("every table and every application matches the replay");
    Ok(())
}

/// Registers a group of agencies.
pub async fn set_group(server: &ServerArg, group: &str, agencies: Vec<String>) -> anyhow::Result<()> {
    let r = reports(server)
        .await?
        .set_group(proto::SetGroupRequest {
            group: Some(proto::Group { group_id: group.into(), agency_ids: agencies }),
        })
        .await
        .map_err(status)?
        .into_inner();
    let g = r.group.unwrap_or_default();
    println!("group {}: {}", g.group_id, g.agency_ids.join(", "));
    Ok(())
}

/// Prints open applications with their deadlines, page by page.
pub async fn deadlines(
    server: &ServerArg,
    agency: &str,
    as_of: Option<crate::date::CivilDate>,
    within: u32,
    overdue: bool,
    all: bool,
) -> anyhow::Result<()> {
    let mut client = Remote::connect(server).await?.deadlines();
    let filter = if overdue {
        proto::DeadlineFilter::Overdue
    } else if all {
        proto::DeadlineFilter::Unspecified
    } else {
        proto::DeadlineFilter::DueSoon
    };
    let date = |d: &Option<proto::google::r#type::Date>| {
        d.as_ref().map_or("-".to_owned(), |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    };
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page = client
            .list_deadlines(proto::ListDeadlinesRequest {
                agency_id: agency.into(),
                as_of: as_of.map(crate::date::CivilDate::to_proto),
                within_working_days: within,
                filter: filter as i32,
                page_size: 1000,
                page_token: token,
            })
            .await
            .map_err(status)?
            .into_inner();
        if count == 0 {
            println!("as of {}:", date(&page.as_of));
        }
        for e in &page.entries {
            let a = e.application.clone().unwrap_or_default();
            let d = e.deadline.clone().unwrap_or_default();
            if !d.calendar_error.is_empty() {
                println!("{}\treceived {}\tNO DEADLINE: {}", a.application_id, date(&a.received_on), d.calendar_error);
            } else {
                println!(
                    "{}\treceived {}\tdue {}\t{} working days left\t{}{}{}",
                    a.application_id,
                    date(&a.received_on),
                    date(&d.due),
                    d.remaining_working_days,
                    d.standing().as_str_name().trim_start_matches("DEADLINE_STANDING_"),
                    if d.paused_working_days > 0 {
                        format!(" (paused {} days)", d.paused_working_days)
                    } else {
                        String::new()
                    },
                    if d.supplement_request_late { " (supplement requested late)" } else { "" },
                );
            }
            count += 1;
        }
        if page.next_page_token.is_empty() {
            eprintln!("{count} applications");
            return Ok(());
        }
        token = page.next_page_token;
    }
}

/// Prints how promptly an agency answered in a year.
pub async fn timeliness(server: &ServerArg, agency: &str, year: i32) -> anyhow::Result<()> {
    let t = Remote::connect(server)
        .await?
        .deadlines()
        .get_timeliness(proto::GetTimelinessRequest { agency_id: agency.into(), year })
        .await
        .map_err(status)?
        .into_inner();
    println!(
        "{year}: {} answered, {} on time, {} late; working days to answer: median {}, 90th percentile {}",
        t.answered, t.answered_on_time, t.answered_late, t.median_working_days, t.p90_working_days
    );
    if t.without_deadline > 0 {
        println!("{} more fall outside the known working-day calendar (load that year's schedule)", t.without_deadline);
    }
    Ok(())
}

/// Token administration.
pub async fn token(command: crate::cli::TokenCommand) -> anyhow::Result<()> {
    use crate::cli::{RoleArg, TokenCommand};
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
                    crate::server::write_secret(&path, &created.secret)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("token {} created; its secret is in {}", token.token_id, path.display());
                }
                None => {
                    eprintln!("token {} created; the secret below is shown only now:", token.token_id);
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
            println!("{:<17} {:<7} {:<8} {:<20} scope", "id", "role", "state", "label");
            loop {
                let page = admin
                    .list_tokens(proto::ListTokensRequest { page_size: 1000, page_token })
                    .await
                    .map_err(status)?
                    .into_inner();
                for t in &page.tokens {
                    let role = proto::Role::try_from(t.role).map(|r| r.as_str_name()).unwrap_or("?");
                    let role = role.trim_start_matches("ROLE_").to_lowercase();
                    let state = if t.revoke_time.is_some() { "revoked" } else { "active" };
                    let mut scope: Vec<String> = t.agency_ids.clone();
                    scope.extend(t.group_ids.iter().map(|g| format!("group:{g}")));
                    if t.all_agencies {
                        scope.push("all agencies".into());
                    }
                    println!("{:<17} {:<7} {:<8} {:<20} {}", t.token_id, role, state, t.label, scope.join(","));
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
    }
    Ok(())
}

/// Streams an online backup into a file: written beside it, synced, then
/// renamed, so a file under the final name is always a whole backup.
pub async fn backup(server: &ServerArg, output: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stream =
        Remote::connect(server).await?.admin().backup(proto::BackupRequest {}).await.map_err(status)?.into_inner();
    let partial = output.with_extension("partial");
    let file = std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut head = None;
    let mut events = 0u64;
    let bar = indicatif::ProgressBar::hidden();
    while let Some(item) = stream.message().await.map_err(status)? {
        match &item.item {
            Some(proto::backup_response::Item::Header(h)) => {
                head = Some(h.head_position);
                bar.set_length(h.head_position);
                bar.set_style(progress_style());
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            Some(proto::backup_response::Item::Event(_)) => {
                events += 1;
                if events.is_multiple_of(1024) {
                    bar.set_position(events);
                }
            }
            None => {}
        }
        crate::backup::write_item(&mut out, &item)?;
    }
    bar.finish_and_clear();
    let head = head.context("the server sent no backup header")?;
    if events != head {
        bail!("the backup stream ended after {events} of {head} events; {} is incomplete", partial.display());
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&partial, output)?;
    let _ = std::io::stdout().flush();
    println!("backup of log positions 1-{head} written to {}", output.display());
    Ok(())
}

fn progress_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
        .expect("a valid template")
}

/// Restores a backup file into an empty data directory.
pub async fn restore(file: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0).with_style(progress_style());
    let restored =
        crate::backup::restore(file, data_dir, crate::config::Config::DEFAULT_CACHE_MIB << 20, |done, of| {
            bar.set_length(of);
            bar.set_position(done);
        })
        .await
        .with_context(|| {
            format!("restore failed; remove {} before trying again, it may hold part of the backup", data_dir.display())
        })?;
    bar.finish_and_clear();
    println!(
        "restored log positions 1-{}, {} groups and {} tokens into {}",
        restored.head,
        restored.groups,
        restored.tokens,
        data_dir.display()
    );
    Ok(())
}

/// Writes the log (or one agency's part) as JSON Lines of events.
pub async fn export(server: &ServerArg, agency: Option<&str>, output: Option<&Path>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stream = Remote::connect(server)
        .await?
        .ledger()
        .read_log(proto::ReadLogRequest {
            from_position: 1,
            agency_id: agency.unwrap_or_default().to_owned(),
            follow: false,
        })
        .await
        .map_err(status)?
        .into_inner();
    let mut out: Box<dyn std::io::Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut n = 0u64;
    while let Some(r) = stream.message().await.map_err(status)? {
        if let Some(event) = r.event.and_then(|e| e.event) {
            serde_json::to_writer(&mut out, &event)?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    out.flush()?;
    eprintln!("{n} events exported");
    Ok(())
}

/// Adds an admin token to a stopped service's data directory.
pub fn recover_admin(data_dir: &Path, output: &Path) -> anyhow::Result<()> {
    use crate::access::{Role, Scope, Token, Tokens};
    if !data_dir.join("db").exists() {
        bail!("{} holds no store", data_dir.display());
    }
    let store = crate::store::Store::open(data_dir, 8 << 20)
        .with_context(|| format!("cannot open {} (is the service still running on it?)", data_dir.display()))?;
    let tokens = Tokens::load(&store)?;
    let (token, secret) = Token::issue(Role::Admin, Scope::default(), "recovered admin token".into());
    let id = token.id.clone();
    crate::server::write_secret(output, &secret).with_context(|| format!("cannot write {}", output.display()))?;
    tokens.put(&store, token)?;
    println!("admin token {id} created; its secret is in {}", output.display());
    Ok(())
}

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

/// Imports a ledger file.
pub async fn import(
    server: &ServerArg,
    file: &Path,
    agency: &str,
    mapping: Option<&Path>,
    skip_bad: bool,
    rejects: Option<std::path::PathBuf>,
    batch: usize,
) -> anyhow::Result<()> {
    use crate::import;
    let agency = crate::ids::AgencyId::parse(agency).map_err(|e| anyhow::anyhow!("--agency: {e}"))?;
    let mapping = mapping.map(import::Mapping::load).transpose()?.unwrap_or_default();
    let table = import::read(file)?;
    let rejects = rejects.or_else(|| skip_bad.then(|| file.with_extension("rejects.csv")));
    let options = import::Options { agency, skip_bad, rejects: rejects.clone(), batch, progress: true };
    let remote = Remote::connect(server).await?;
    let done = import::run(&remote, &table, &mapping, &options).await?;
    println!(
        "{} rows: {} applications imported ({} events), {} already recorded, {} skipped",
        done.rows, done.applications, done.events, done.already_recorded, done.skipped
    );
    if done.skipped > 0
        && let Some(path) = rejects
    {
        println!("the skipped rows and their reasons are in {}", path.display());
    }
    Ok(())
}

/// Writes the whole annual report in a published format.
pub async fn annual_report(
    server: &ServerArg,
    agency: &str,
    year: i32,
    template: Option<&str>,
    as_of: Option<u64>,
    format: crate::publication::Format,
    output: &Path,
) -> anyhow::Result<()> {
    let template = match template {
        Some("2019") => proto::Template::Template2019,
        Some("2021") => proto::Template::Template2021,
        _ => proto::Template::Unspecified,
    };
    let report = Remote::connect(server)
        .await?
        .reports()
        .get_annual_report(proto::GetAnnualReportRequest {
            agency_id: agency.into(),
            year,
            template: template as i32,
            review_dating: proto::ReviewDating::Unspecified as i32,
            as_of_position: as_of.unwrap_or(0),
        })
        .await
        .map_err(status)?
        .into_inner()
        .annual_report
        .context("the server sent no report")?;
    let bytes = crate::publication::publish(&report, format)?;
    std::fs::write(output, bytes).with_context(|| format!("cannot write {}", output.display()))?;
    let tables = report.tables.unwrap_or_default();
    println!(
        "{} written to {} (log position {}; checks {})",
        report.title,
        output.display(),
        tables.log_position,
        if tables.checks_passed { "passed" } else { "FAILED" }
    );
    Ok(())
}

/// Records an agency's text for a part of its annual report.
pub async fn report_text(
    server: &ServerArg,
    agency: &str,
    year: i32,
    section: crate::cli::SectionArg,
    file: &Path,
) -> anyhow::Result<()> {
    use crate::cli::SectionArg;
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let section = match section {
        SectionArg::Name => proto::ReportSection::AgencyName,
        SectionArg::Preamble => proto::ReportSection::Preamble,
        SectionArg::Overview => proto::ReportSection::Overview,
        SectionArg::Problems => proto::ReportSection::Problems,
        SectionArg::Other => proto::ReportSection::Other,
    };
    let event = proto::Event {
        event_id: uuid::Uuid::new_v4().to_string(),
        agency_id: agency.into(),
        subject_id: crate::annual_report::subject_for(year),
        occurred_on: Some(crate::date::CivilDate::today_in_china().to_proto()),
        actor: String::new(),
        correlation_id: String::new(),
        payload: Some(proto::event::Payload::ReportTextSet(proto::ReportTextSet {
            year,
            section: section as i32,
            text,
        })),
    };
    let r = Remote::connect(server)
        .await?
        .ledger()
        .append_events(proto::AppendEventsRequest {
            events: vec![event],
            expected_revisions: vec![],
            validate_only: false,
        })
        .await
        .map_err(status)?
        .into_inner();
    println!("text recorded at log position {}", r.results.first().map_or(0, |r| r.position));
    Ok(())
}

/// The calendar of a running service.
pub async fn calendar(command: crate::cli::CalendarCommand) -> anyhow::Result<()> {
    use crate::cli::CalendarCommand;
    match command {
        CalendarCommand::Set { server, file } => {
            let toml = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = Remote::connect(&server)
                .await?
                .admin()
                .set_calendar(proto::SetCalendarRequest { toml })
                .await
                .map_err(status)?
                .into_inner();
            println!("set {:?}; the calendar now knows {:?}", r.years, r.known_years);
        }
        CalendarCommand::Show { server } => {
            let r = Remote::connect(&server)
                .await?
                .admin()
                .get_calendar(proto::GetCalendarRequest {})
                .await
                .map_err(status)?
                .into_inner();
            for (year, notice) in r.known_years.iter().zip(&r.notices) {
                println!("{year}\t{notice}");
            }
        }
    }
    Ok(())
}
