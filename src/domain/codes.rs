//! The closed vocabularies of the report: applicant categories (the six
//! columns), channels, the 21 outcomes (the leaves of section 三), and the
//! kinds and results of review cases (section 四). The API's enums are
//! converted to these at the edge (the wire chapter), where the
//! `_UNSPECIFIED` zero value is refused.

use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary: an enum whose values are listed, in the
/// order of the API's enum (the wire chapter's mapping relies on that
/// order, and a test there checks it by name).
macro_rules! closed_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

closed_enum! {
    /// The applicant columns of section 三, in table order.
    ApplicantCategory {
        NaturalPerson,
        CommercialEnterprise,
        ResearchInstitution,
        SocialWelfareOrganization,
        LegalServiceProvider,
        OtherOrganization,
    }
}

impl ApplicantCategory {
    /// The column of section 三 (0-5; column 6 is 总计).
    pub fn column(self) -> usize {
        self as usize
    }
}

closed_enum! {
    /// How an application arrived; it decides which day is the receipt date.
    Channel {
        InPerson,
        Post,
        Online,
        Fax,
        Other,
    }
}

closed_enum! {
    /// The reporting outcome of a concluded application: one leaf of
    /// section 三 (2021 template numbering).
    Outcome {
        Disclosed,
        PartlyDisclosed,
        WithheldStateSecret,
        WithheldProhibitedByLaw,
        WithheldSecurityAndStability,
        WithheldThirdPartyRights,
        WithheldInternalAffairs,
        WithheldProcessInformation,
        WithheldEnforcementFile,
        WithheldAdministrativeQuery,
        UnavailableNotHeld,
        UnavailableNeedsCreation,
        UnavailableUnclearAfterSupplement,
        NotProcessedPetition,
        NotProcessedRepeated,
        NotProcessedPublication,
        NotProcessedExcessive,
        NotProcessedConfirmation,
        OtherNoSupplement,
        OtherFeeUnpaid,
        Other,
    }
}

impl Outcome {
    /// The leaf code used by the report API and the spec ("3.1", "6.3").
    pub fn code(self) -> &'static str {
        use Outcome::*;
        match self {
            Disclosed => "1",
            PartlyDisclosed => "2",
            WithheldStateSecret => "3.1",
            WithheldProhibitedByLaw => "3.2",
            WithheldSecurityAndStability => "3.3",
            WithheldThirdPartyRights => "3.4",
            WithheldInternalAffairs => "3.5",
            WithheldProcessInformation => "3.6",
            WithheldEnforcementFile => "3.7",
            WithheldAdministrativeQuery => "3.8",
            UnavailableNotHeld => "4.1",
            UnavailableNeedsCreation => "4.2",
            UnavailableUnclearAfterSupplement => "4.3",
            NotProcessedPetition => "5.1",
            NotProcessedRepeated => "5.2",
            NotProcessedPublication => "5.3",
            NotProcessedExcessive => "5.4",
            NotProcessedConfirmation => "5.5",
            OtherNoSupplement => "6.1",
            OtherFeeUnpaid => "6.2",
            Other => "6.3",
        }
    }

    /// Index of the leaf, 0-20, in table order.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The outcome with a leaf code, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|o| o.code() == code)
    }
}

closed_enum! {
    /// Who is consulted while the answer clock is paused.
    ConsultationParty {
        ThirdParty,
        OtherAgency,
    }
}

closed_enum! {
    /// The three blocks of section 四.
    ReviewKind {
        Reconsideration,
        DirectSuit,
        SuitAfterReconsideration,
    }
}

closed_enum! {
    /// How a review case ended (the result columns of section 四).
    ReviewResult {
        Upheld,
        Corrected,
        Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_21_outcomes_with_distinct_codes() {
        assert_eq!(Outcome::ALL.len(), 21);
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
            assert_eq!(Outcome::from_code(o.code()), Some(*o));
        }
    }

    #[test]
    fn applicant_columns_follow_table_order() {
        assert_eq!(ApplicantCategory::NaturalPerson.column(), 0);
        assert_eq!(ApplicantCategory::OtherOrganization.column(), 5);
    }
}

closed_enum! {
    /// The documents of 第二十条第（一）项.
    DocumentKind {
        Regulation,
        NormativeDocument,
    }
}

closed_enum! {
    /// The catalogues of 第二十条第（五）（六）（八）项.
    CatalogueKind {
        Licensing,
        OtherService,
        Penalty,
        Coercion,
        Fee,
    }
}

closed_enum! {
    /// Whose decisions are counted (处理决定数量).
    DecisionKind {
        Licensing,
        OtherService,
        Penalty,
        Coercion,
    }
}

closed_enum! {
    /// The parts of an annual report an agency writes itself.
    ReportSection {
        AgencyName,
        Preamble,
        Overview,
        Problems,
        Other,
        /// 落款: the agency's name and the report's date, at its end.
        SignOff,
    }
}

impl ReportSection {
    /// The official heading ("" for the name and the preamble).
    pub fn heading(self) -> &'static str {
        match self {
            Self::AgencyName | Self::Preamble | Self::SignOff => "",
            Self::Overview => "一、总体情况",
            Self::Problems => "五、存在的主要问题及改进情况",
            Self::Other => "六、其他需要报告的事项",
        }
    }

    /// What the section is, as a warning names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::AgencyName => "机关名称（标题）",
            Self::Preamble => "开头段落",
            Self::Overview => "一、总体情况",
            Self::Problems => "五、存在的主要问题及改进情况",
            Self::Other => "六、其他需要报告的事项",
            Self::SignOff => "落款（机关名称和日期）",
        }
    }

    /// The sections a finished report cannot do without: the opening
    /// paragraph is the only one the template leaves to the agency.
    pub const REQUIRED: [ReportSection; 5] =
        [Self::AgencyName, Self::Overview, Self::Problems, Self::Other, Self::SignOff];
}
