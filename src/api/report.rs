//! A report as the API answers it: the derived tables in the wire form,
//! rows relabelled for a period other than a year (本期, 上期, 下期), with
//! the log's digest at their position. Shared by GetReport and its
//! siblings, the annual report and the roll-ups.

use crate::domain::codes::ReviewKind;
use crate::report::proactive_table::Value as ProactiveValue;
use crate::report::tables::{Report, ReviewDating};
use crate::report::template::{RESULTS_BLOCK, REVIEW_BLOCKS, Template};
use crate::store::chain::Digest;
use crate::wire::proto;

/// A row label for a period other than a year: 本期 for 本年, 上期 for
/// 上年, 下期 for 下年度.
fn period_label(label: &'static str, whole_year: bool) -> String {
    if whole_year {
        return label.into();
    }
    label.replace("本年度", "本期").replace("本年", "本期").replace("上年", "上期").replace("下年度", "下期")
}

pub fn report_to_proto(r: &Report, log_digest: Digest) -> proto::Report {
    let kinds = ReviewKind::ALL;
    let whole_year = r.period.whole_year().is_some();
    proto::Report {
        agency_ids: r.agencies.iter().map(ToString::to_string).collect(),
        year: r.year,
        template: match r.applications.template {
            Template::V2019 => proto::Template::Template2019,
            Template::V2021 => proto::Template::Template2021,
        } as i32,
        review_dating: match r.dating {
            ReviewDating::FiledInYear => proto::ReviewDating::FiledInYear,
            ReviewDating::DecidedInYear => proto::ReviewDating::DecidedInYear,
        } as i32,
        log_position: r.position,
        log_digest: log_digest.hex(),
        period: r.period.label(),
        unrecorded_agency_ids: Vec::new(),
        period_days: Some(proto::ReportPeriod {
            first_day: Some(r.period.first.to_proto()),
            last_day: Some(r.period.last.to_proto()),
        }),
        application_rows: r
            .applications
            .rows
            .iter()
            .map(|row| proto::ApplicationRow {
                code: row.spec.row.code().into(),
                label: period_label(row.spec.label, whole_year),
                group_label: row.spec.group.unwrap_or_default().into(),
                block_label: if row.spec.in_results_block() {
                    period_label(RESULTS_BLOCK, whole_year)
                } else {
                    String::new()
                },
                values: row.values.to_vec(),
            })
            .collect(),
        review_blocks: r
            .reviews
            .blocks
            .iter()
            .zip(kinds)
            .zip(REVIEW_BLOCKS)
            .map(|((b, kind), label)| proto::ReviewBlock {
                kind: kind.to_proto() as i32,
                label: label.into(),
                upheld: b[0],
                corrected: b[1],
                other: b[2],
                pending: b[3],
                total: b[4],
            })
            .collect(),
        checks: r
            .checks
            .iter()
            .map(|c| proto::Check { name: c.name.into(), passed: c.passed, detail: c.detail.clone() })
            .collect(),
        checks_passed: r.passed(),
        proactive_blocks: r
            .proactive
            .iter()
            .map(|b| proto::ProactiveBlock {
                title: b.title.into(),
                columns: b.columns.iter().map(|c| c.to_string()).collect(),
                money: b
                    .rows
                    .first()
                    .map(|(_, v)| v.iter().map(|v| matches!(v, ProactiveValue::Fen(_))).collect())
                    .unwrap_or_default(),
                rows: b
                    .rows
                    .iter()
                    .map(|(label, values)| proto::ProactiveRow {
                        label: label.to_string(),
                        values: values
                            .iter()
                            .map(|v| match v {
                                ProactiveValue::Count(n) | ProactiveValue::Fen(n) => *n,
                            })
                            .collect(),
                    })
                    .collect(),
                new_table: b.new_table,
            })
            .collect(),
    }
}
