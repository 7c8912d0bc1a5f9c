//! The report templates: which numbered rows section 三 has in each version,
//! their official labels, and the layout of section 四.

use std::fmt;

use crate::domain::codes::Outcome;

/// A template version of the annual report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Template {
    /// 国办公开办函〔2019〕60号, for report years 2019 and 2020: 23 rows,
    /// with （六）其他处理 as one row.
    V2019,
    /// 国办公开办函〔2021〕30号, from report year 2021: 25 rows.
    V2021,
}

impl Template {
    /// The version in force for a report year.
    pub fn for_year(year: i32) -> Self {
        if year <= 2020 { Self::V2019 } else { Self::V2021 }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::V2019 => "2019",
            Self::V2021 => "2021",
        }
    }

    /// The numbered rows of section 三, in order.
    pub fn rows(self) -> Vec<RowSpec> {
        let mut rows = vec![RowSpec::NEW, RowSpec::CARRIED_IN];
        for leaf in Outcome::ALL {
            let folded = matches!(leaf, Outcome::OtherNoSupplement | Outcome::OtherFeeUnpaid | Outcome::Other);
            if self == Self::V2019 && folded {
                continue;
            }
            rows.push(RowSpec::leaf(*leaf));
        }
        if self == Self::V2019 {
            rows.push(RowSpec { row: Row::OtherHandling, group: None, label: "（六）其他处理" });
        }
        rows.push(RowSpec::TOTAL);
        rows.push(RowSpec::CARRIED_OUT);
        rows
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A numbered row of section 三.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Row {
    /// 一、本年新收
    New,
    /// 二、上年结转
    CarriedIn,
    /// One outcome leaf.
    Outcome(Outcome),
    /// 2019 template: （六）其他处理 = 6.1 + 6.2 + 6.3.
    OtherHandling,
    /// （七）总计
    Total,
    /// 四、结转下年度继续办理
    CarriedOut,
}

impl Row {
    /// Our code for the row: `new`, `carried_in`, a leaf code such as `3.1`,
    /// `6` (2019's folded row), `total`, `carried_out`.
    pub fn code(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::CarriedIn => "carried_in",
            Self::Outcome(o) => o.code(),
            Self::OtherHandling => "6",
            Self::Total => "total",
            Self::CarriedOut => "carried_out",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "new" => Self::New,
            "carried_in" => Self::CarriedIn,
            "6" => Self::OtherHandling,
            "total" => Self::Total,
            "carried_out" => Self::CarriedOut,
            leaf => Self::Outcome(Outcome::from_code(leaf)?),
        })
    }

    /// Whether an application concluded with `outcome` counts in this row.
    pub fn holds(self, outcome: Outcome) -> bool {
        match self {
            Self::Outcome(o) => o == outcome,
            Self::OtherHandling => {
                matches!(outcome, Outcome::OtherNoSupplement | Outcome::OtherFeeUnpaid | Outcome::Other)
            }
            Self::Total => true,
            _ => false,
        }
    }
}

/// A row with its official label and the merged label cell it sits under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowSpec {
    pub row: Row,
    /// The merged group label: （三）不予公开, （四）无法提供, （五）不予处理,
    /// （六）其他处理 (2021); `None` for rows that stand alone.
    pub group: Option<&'static str>,
    pub label: &'static str,
}

/// 三、本年度办理结果: the block label of every outcome row.
pub const RESULTS_BLOCK: &str = "三、本年度办理结果";

/// The header cell spanning the label columns.
pub const BALANCE_NOTE: &str = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）";

/// The applicant columns, and the header above the five organisation kinds.
pub const COLUMNS: [&str; 7] = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"];
pub const APPLICANT_HEADER: &str = "申请人情况";
pub const ORGANISATIONS_HEADER: &str = "法人或其他组织";

impl RowSpec {
    const NEW: Self = Self { row: Row::New, group: None, label: "一、本年新收政府信息公开申请数量" };
    const CARRIED_IN: Self =
        Self { row: Row::CarriedIn, group: None, label: "二、上年结转政府信息公开申请数量" };
    const TOTAL: Self = Self { row: Row::Total, group: None, label: "（七）总计" };
    const CARRIED_OUT: Self = Self { row: Row::CarriedOut, group: None, label: "四、结转下年度继续办理" };

    pub fn leaf(o: Outcome) -> Self {
        use Outcome::*;
        let (group, label) = match o {
            Disclosed => (None, "（一）予以公开"),
            PartlyDisclosed => (None, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
            WithheldStateSecret => (Some("（三）不予公开"), "1.属于国家秘密"),
            WithheldProhibitedByLaw => (Some("（三）不予公开"), "2.其他法律行政法规禁止公开"),
            WithheldSecurityAndStability => (Some("（三）不予公开"), "3.危及“三安全一稳定”"),
            WithheldThirdPartyRights => (Some("（三）不予公开"), "4.保护第三方合法权益"),
            WithheldInternalAffairs => (Some("（三）不予公开"), "5.属于三类内部事务信息"),
            WithheldProcessInformation => (Some("（三）不予公开"), "6.属于四类过程性信息"),
            WithheldEnforcementFile => (Some("（三）不予公开"), "7.属于行政执法案卷"),
            WithheldAdministrativeQuery => (Some("（三）不予公开"), "8.属于行政查询事项"),
            UnavailableNotHeld => (Some("（四）无法提供"), "1.本机关不掌握相关政府信息"),
            UnavailableNeedsCreation => (Some("（四）无法提供"), "2.没有现成信息需要另行制作"),
            UnavailableUnclearAfterSupplement => (Some("（四）无法提供"), "3.补正后申请内容仍不明确"),
            NotProcessedPetition => (Some("（五）不予处理"), "1.信访举报投诉类申请"),
            NotProcessedRepeated => (Some("（五）不予处理"), "2.重复申请"),
            NotProcessedPublication => (Some("（五）不予处理"), "3.要求提供公开出版物"),
            NotProcessedExcessive => (Some("（五）不予处理"), "4.无正当理由大量反复申请"),
            NotProcessedConfirmation => (Some("（五）不予处理"), "5.要求行政机关确认或重新出具已获取信息"),
            OtherNoSupplement => {
                (Some("（六）其他处理"), "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请")
            }
            OtherFeeUnpaid => {
                (Some("（六）其他处理"), "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请")
            }
            Other => (Some("（六）其他处理"), "3.其他"),
        };
        Self { row: Row::Outcome(o), group, label }
    }

    /// Whether the row sits in the block 三、本年度办理结果.
    pub fn in_results_block(&self) -> bool {
        matches!(self.row, Row::Outcome(_) | Row::OtherHandling | Row::Total)
    }
}

/// The headings of the sections that hold tables.
pub const HEADING_TWO: &str = "二、主动公开政府信息情况";
pub const HEADING_THREE: &str = "三、收到和处理政府信息公开申请情况";
pub const HEADING_FOUR: &str = "四、政府信息公开行政复议、行政诉讼情况";

/// Section 四's three blocks and five columns.
pub const REVIEW_BLOCKS: [&str; 3] = ["行政复议", "未经复议直接起诉", "复议后起诉"];
pub const REVIEW_COLUMNS: [&str; 5] = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"];

/// The columns of section 四, in table order (as [`REVIEW_COLUMNS`] names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewColumn {
    Upheld,
    Corrected,
    Other,
    Pending,
    Total,
}

impl ReviewColumn {
    pub const ALL: [ReviewColumn; 5] = [Self::Upheld, Self::Corrected, Self::Other, Self::Pending, Self::Total];
}
pub const LITIGATION_HEADER: &str = "行政诉讼";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_match_the_templates() {
        assert_eq!(Template::V2019.rows().len(), 23);
        assert_eq!(Template::V2021.rows().len(), 25);
        assert_eq!(Template::for_year(2020), Template::V2019);
        assert_eq!(Template::for_year(2021), Template::V2021);
    }

    #[test]
    fn row_codes_round_trip() {
        for t in [Template::V2019, Template::V2021] {
            for spec in t.rows() {
                assert_eq!(Row::from_code(spec.row.code()), Some(spec.row));
            }
        }
    }
}
