//! `diagnose config`'s domain: pgtune's formulas over one memory budget for PostgreSQL and
//! Redis together, the host facts they need, the server's settings, the rollback file, and
//! the before/after comparison `check afternoon` makes from the run history.

pub mod budget;
pub mod effect;
pub mod host_facts;
pub mod pgtune;
pub mod plan;
pub mod rollback;
pub mod settings;
