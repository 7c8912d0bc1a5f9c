//! The closed vocabularies on the wire: each domain enum of
//! [`crate::domain::codes`] against the API's enum of the same name. The
//! domain lists its values in the API's order, so a value's wire number is
//! its place in that list plus one; the zero value, `_UNSPECIFIED`, is
//! refused, and a test checks every pair by name.

use crate::domain::codes::{
    ApplicantCategory, CatalogueKind, Channel, ConsultationParty, DecisionKind, DocumentKind, Outcome, ReportSection,
    ReviewKind, ReviewResult,
};
use crate::wire::proto;

macro_rules! on_the_wire {
    ($($name:ident),+ $(,)?) => {
        $(impl $name {
            /// From the wire: the zero value and unknown numbers are refused.
            pub fn from_proto(value: i32) -> Result<Self, String> {
                match proto::$name::try_from(value) {
                    Ok(proto::$name::Unspecified) => {
                        Err(format!("is required ({} UNSPECIFIED is not a value)", stringify!($name)))
                    }
                    Ok(wire) => Ok(Self::ALL[wire as usize - 1]),
                    Err(_) => Err(format!("{value} is not a known {}", stringify!($name))),
                }
            }

            /// To the wire.
            pub fn to_proto(self) -> proto::$name {
                proto::$name::try_from(self as i32 + 1).expect("the domain lists the wire's values in order")
            }
        })+

        /// Every value of every vocabulary against the wire value of its
        /// name, and back; the zero value and the one past the last refused.
        #[cfg(test)]
        fn check_every_mapping(same_name: impl Fn(&str, &str) -> bool) {
            $(
                for v in $name::ALL {
                    let wire = v.to_proto();
                    assert!(same_name(&format!("{v:?}"), wire.as_str_name()), "{v:?} maps to {}", wire.as_str_name());
                    assert_eq!($name::from_proto(wire as i32), Ok(*v));
                }
                assert!($name::from_proto(0).is_err());
                assert!($name::from_proto($name::ALL.len() as i32 + 1).is_err());
            )+
        }
    };
}

on_the_wire!(
    ApplicantCategory,
    Channel,
    Outcome,
    ConsultationParty,
    ReviewKind,
    ReviewResult,
    DocumentKind,
    CatalogueKind,
    DecisionKind,
    ReportSection,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// `NaturalPerson` against `APPLICANT_CATEGORY_NATURAL_PERSON`.
    fn same_name(domain: &str, wire: &str) -> bool {
        let mut snake = String::new();
        for (i, c) in domain.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_uppercase());
        }
        wire.ends_with(&format!("_{snake}"))
    }

    #[test]
    fn every_value_maps_to_the_wire_value_of_its_name_and_back() {
        check_every_mapping(same_name);
    }

    #[test]
    fn unspecified_and_unknown_values_are_refused() {
        assert!(Outcome::from_proto(0).is_err());
        assert!(Outcome::from_proto(22).is_err());
        assert!(ApplicantCategory::from_proto(0).is_err());
        assert_eq!(ApplicantCategory::from_proto(6), Ok(ApplicantCategory::OtherOrganization));
    }
}
