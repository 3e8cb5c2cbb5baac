//! The convention's norms as data, and the assessment of incidents
//! against them.
//!
//! This crate owns the norm catalogue (`catalogue.toml`: Microsoft's 2017
//! proposal, the UN GGE 2015 norms, the Paris Call and the Cybersecurity
//! Tech Accord, each norm with its source, article and machine-readable
//! criteria), the vocabulary of incident facts those criteria read and how
//! a STIX bundle states them, and the verdicts: breach, likely breach, no
//! breach or cannot assess, with the facts each rests on, the missing facts
//! that would change it, and an intensity score. It does no I/O and knows
//! nothing of HTTP, SQL or the store; callers hand it objects and facts.
#![forbid(unsafe_code)]

pub mod assess;
pub mod catalogue;
pub mod criteria;
pub mod facts;

pub use assess::{Assessment, Intensity, NormAssessment, Verdict, assess, intensity, verdict};
pub use catalogue::{Binds, Catalogue, CatalogueError, Norm};
pub use criteria::{CriterionError, Expr, Truth};
pub use facts::{FactKind, FactValue, Facts, FactsError, GENEVA_FACTS_EXTENSION};
