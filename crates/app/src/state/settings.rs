//! The settings part: what is remembered between runs, in `settings.json` in the config
//! directory: the last folder opened, the thumbnail size, whether weaker matches and rotated
//! copies are shown, and the query history. The other parts read it (the search asks its
//! queries with it and saves its history in it); each change here returns the command that
//! saves it, so the file always holds what the window shows.

use super::protocol::Command;
use photo_sim_engine::library::Prefer;
use photo_sim_engine::KeeperRule;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The smallest and largest thumbnail side that Larger and Smaller reach, in points.
pub const MIN_TILE: f32 = 64.0;
pub const MAX_TILE: f32 = 512.0;

/// What is remembered between runs (`settings.json` in the config directory).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub last_folder: Option<PathBuf>,
    /// Find copies of the query turned by 90°, 180° or 270° too.
    #[serde(default = "yes")]
    pub rotations: bool,
    /// Show the matches under the "similar" cut (dimmed), or hide them.
    #[serde(default = "yes")]
    pub show_weak: bool,
    /// The thumbnail side chosen with Larger and Smaller, in points (the grid has as many
    /// columns as fit, and fills its width). `None` until then: the ten matches fill the
    /// window, 5×2.
    #[serde(default)]
    pub tile: Option<f32>,
    /// Reference folders: their photos are always the keepers, never moved.
    #[serde(default)]
    pub reference: Vec<PathBuf>,
    /// What chooses a group's keeper after the reference folders.
    #[serde(default)]
    pub keep: Prefer,
    /// Keep a camera original (RAW, HEIC) before its conversions.
    #[serde(default)]
    pub originals_first: bool,
    /// The last queries, oldest first, and which one was shown.
    #[serde(default)]
    pub history: Vec<SavedStep>,
    #[serde(default)]
    pub pos: usize,
}

/// A query as it is remembered across restarts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedStep {
    pub path: PathBuf,
    #[serde(default)]
    pub more: Vec<PathBuf>,
    #[serde(default)]
    pub less: Vec<PathBuf>,
}

fn yes() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            last_folder: None,
            rotations: true,
            show_weak: true,
            tile: None,
            reference: Vec::new(),
            keep: Prefer::default(),
            originals_first: false,
            history: Vec::new(),
            pos: 0,
        }
    }
}

impl Settings {
    pub fn file(config_dir: &Path) -> PathBuf {
        config_dir.join("settings.json")
    }

    /// The saved settings, or the defaults when there are none (or they are unreadable).
    pub fn load(config_dir: &Path) -> Self {
        std::fs::read(Self::file(config_dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, config_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        photo_sim_engine::index::write_atomic(&Self::file(config_dir), |w| {
            std::io::Write::write_all(w, &json)
        })?;
        Ok(())
    }

    /// These settings with a thumbnail size that Larger and Smaller allow (a hand-edited file
    /// may say anything).
    pub fn clamped(mut self) -> Self {
        self.tile = self
            .tile
            .filter(|t| t.is_finite())
            .map(|t| t.clamp(MIN_TILE, MAX_TILE));
        self
    }

    /// Remembers `root` as the folder to open on the next start; saved only when it changed.
    pub fn remember_folder(&mut self, root: PathBuf) -> Option<Command> {
        if self.last_folder.as_deref() == Some(root.as_path()) {
            return None;
        }
        self.last_folder = Some(root);
        Some(Command::SaveSettings(self.clone()))
    }

    /// Adds or removes a reference folder; `None` when nothing changed.
    pub fn set_reference(&mut self, folder: PathBuf, on: bool) -> Option<Command> {
        if self.reference.contains(&folder) == on {
            return None;
        }
        if on {
            self.reference.push(folder);
        } else {
            self.reference.retain(|f| *f != folder);
        }
        Some(Command::SaveSettings(self.clone()))
    }

    /// The keeper rule these settings describe.
    pub fn keeper_rule(&self) -> KeeperRule {
        KeeperRule {
            reference: self.reference.clone(),
            originals_first: self.originals_first,
            prefer: self.keep,
        }
    }

    /// Chooses keepers by `keep` (camera originals first if `originals_first`); `None` when
    /// nothing changed.
    pub fn set_keeper(&mut self, keep: Prefer, originals_first: bool) -> Option<Command> {
        if (self.keep, self.originals_first) == (keep, originals_first) {
            return None;
        }
        (self.keep, self.originals_first) = (keep, originals_first);
        Some(Command::SaveSettings(self.clone()))
    }

    /// Turns "Also find rotated copies" on or off; `None` when it already was.
    pub fn set_rotations(&mut self, on: bool) -> Option<Command> {
        if self.rotations == on {
            return None;
        }
        self.rotations = on;
        Some(Command::SaveSettings(self.clone()))
    }

    /// Shows or hides the weaker matches.
    pub fn set_show_weak(&mut self, on: bool) -> Command {
        self.show_weak = on;
        Command::SaveSettings(self.clone())
    }

    /// Thumbnails one column larger or smaller than those shown (`side` points, `columns` a
    /// row), within [`MIN_TILE`] and [`MAX_TILE`]: a step always changes the columns, so the
    /// grid, which fills its width, visibly changes.
    pub fn zoom(&mut self, larger: bool, side: f32, columns: usize) -> Vec<Command> {
        let c = columns.max(1) as f32;
        let side = match larger {
            true if columns <= 1 => return Vec::new(),
            true => side * c / (c - 1.0),
            false => side * c / (c + 1.0),
        };
        let side = side.round().clamp(MIN_TILE, MAX_TILE);
        if self.tile == Some(side) || !side.is_finite() {
            return Vec::new();
        }
        self.tile = Some(side);
        vec![Command::SaveSettings(self.clone())]
    }
}

#[cfg(test)]
mod tests {
    use crate::paths::path_from_text;
    use crate::state::testing::*;
    use crate::state::*;
    use std::path::PathBuf;

    #[test]
    fn turning_rotations_off_searches_again_and_is_remembered() {
        let mut s = showing_a();
        let commands = s.apply(Action::SetRotations(false));
        assert_eq!(commands.len(), 2, "{commands:?}");
        assert!(matches!(&commands[0], Command::SaveSettings(st) if !st.rotations));
        assert!(matches!(
            &commands[1],
            Command::Query { request, .. } if !request.options.rotations
        ));
        assert_eq!(s.apply(Action::SetRotations(false)), vec![]);
    }

    #[test]
    fn settings_round_trip_and_pasted_paths() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        let s = Settings {
            last_folder: Some(PathBuf::from("/photos")),
            rotations: false,
            ..Settings::default()
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);

        let file = dir.path().join("my photo.jpg");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(
            path_from_text(&format!("  {}\n", file.display())),
            Some(file.clone())
        );
        let uri = format!("file://{}", file.display()).replace(' ', "%20");
        assert_eq!(path_from_text(&uri), Some(file));
        assert_eq!(path_from_text("no such thing"), None);
    }
}
