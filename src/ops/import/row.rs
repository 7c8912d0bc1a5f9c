//! One ledger row parsed, and the events that tell the same story, with
//! ids derived from the agency, the application number and the step.

use crate::domain::codes::{ApplicantCategory, Channel, Outcome};
use crate::domain::date::CivilDate;
use crate::domain::ids::{AgencyId, EventId, SubjectId};
use crate::ops::import::layout::{Field, Layout};
use crate::report::template::COLUMNS;
use crate::wire::proto::{self, event::Payload};

/// How an application ended, as a ledger says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Concluded(Outcome),
    /// 申请人撤回: counted as 6.3.
    Withdrawn,
}

/// One row, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    pub number: SubjectId,
    pub received_on: CivilDate,
    pub applicant: ApplicantCategory,
    pub channel: Channel,
    pub ended: Option<(CivilDate, Ending)>,
    pub fee_fen: Option<i64>,
}

/// A date as ledgers write it: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日
/// (a time after it is ignored).
pub fn parse_date(s: &str) -> Result<CivilDate, String> {
    let s = s.trim();
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    let formats = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"];
    let date = formats
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(day, f).ok())
        .ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD, YYYY/M/D or YYYY年M月D日)"))?;
    let date = CivilDate::from_ymd(
        chrono::Datelike::year(&date),
        chrono::Datelike::month(&date),
        chrono::Datelike::day(&date),
    )
    .ok_or_else(|| format!("{s:?} is not a date"))?;
    date.check_business()?;
    Ok(date)
}

/// The applicant column: the table's own labels, or our wire names.
pub fn parse_applicant(s: &str) -> Result<ApplicantCategory, String> {
    let s = s.trim();
    let by_label = COLUMNS[..6].iter().position(|c| *c == s).map(|i| ApplicantCategory::ALL[i]);
    let alias = match s {
        "公民" | "个人" => Some(ApplicantCategory::NaturalPerson),
        "企业" => Some(ApplicantCategory::CommercialEnterprise),
        "律师事务所" => Some(ApplicantCategory::LegalServiceProvider),
        _ => None,
    };
    by_label
        .or(alias)
        .or_else(|| ApplicantCategory::ALL.iter().copied().find(|a| wire_name_matches(a.to_proto().as_str_name(), s)))
        .ok_or_else(|| format!("{s:?} is not an applicant type ({})", COLUMNS[..6].join("、")))
}

/// The channel column (blank: 其他).
pub fn parse_channel(s: &str) -> Result<Channel, String> {
    let s = s.trim();
    let c = match s {
        "" | "其他" => Channel::Other,
        "当面" | "现场" | "当面提交" | "现场申请" => Channel::InPerson,
        "信函" | "邮寄" | "信件" => Channel::Post,
        "网络" | "网上" | "在线" | "网上申请" | "电子邮件" => Channel::Online,
        "传真" => Channel::Fax,
        _ => Channel::ALL
            .iter()
            .copied()
            .find(|c| wire_name_matches(c.to_proto().as_str_name(), s))
            .ok_or_else(|| format!("{s:?} is not a channel (当面, 信函, 网络, 传真, 其他)"))?,
    };
    Ok(c)
}

/// The outcome column: a leaf code ("3.1"), the leaf's label in the 2021
/// template with or without its numbering ("1.属于国家秘密", "属于国家秘密"),
/// our wire name, or 撤回 for a withdrawal.
pub fn parse_outcome(s: &str) -> Result<Ending, String> {
    let s = s.trim();
    if matches!(s, "撤回" | "申请人撤回" | "撤回申请" | "withdrawn") {
        return Ok(Ending::Withdrawn);
    }
    if let Some(o) = Outcome::from_code(s) {
        return Ok(Ending::Concluded(o));
    }
    let bare = |label: &str| -> String {
        let label = label.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        let label = label.split_once('）').filter(|(n, _)| n.starts_with('（')).map_or(label, |(_, rest)| rest);
        label.split('（').next().unwrap_or(label).to_owned()
    };
    let wanted = bare(s);
    let found = Outcome::ALL.iter().copied().find(|o| {
        let label = crate::report::template::RowSpec::leaf(*o).label;
        label == s || bare(label) == wanted || wire_name_matches(o.to_proto().as_str_name(), s)
    });
    found.map(Ending::Concluded).ok_or_else(|| format!("{s:?} is not an outcome (a code such as 3.1, or its label)"))
}

/// `APPLICANT_CATEGORY_NATURAL_PERSON` matches `natural_person` and the
/// whole name, in any case.
fn wire_name_matches(wire: &str, s: &str) -> bool {
    let s = s.to_ascii_uppercase();
    !s.is_empty() && (wire == s || wire.ends_with(&format!("_{s}")))
}

enum Status {
    Open,
    Concluded,
}

fn parse_status(s: &str) -> Result<Option<Status>, String> {
    match s.trim() {
        "" => Ok(None),
        "办理中" | "在办" | "未办结" | "待办" | "open" | "pending" => Ok(Some(Status::Open)),
        "已办结" | "办结" | "已答复" | "已完成" | "concluded" | "closed" => Ok(Some(Status::Concluded)),
        other => Err(format!("{other:?} is not a status (已办结 or 办理中)")),
    }
}

/// Checks one row; the reason names the column.
pub fn parse_row(layout: &Layout, row: &[String]) -> Result<LedgerRow, String> {
    let at = |field: Field, why: String| format!("{}: {why}", layout.name(field));
    let number = SubjectId::parse(layout.get(row, Field::Number)).map_err(|e| at(Field::Number, e))?;
    let received_on = parse_date(layout.get(row, Field::ReceivedOn)).map_err(|e| at(Field::ReceivedOn, e))?;
    let applicant = parse_applicant(layout.get(row, Field::Applicant)).map_err(|e| at(Field::Applicant, e))?;
    let channel = parse_channel(layout.get(row, Field::Channel)).map_err(|e| at(Field::Channel, e))?;
    let status = parse_status(layout.get(row, Field::Status)).map_err(|e| at(Field::Status, e))?;
    let concluded = layout.get(row, Field::ConcludedOn);
    let outcome = layout.get(row, Field::Outcome);
    let ended = match (status, concluded.is_empty(), outcome.is_empty()) {
        (Some(Status::Open) | None, true, true) => None,
        (Some(Status::Open), _, _) => {
            return Err(at(Field::Status, "says 办理中 but the row has a conclusion date or outcome".into()));
        }
        (_, true, _) => return Err(at(Field::ConcludedOn, "is required for a concluded application".into())),
        (_, _, true) => return Err(at(Field::Outcome, "is required for a concluded application".into())),
        (_, false, false) => {
            let on = parse_date(concluded).map_err(|e| at(Field::ConcludedOn, e))?;
            if on < received_on {
                return Err(at(Field::ConcludedOn, format!("{} is before the receipt date {}", on, received_on)));
            }
            Some((on, parse_outcome(outcome).map_err(|e| at(Field::Outcome, e))?))
        }
    };
    let fee = layout.get(row, Field::FeeFen);
    let fee_fen = if fee.is_empty() {
        None
    } else {
        Some(fee.parse::<i64>().map_err(|_| at(Field::FeeFen, format!("{fee:?} is not a whole number of fen")))?)
    };
    if matches!(ended, Some((_, Ending::Concluded(Outcome::OtherFeeUnpaid)))) && fee_fen.is_none() {
        return Err(at(Field::FeeFen, "is required for outcome 6.2 (the fee that was not paid)".into()));
    }
    Ok(LedgerRow { number, received_on, applicant, channel, ended, fee_fen })
}

/// The events that tell a row's story, with ids derived from the agency,
/// the number and the step. Outcomes that need an earlier step get it,
/// dated on the receipt day (a ledger does not record those dates): 4.3 a
/// supplement requested and received, 6.1 a supplement requested, 6.2 a
/// fee notice.
pub fn events(agency: &AgencyId, row: &LedgerRow) -> Vec<proto::Event> {
    let event = |step: &str, on: CivilDate, payload: Payload| proto::Event {
        event_id: EventId::from_name(&format!("ledger-import/{agency}/{}/{step}", row.number)).to_string(),
        agency_id: agency.to_string(),
        subject_id: row.number.to_string(),
        occurred_on: Some(on.to_proto()),
        actor: "ledger import".into(),
        correlation_id: String::new(),
        payload: Some(payload),
    };
    let mut out = vec![event(
        "received",
        row.received_on,
        Payload::ApplicationReceived(proto::ApplicationReceived {
            applicant_category: row.applicant.to_proto().into(),
            channel: row.channel.to_proto().into(),
        }),
    )];
    let Some((on, ending)) = row.ended else { return out };
    match ending {
        Ending::Withdrawn => {
            out.push(event("withdrawn", on, Payload::ApplicationWithdrawn(proto::ApplicationWithdrawn {})))
        }
        Ending::Concluded(outcome) => {
            if matches!(outcome, Outcome::UnavailableUnclearAfterSupplement | Outcome::OtherNoSupplement) {
                let requested = Payload::SupplementRequested(proto::SupplementRequested {});
                out.push(event("supplement-requested", row.received_on, requested));
            }
            if outcome == Outcome::UnavailableUnclearAfterSupplement {
                let received = Payload::SupplementReceived(proto::SupplementReceived {});
                out.push(event("supplement-received", row.received_on, received));
            }
            if outcome == Outcome::OtherFeeUnpaid {
                let notice = Payload::FeeNoticeIssued(proto::FeeNoticeIssued { amount_fen: row.fee_fen.unwrap_or(0) });
                out.push(event("fee-notice", row.received_on, notice));
            }
            let concluded =
                Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: outcome.to_proto().into() });
            out.push(event("concluded", on, concluded));
        }
    }
    out
}
