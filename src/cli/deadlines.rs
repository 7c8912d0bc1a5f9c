//! `deadlines` (open applications by their standing) and `timeliness`.

use crate::cli::args::ServerArg;
use crate::cli::remote::{Remote, status};
use crate::wire::proto::{self};

/// Prints open applications with their deadlines, page by page.
pub async fn deadlines(
    server: &ServerArg,
    agency: &str,
    as_of: Option<crate::domain::date::CivilDate>,
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
    let mut count = 0u64;
    loop {
        let page = client
            .list_deadlines(proto::ListDeadlinesRequest {
                agency_id: agency.into(),
                as_of: as_of.map(crate::domain::date::CivilDate::to_proto),
                within_working_days: Some(within),
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
                let left = match d.remaining_working_days {
                    _ if d.due.is_none() => "no period runs".to_owned(),
                    n if n < 0 => format!("overdue by {} working days", -n),
                    0 => "due today".to_owned(),
                    n => format!("{n} working days left"),
                };
                println!(
                    "{}\treceived {}\tdue {}\t{left}\t{}{}{}",
                    a.application_id,
                    date(&a.received_on),
                    date(&d.due),
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
            say!("{}", super::counted(count, "application"));
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
