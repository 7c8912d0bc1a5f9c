//! The closed vocabularies of the report: applicant categories (the six
//! columns), channels, the 21 outcomes (the leaves of section 三), and the
//! kinds and results of review cases (section 四). Each is converted from its
//! proto enum at the edge, where the `_UNSPECIFIED` zero value is refused.

use serde::{Deserialize, Serialize};

use crate::proto;

/// Declares a domain enum and its one-to-one mapping to a proto enum.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident <=> $proto:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// From the wire: the zero value and unknown numbers are refused.
            pub fn from_proto(value: i32) -> Result<Self, String> {
                match proto::$proto::try_from(value) {
                    $(Ok(proto::$proto::$wire) => Ok(Self::$variant),)+
                    Ok(proto::$proto::Unspecified) => {
                        Err(format!("is required ({} UNSPECIFIED is not a value)", stringify!($proto)))
                    }
                    Err(_) => Err(format!("{value} is not a known {}", stringify!($proto))),
                }
            }

            /// To the wire.
            pub fn to_proto(self) -> proto::$proto {
                match self { $(Self::$variant => proto::$proto::$wire),+ }
            }
        }
    };
}

wire_enum! {
    /// The applicant columns of section 三, in table order.
    ApplicantCategory <=> ApplicantCategory {
        NaturalPerson = NaturalPerson,
        CommercialEnterprise = CommercialEnterprise,
        ResearchInstitution = ResearchInstitution,
        SocialWelfareOrganization = SocialWelfareOrganization,
        LegalServiceProvider = LegalServiceProvider,
        OtherOrganization = OtherOrganization,
    }
}

impl ApplicantCategory {
    /// The column of section 三 (0-5; column 6 is 总计).
    pub fn column(self) -> usize {
        self as usize
    }
}

wire_enum! {
    /// How an application arrived; it decides which day is the receipt date.
    Channel <=> Channel {
        InPerson = InPerson,
        Post = Post,
        Online = Online,
        Fax = Fax,
        Other = Other,
    }
}

wire_enum! {
    /// The reporting outcome of a concluded application: one leaf of
    /// section 三 (2021 template numbering).
    Outcome <=> Outcome {
        Disclosed = Disclosed,
        PartlyDisclosed = PartlyDisclosed,
        WithheldStateSecret = WithheldStateSecret,
        WithheldProhibitedByLaw = WithheldProhibitedByLaw,
        WithheldSecurityAndStability = WithheldSecurityAndStability,
        WithheldThirdPartyRights = WithheldThirdPartyRights,
        WithheldInternalAffairs = WithheldInternalAffairs,
        WithheldProcessInformation = WithheldProcessInformation,
        WithheldEnforcementFile = WithheldEnforcementFile,
        WithheldAdministrativeQuery = WithheldAdministrativeQuery,
        UnavailableNotHeld = UnavailableNotHeld,
        UnavailableNeedsCreation = UnavailableNeedsCreation,
        UnavailableUnclearAfterSupplement = UnavailableUnclearAfterSupplement,
        NotProcessedPetition = NotProcessedPetition,
        NotProcessedRepeated = NotProcessedRepeated,
        NotProcessedPublication = NotProcessedPublication,
        NotProcessedExcessive = NotProcessedExcessive,
        NotProcessedConfirmation = NotProcessedConfirmation,
        OtherNoSupplement = OtherNoSupplement,
        OtherFeeUnpaid = OtherFeeUnpaid,
        Other = Other,
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

wire_enum! {
    /// Who is consulted while the answer clock is paused.
    ConsultationParty <=> ConsultationParty {
        ThirdParty = ThirdParty,
        OtherAgency = OtherAgency,
    }
}

wire_enum! {
    /// The three blocks of section 四.
    ReviewKind <=> ReviewKind {
        Reconsideration = Reconsideration,
        DirectSuit = DirectSuit,
        SuitAfterReconsideration = SuitAfterReconsideration,
    }
}

wire_enum! {
    /// How a review case ended (the result columns of section 四).
    ReviewResult <=> ReviewResult {
        Upheld = Upheld,
        Corrected = Corrected,
        Other = Other,
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
            assert_eq!(Outcome::from_proto(o.to_proto() as i32), Ok(*o));
        }
    }

    #[test]
    fn unspecified_and_unknown_values_are_refused() {
        assert!(Outcome::from_proto(0).is_err());
        assert!(Outcome::from_proto(22).is_err());
        assert!(ApplicantCategory::from_proto(0).is_err());
        assert_eq!(ApplicantCategory::from_proto(6), Ok(ApplicantCategory::OtherOrganization));
        assert_eq!(ApplicantCategory::OtherOrganization.column(), 5);
    }
}

wire_enum! {
    /// The documents of 第二十条第（一）项.
    DocumentKind <=> DocumentKind {
        Regulation = Regulation,
        NormativeDocument = NormativeDocument,
    }
}

wire_enum! {
    /// The catalogues of 第二十条第（五）（六）（八）项.
    CatalogueKind <=> CatalogueKind {
        Licensing = Licensing,
        OtherService = OtherService,
        Penalty = Penalty,
        Coercion = Coercion,
        Fee = Fee,
    }
}

wire_enum! {
    /// Whose decisions are counted (处理决定数量).
    DecisionKind <=> DecisionKind {
        Licensing = Licensing,
        OtherService = OtherService,
        Penalty = Penalty,
        Coercion = Coercion,
    }
}

wire_enum! {
    /// The parts of an annual report an agency writes itself.
    ReportSection <=> ReportSection {
        AgencyName = AgencyName,
        Preamble = Preamble,
        Overview = Overview,
        Problems = Problems,
        Other = Other,
    }
}

impl ReportSection {
    /// The official heading ("" for the name and the preamble).
    pub fn heading(self) -> &'static str {
        match self {
            Self::AgencyName | Self::Preamble => "",
            Self::Overview => "一、总体情况",
            Self::Problems => "五、存在的主要问题及改进情况",
            Self::Other => "六、其他需要报告的事项",
        }
    }
}
