//! The desktop browser (being built).

use crate::Store;
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(
    _store: Store,
    _model: Option<PathBuf>,
    _folder: Option<PathBuf>,
    _query: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "the desktop browser is not built yet; use `photo-sim index` and `photo-sim search`"
    )
}
