//! Making what speeds up the search of a large library, after its vectors are saved: the
//! compact codes (from [`crate::query::nearest::COMPACT_THRESHOLD`] photos on) and the HNSW
//! graph (from [`crate::query::nearest::GRAPH_THRESHOLD`] on). Each is saved beside the
//! vectors, tagged with their generation, and made again only when the vectors change; until
//! it is there, queries take the exact scan, which is always right, only slower.

use crate::error::{Error, Result};
use crate::index::format::{self, Kind, Vectors};
use crate::index::lock::IndexLock;
use crate::index::rows::RowSource;
use crate::library::{Library, Snapshot, Speedups, CODES_FILE, GRAPH_FILE};
use crate::progress::{emit, CancelToken, Event, Sender};
use crate::query::compact::Codes;
use crate::query::nearest::Graph;
use std::sync::Arc;

/// Rows coded at a time, read from the index's file into one buffer (about 40 MB of vectors):
/// a million photos are coded without the process ever holding their 5 GB.
const CODE_WINDOW: usize = 8_192;

impl Library {
    /// Makes the compact codes (and the graph) of the index as saved, when the library is
    /// large enough to need them and they are not there yet; returns the bytes written. Takes
    /// the index lock (waiting for another process's update); an update does this itself.
    pub fn make_speedups(&self, cancel: &CancelToken, progress: Option<&Sender>) -> Result<u64> {
        let Some(_lock) = IndexLock::acquire(&self.dir, cancel, || {})? else {
            return Ok(0);
        };
        let vectors = self.current().vectors.clone();
        self.make_speedups_of(&vectors, None, cancel, progress)
    }

    /// [`Library::make_speedups`] for `vectors` (just saved), the lock already held, keeping
    /// the codes of the rows `reuse` says were coded before.
    pub(crate) fn make_speedups_of(
        &self,
        vectors: &Vectors,
        reuse: Option<&Reuse>,
        cancel: &CancelToken,
        progress: Option<&Sender>,
    ) -> Result<u64> {
        let mut written = self.make_codes(vectors, reuse, cancel, progress)?;
        if !cancel.is_cancelled() {
            written += self.make_graph(vectors, progress)?;
        }
        Ok(written)
    }

    /// The codes, made and saved when there are none of these vectors; the bytes written.
    /// Rows `reuse` names keep their old codes: only the others are coded.
    pub(crate) fn make_codes(
        &self,
        vectors: &Vectors,
        reuse: Option<&Reuse>,
        cancel: &CancelToken,
        progress: Option<&Sender>,
    ) -> Result<u64> {
        let snap = self.current();
        let total = vectors.len();
        if total < self.tuning.compact_threshold
            || snap
                .speedups
                .codes
                .as_ref()
                .is_some_and(|c| c.generation == vectors.generation)
        {
            return Ok(0);
        }
        let (projection, dim) = (self.projection.as_deref(), vectors.dim as usize);
        let none = vec![None; total];
        let (old, from) = match reuse {
            Some(r) if r.from.len() == total && r.codes.fits(r.codes.len(), projection, dim) => {
                (Some(&*r.codes), r.from.as_slice())
            }
            _ => (None, none.as_slice()),
        };
        let fresh: Vec<usize> = (0..total).filter(|&i| from[i].is_none()).collect();
        emit(
            progress,
            Event::Compacting {
                done: 0,
                total: fresh.len(),
            },
        );
        let mut made: Option<Codes> = None;
        let mut buf = Vec::new();
        let windows: Vec<&[usize]> = match fresh.is_empty() {
            true => vec![&[]],
            false => fresh.chunks(CODE_WINDOW).collect(),
        };
        for (w, rows) in windows.into_iter().enumerate() {
            let window = read_rows(vectors, rows, &mut buf).map_err(Error::store(
                "read the index in",
                self.dir.join(crate::library::VECTORS_FILE),
            ))?;
            let part = Codes::encode(
                projection,
                window,
                dim,
                vectors.generation,
                &|| cancel.is_cancelled(),
                &|done| {
                    let done = w * CODE_WINDOW + done;
                    emit(
                        progress,
                        Event::Compacting {
                            done,
                            total: fresh.len(),
                        },
                    )
                },
            );
            let Some(part) = part else {
                return Ok(0);
            };
            match &mut made {
                Some(codes) => codes.append(part),
                None => made = Some(part),
            }
        }
        let Some(fresh) = made else {
            return Ok(0);
        };
        let codes = Codes::reusing(old, from, fresh);
        let written = self.save(CODES_FILE, Kind::Codes, vectors, &codes)?;
        let with_codes = Speedups {
            codes: Some(Arc::new(codes)),
            ..snap.speedups.clone()
        };
        self.publish_with(&snap, vectors, with_codes);
        Ok(written)
    }

    /// The graph, built and saved when there is none of these vectors; the bytes written.
    fn make_graph(&self, vectors: &Vectors, progress: Option<&Sender>) -> Result<u64> {
        let snap = self.current();
        if vectors.len() < self.tuning.graph_threshold
            || snap
                .speedups
                .graph
                .as_ref()
                .is_some_and(|g| g.generation == vectors.generation)
        {
            return Ok(0);
        }
        emit(
            progress,
            Event::BuildingGraph {
                points: vectors.len(),
            },
        );
        let g = Graph::build(&vectors.data, vectors.dim as usize, vectors.generation);
        let written = self.save(GRAPH_FILE, Kind::Graph, vectors, &g)?;
        let with_graph = Speedups {
            graph: Some(Arc::new(g)),
            ..snap.speedups.clone()
        };
        self.publish_with(&snap, vectors, with_graph);
        Ok(written)
    }

    /// Saves `what` (made from `vectors`) as the file `name` of the index; the bytes written.
    fn save<T: serde::Serialize>(
        &self,
        name: &str,
        kind: Kind,
        vectors: &Vectors,
        what: &T,
    ) -> Result<u64> {
        let file = self.dir.join(name);
        format::save(&file, kind, self.model.id, vectors.generation, 0, what, &[])
            .map_err(Error::store("save a search file in", &file))
    }

    /// Lets queries use `speedups` of `vectors`, sharing the vectors of `snap` when they are
    /// these.
    fn publish_with(&self, snap: &Snapshot, vectors: &Vectors, speedups: Speedups) {
        self.publish(if snap.vectors.generation == vectors.generation {
            snap.with(speedups)
        } else {
            Snapshot::new(vectors.clone(), speedups)
        });
    }
}

/// What an update can keep of the old index's compact codes: the codes, and the old row each
/// new row is, where it is one.
pub(crate) struct Reuse {
    pub codes: Arc<Codes>,
    pub from: Vec<Option<usize>>,
}

/// Rows `rows` of `vectors`, in order: one read when they follow each other, else gathered.
fn read_rows<'a>(
    vectors: &'a Vectors,
    rows: &[usize],
    buf: &'a mut Vec<f32>,
) -> std::io::Result<&'a [f32]> {
    match (rows.first(), rows.last()) {
        (Some(&first), Some(&last)) if last - first + 1 == rows.len() => {
            vectors.read(first..last + 1, buf)
        }
        _ => {
            *buf = vectors.data.gather(rows, vectors.dim as usize)?;
            Ok(buf)
        }
    }
}
