//! `calendar`: the working-day calendar a server uses, and adding a year.

use anyhow::Context as _;

use crate::cli::remote::{Remote, status};
use crate::wire::proto::{self};

/// The calendar of a running service.
pub async fn calendar(command: crate::cli::args::CalendarCommand) -> anyhow::Result<()> {
    use crate::cli::args::CalendarCommand;
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
