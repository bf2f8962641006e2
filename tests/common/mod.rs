//! Helpers of the binary's and the window's tests: running `photo-sim` (with a deadline),
//! and stepping the window until something holds. The engine's helpers (fixtures, generated
//! photos, the sandbox) are in `engine.rs`, re-exported here.
#![allow(dead_code)]

mod engine;

pub use engine::*;

/// The photo-sim binary, with its data directory inside the sandbox.
pub fn cli(sb: &Sandbox) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_photo-sim"));
    cmd.env("PHOTO_SIM_DATA_DIR", sb.dir.path().join("data"));
    cmd
}

/// Runs `cmd` to the end, failing the test (instead of hanging it) after `secs` seconds.
pub fn run_within(cmd: &mut std::process::Command, secs: u64) -> std::process::Output {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill takes any pid and signal; this pid is our own child's.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{cmd:?} hung: still running after {secs} s");
        }
    }
}

/// Stdout and stderr of a finished command, for assertions.
pub fn texts(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `photo-sim index` on the sandbox's photos in the background, saving a checkpoint
/// every `checkpoint_ms` milliseconds, its output discarded.
pub fn spawn_indexing(sb: &Sandbox, checkpoint_ms: u64) -> std::process::Child {
    spawn_indexing_with(sb, checkpoint_ms, &[])
}

/// [`spawn_indexing`] with more environment variables set.
pub fn spawn_indexing_with(
    sb: &Sandbox,
    checkpoint_ms: u64,
    env: &[(&str, &str)],
) -> std::process::Child {
    cli(sb)
        .env("PHOTO_SIM_CHECKPOINT_MS", checkpoint_ms.to_string())
        .envs(env.iter().copied())
        .arg("index")
        .arg(sb.photos())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Types `text` into the window's field labelled `field`, then clicks the button `submit`
/// (the typed-path fallback of every dialog).
pub fn type_and_submit<S>(
    h: &mut egui_kittest::Harness<'_, S>,
    field: &str,
    text: &str,
    submit: &str,
) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label(field).focus();
    h.step();
    h.get_by_label(field).type_text(text);
    h.step();
    h.get_by_label(submit).click();
}

/// Steps the window until `done` holds (failing after `secs` seconds, naming `what`), then
/// draws the new state twice (some widgets size themselves on their first frame). Returns
/// the frames it took.
pub fn run_until<S>(
    h: &mut egui_kittest::Harness<'_, S>,
    what: &str,
    secs: u64,
    done: impl Fn(&S) -> bool,
) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut frames = 0;
    while !done(h.state()) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        h.step();
        frames += 1;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.step();
    h.step();
    frames
}

/// Steps the app's window until `done` holds, within four minutes (the first frame applies
/// the clicks made before).
pub fn run_app_until(
    h: &mut egui_kittest::Harness<'_, photo_sim_app::App>,
    what: &str,
    done: impl Fn(&photo_sim_app::App) -> bool,
) {
    h.step();
    run_until(h, what, 240, done);
}

/// Clicks the widget labelled `label` and draws the frame after the click was applied.
pub fn click<S>(h: &mut egui_kittest::Harness<'_, S>, label: &str) {
    use egui_kittest::kittest::Queryable;
    h.get_by_label(label).click();
    h.step();
    h.step();
}

/// A folder is open and nothing is under way (in the Duplicates view, its groups are found).
pub fn idle_with_duplicates(app: &photo_sim_app::App) -> bool {
    use photo_sim_app::state::View;
    let s = app.state();
    s.folder.root.is_some()
        && !s.busy()
        && (s.view != View::Duplicates || s.duplicates.levels.is_some())
}

/// The app in a `width`×`height` window on `data` (its data directory), with `folder` typed
/// in, opened and indexed.
pub fn app_on(
    data: &std::path::Path,
    folder: &std::path::Path,
    (width, height): (f32, f32),
) -> egui_kittest::Harness<'static, photo_sim_app::App> {
    let store = photo_sim_engine::Store::under(data);
    let mut h = egui_kittest::Harness::builder()
        .with_size(eframe::egui::Vec2::new(width, height))
        .build_eframe(move |cc| photo_sim_app::App::with_model(&cc.egui_ctx, store, model()));
    h.step();
    type_and_submit(&mut h, "Folder path", &folder.display().to_string(), "Open");
    run_app_until(&mut h, "indexing", idle_with_duplicates);
    h
}

/// Sets `file`'s modification time to `secs` seconds after 1970.
pub fn date_file(file: &std::path::Path, secs: u64) {
    let time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(time).unwrap();
}
