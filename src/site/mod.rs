//! `tunix-rt report site`: the static site of the runs the leaderboard
//! lists, written into a folder of its own. `read` gathers the input from
//! the index and the run and sweep folders, `crate::report::site` renders
//! the pages (pure), `publish` writes them as a whole.

mod publish;
mod read;

pub use publish::{check_target, publish, MARKER};
pub use read::{read_site, SiteSource};
