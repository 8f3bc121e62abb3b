//! A whole HA stack at once: every PostgreSQL and Redis node of the inventory (`targets:`),
//! and what the engines say (Patroni's `/cluster`, each Sentinel, HAProxy's backends), asked
//! concurrently, each node within its own timeout; then one verdict on who is primary
//! (`verdict`), and the findings and tables `cluster status` shows (`findings`). The later
//! commands that act through the engines (switchover, Sentinel failover) wait on the same
//! observation until the verdict agrees on the new primary.
//!
//! Rooms: `observe` (asking every node and engine), `verdict` (pure: who is primary and what
//! disagrees), `findings` (the report's findings and the node table), `addr` (comparing the
//! addresses the sources use), `facts` (the HA facts a fanned-out `check morning|night` and
//! `monitor` add: pause, pending restart, timeline since the previous run, Sentinels and
//! quorum, the verdict), `probe` (`cluster status --probe-writes`: a heartbeat written on the
//! primary and the master, read back on every replica), `managed` (whether Patroni manages a
//! server, before acting on it by hand), `settle` (after an engine moved the primary: waiting
//! until every source agrees).

pub mod addr;
pub mod discover;
pub mod facts;
pub mod findings;
pub mod managed;
pub mod observe;
pub mod probe;
pub mod settle;
pub mod verdict;

pub use observe::{observe, observe_with, Budget, Observation, Sessions};
pub use verdict::{verdict, Verdict};
