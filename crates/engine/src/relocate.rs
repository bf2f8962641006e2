//! Moving photos out of the way: to the desktop's trash or into another folder, never deleting
//! anything, and putting them back (Undo). Each file is checked first against what was indexed
//! (its size and modification time): a file changed or gone since is not touched. Every file
//! gets its own outcome, so a failure in the middle says exactly which files moved and which
//! did not.

use crate::index::scan::Fingerprint;
use crate::Photo;
use std::io;
use std::path::{Path, PathBuf};

/// Where the photos go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The desktop's own trash (freedesktop.org on Linux), from which they can be restored.
    Trash,
    /// Into this folder, under their own name (or `name (2).jpg` when it is taken).
    Folder(PathBuf),
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Moved to the desktop's trash.
    Trashed,
    /// Moved into the destination folder, under this path (its name may have a number added).
    Moved(PathBuf),
    /// Not touched: it changed since it was indexed (it may no longer be the duplicate).
    Changed,
    /// Not touched: it is gone.
    Missing,
    /// Not touched: the move failed (why).
    Failed(String),
    /// Put back where it was indexed, by [`put_back`].
    PutBack,
}

impl Outcome {
    /// True when the file left its place.
    pub fn moved(&self) -> bool {
        matches!(self, Outcome::Trashed | Outcome::Moved(_))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Trashed => write!(f, "moved to the trash"),
            Outcome::Moved(to) => write!(f, "moved to {}", to.display()),
            Outcome::Changed => write!(f, "not touched: it changed since it was indexed"),
            Outcome::Missing => write!(f, "not touched: it is gone"),
            Outcome::Failed(e) => write!(f, "not touched: {e}"),
            Outcome::PutBack => write!(f, "put back"),
        }
    }
}

/// One file's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The photo's path as it was indexed.
    pub path: PathBuf,
    /// What happened to it.
    pub outcome: Outcome,
}

/// Moves each photo to `to`, in order, after checking it is still the file that was indexed.
/// Never stops at a failure: every photo gets its outcome.
pub fn move_photos(photos: &[Photo], to: &Destination) -> Vec<Report> {
    photos
        .iter()
        .map(|p| Report {
            path: p.path.clone(),
            outcome: move_one(p, to),
        })
        .collect()
}

/// [`move_photos`], into a destination folder created first (with its parents) if `create`;
/// when it cannot be, every photo is left where it is, with that reason.
pub fn move_photos_creating(photos: &[Photo], to: &Destination, create: bool) -> Vec<Report> {
    if let (true, Destination::Folder(dir)) = (create, to) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            let why = format!("the folder {} could not be created: {e}", dir.display());
            return photos
                .iter()
                .map(|p| Report {
                    path: p.path.clone(),
                    outcome: Outcome::Failed(why.clone()),
                })
                .collect();
        }
    }
    move_photos(photos, to)
}

/// Puts back the photos that a move took away (the reports of [`move_photos`]): a trashed one
/// is restored from the trash, a moved one moved back from where it went. Nothing is ever
/// replaced: a photo whose place holds a file again is left where it is, with that reason.
/// Reports of photos that did not move are skipped.
pub fn put_back(reports: &[Report]) -> Vec<Report> {
    let trashed: Vec<&Path> = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Trashed)
        .map(|r| r.path.as_path())
        .collect();
    let mut in_trash = trashed_items(&trashed);
    reports
        .iter()
        .filter(|r| r.outcome.moved())
        .map(|r| {
            let result = match &r.outcome {
                Outcome::Moved(to) => move_back(to, &r.path),
                _ => restore(in_trash.remove(&r.path)),
            };
            Report {
                path: r.path.clone(),
                outcome: result.map_or_else(Outcome::Failed, |()| Outcome::PutBack),
            }
        })
        .collect()
}

/// The latest item in the trash that was at each of `paths` (an older one of the same name
/// was put there before the move). Empty when the trash cannot be listed.
fn trashed_items(paths: &[&Path]) -> std::collections::HashMap<PathBuf, trash::TrashItem> {
    let mut items = std::collections::HashMap::new();
    if paths.is_empty() {
        return items;
    }
    let wanted: std::collections::HashSet<&Path> = paths.iter().copied().collect();
    for item in trash::os_limited::list().unwrap_or_default() {
        let original = item.original_path();
        if !wanted.contains(original.as_path()) {
            continue;
        }
        let newer = items
            .get(&original)
            .is_none_or(|old: &trash::TrashItem| old.time_deleted < item.time_deleted);
        if newer {
            items.insert(original, item);
        }
    }
    items
}

fn restore(item: Option<trash::TrashItem>) -> Result<(), String> {
    let item = item.ok_or("it is no longer in the trash")?;
    match trash::os_limited::restore_all([item]) {
        Ok(()) => Ok(()),
        Err(trash::Error::RestoreCollision { .. }) => {
            Err("another file has its name now; it is still in the trash".into())
        }
        Err(e) => Err(format!("the trash did not give it back: {e}")),
    }
}

/// Moves `from` back to `to`, only if no file took that name meanwhile.
fn move_back(from: &Path, to: &Path) -> Result<(), String> {
    let (Some(dir), Some(name)) = (to.parent(), to.file_name()) else {
        return Err("the path has no file name".into());
    };
    if !from.is_file() {
        return Err(format!("{} is gone", from.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    match relink(from, dir, name, 1) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(format!(
            "another file has its name now; it is still at {}",
            from.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn move_one(photo: &Photo, to: &Destination) -> Outcome {
    let meta = match std::fs::metadata(&photo.path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Outcome::Missing,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let now = Fingerprint::of(&meta);
    if !meta.is_file() || now.size != photo.bytes || now.mtime_ns != photo.modified_ns {
        return Outcome::Changed;
    }
    match to {
        Destination::Trash => match trash::delete(&photo.path) {
            Ok(()) => Outcome::Trashed,
            Err(e) => Outcome::Failed(format!("the trash refused it: {e}")),
        },
        Destination::Folder(dir) => match move_into(&photo.path, dir) {
            Ok(to) => Outcome::Moved(to),
            Err(e) => Outcome::Failed(e.to_string()),
        },
    }
}

/// A name in `dir` for `file_name` that is not taken yet: the name itself, else `stem (2).ext`…
fn free_name(dir: &Path, file_name: &std::ffi::OsStr, attempt: u32) -> PathBuf {
    if attempt == 1 {
        return dir.join(file_name);
    }
    let name = Path::new(file_name);
    let mut new = name.file_stem().unwrap_or(file_name).to_os_string();
    new.push(format!(" ({attempt})"));
    if let Some(ext) = name.extension() {
        new.push(".");
        new.push(ext);
    }
    dir.join(new)
}

/// Claims the first free name for `name` in `dir` among the first `tries` (the name itself,
/// then `stem (2).ext`…): `claim` creates the file or link and fails with `AlreadyExists`
/// when the name is taken, which is the error when all `tries` are.
fn first_free<T>(
    dir: &Path,
    name: &std::ffi::OsStr,
    tries: u32,
    mut claim: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    for attempt in 1..=tries {
        let target = free_name(dir, name, attempt);
        match claim(&target) {
            Ok(v) => return Ok((target, v)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name in the destination folder",
    ))
}

/// Moves `file` into `dir` without ever replacing a file there: a hard link (which fails if
/// the name is taken) then removing the original; across drives, a copy to a new file with the
/// original's dates and permissions, synced, then removing the original.
fn move_into(file: &Path, dir: &Path) -> io::Result<PathBuf> {
    if !dir.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a folder",
            dir.display()
        )));
    }
    let name = file
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    relink(file, dir, name, NAME_TRIES)
}

/// Names tried in a destination folder before a move gives up.
const NAME_TRIES: u32 = 999;

/// Moves `file` to the first free name for `name` in `dir` among `tries` (see [`first_free`]).
fn relink(file: &Path, dir: &Path, name: &std::ffi::OsStr, tries: u32) -> io::Result<PathBuf> {
    let (target, ()) = match first_free(dir, name, tries, |t| std::fs::hard_link(file, t)) {
        Ok(claimed) => claimed,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
        Err(_) => return copy_then_remove(file, dir, name, tries),
    };
    if let Err(e) = std::fs::remove_file(file) {
        // Leave one copy, never two names for a file the person thinks moved.
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    Ok(target)
}

/// The move across drives (or file systems without hard links). The copy keeps the
/// original's modification time (the photo's date where it has no EXIF date, and the keeper
/// rule's "oldest") and its permissions, as a move within a drive does.
fn copy_then_remove(
    file: &Path,
    dir: &Path,
    name: &std::ffi::OsStr,
    tries: u32,
) -> io::Result<PathBuf> {
    let (target, mut out) = first_free(dir, name, tries, |t| std::fs::File::create_new(t))?;
    let copied = std::fs::File::open(file)
        .and_then(|mut input| {
            io::copy(&mut input, &mut out)?;
            let meta = input.metadata()?;
            out.set_permissions(meta.permissions())?;
            let times = std::fs::FileTimes::new()
                .set_accessed(meta.accessed()?)
                .set_modified(meta.modified()?);
            out.set_times(times)
        })
        .and_then(|()| out.sync_all());
    if let Err(e) = copied.and_then(|_| std::fs::remove_file(file)) {
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(path: &Path) -> Photo {
        let meta = std::fs::metadata(path).unwrap();
        let f = Fingerprint::of(&meta);
        Photo {
            path: path.to_path_buf(),
            pixels: None,
            bytes: f.size,
            modified_ns: f.mtime_ns,
            taken: None,
            content: None,
        }
    }

    #[test]
    fn moving_never_replaces_a_file_in_the_destination() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("x.jpg"), b"new").unwrap();
        std::fs::write(dst.join("x.jpg"), b"old").unwrap();
        let p = photo(&src.join("x.jpg"));
        let r = move_photos(&[p], &Destination::Folder(dst.clone()));
        assert_eq!(r[0].outcome, Outcome::Moved(dst.join("x (2).jpg")));
        assert_eq!(std::fs::read(dst.join("x.jpg")).unwrap(), b"old");
        assert_eq!(std::fs::read(dst.join("x (2).jpg")).unwrap(), b"new");
        assert!(!src.join("x.jpg").exists());
    }

    /// A file dated 2001 with permissions other than the defaults a new file gets.
    fn old_private_file(path: &Path) -> std::time::SystemTime {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, b"photo").unwrap();
        let date = std::time::UNIX_EPOCH + std::time::Duration::new(978_307_200, 123_456_789);
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(date).unwrap();
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .unwrap();
        date
    }

    fn assert_kept(moved: &Path, date: std::time::SystemTime) {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(moved).unwrap();
        assert_eq!(
            meta.modified().unwrap(),
            date,
            "modification time of {moved:?}"
        );
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "mode of {moved:?}"
        );
        assert_eq!(std::fs::read(moved).unwrap(), b"photo");
    }

    #[test]
    fn the_copy_of_a_move_across_drives_keeps_the_date_and_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        let file = src.join("x.jpg");
        let date = old_private_file(&file);
        let to = copy_then_remove(&file, &dst, file.file_name().unwrap(), NAME_TRIES).unwrap();
        assert_eq!(to, dst.join("x.jpg"));
        assert!(!file.exists());
        assert_kept(&to, date);
    }

    #[test]
    fn a_move_to_another_file_system_keeps_the_date_and_permissions() {
        use std::os::unix::fs::MetadataExt;
        // /dev/shm is a tmpfs on most Linux machines, the temporary folder usually not.
        let tmp = tempfile::tempdir().unwrap();
        let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("skipped: no /dev/shm to move to");
            return;
        };
        let device = |p: &Path| std::fs::metadata(p).unwrap().dev();
        if device(tmp.path()) == device(other.path()) {
            eprintln!("skipped: /dev/shm is on the temporary folder's file system");
            return;
        }
        let file = tmp.path().join("x.jpg");
        let date = old_private_file(&file);
        let r = move_photos(&[photo(&file)], &Destination::Folder(other.path().into()));
        assert_eq!(r[0].outcome, Outcome::Moved(other.path().join("x.jpg")));
        assert!(!file.exists());
        assert_kept(&other.path().join("x.jpg"), date);
    }

    #[test]
    fn a_changed_or_missing_file_is_not_touched() {
        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join("dst");
        std::fs::create_dir_all(&dst).unwrap();
        let changed = tmp.path().join("changed.jpg");
        std::fs::write(&changed, b"before").unwrap();
        let before = photo(&changed);
        std::fs::write(&changed, b"after, longer").unwrap();
        let gone = tmp.path().join("gone.jpg");
        std::fs::write(&gone, b"x").unwrap();
        let gone_photo = photo(&gone);
        std::fs::remove_file(&gone).unwrap();
        let r = move_photos(&[before, gone_photo], &Destination::Folder(dst.clone()));
        assert_eq!(r[0].outcome, Outcome::Changed);
        assert_eq!(r[1].outcome, Outcome::Missing);
        assert!(changed.exists());
        assert_eq!(std::fs::read_dir(&dst).unwrap().count(), 0);
    }

    #[test]
    fn a_failure_in_the_middle_reports_each_file() {
        let tmp = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = (0..3)
            .map(|i| {
                let p = tmp.path().join(format!("{i}.jpg"));
                std::fs::write(&p, [i as u8]).unwrap();
                p
            })
            .collect();
        let photos: Vec<Photo> = files.iter().map(|p| photo(p)).collect();
        // The middle one is replaced by a folder of the same size and time: not a file any more.
        std::fs::remove_file(&files[1]).unwrap();
        std::fs::create_dir(&files[1]).unwrap();
        let dst = tmp.path().join("dst");
        std::fs::create_dir(&dst).unwrap();
        let r = move_photos(&photos, &Destination::Folder(dst.clone()));
        assert!(r[0].outcome.moved() && r[2].outcome.moved(), "{r:?}");
        assert!(!r[1].outcome.moved());
        assert!(dst.join("0.jpg").exists() && dst.join("2.jpg").exists());
    }

    #[test]
    fn put_back_moves_a_photo_back_and_never_over_a_file_that_took_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        let files: Vec<PathBuf> = ["x.jpg", "y.jpg"].iter().map(|n| src.join(n)).collect();
        for f in &files {
            std::fs::write(f, f.to_string_lossy().as_bytes()).unwrap();
        }
        let photos: Vec<Photo> = files.iter().map(|p| photo(p)).collect();
        let moved = move_photos(&photos, &Destination::Folder(dst.clone()));
        std::fs::write(&files[1], b"new").unwrap();
        let back = put_back(&moved);
        assert_eq!(back[0].outcome, Outcome::PutBack);
        assert_eq!(
            std::fs::read(&files[0]).unwrap(),
            files[0].to_string_lossy().as_bytes()
        );
        assert!(!dst.join("x.jpg").exists());
        assert!(matches!(&back[1].outcome, Outcome::Failed(why) if why.contains("another file")));
        assert_eq!(std::fs::read(&files[1]).unwrap(), b"new");
        assert!(dst.join("y.jpg").exists(), "it stays where it went");
    }
}
