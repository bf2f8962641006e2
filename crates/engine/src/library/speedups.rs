//! Making what speeds up the search of a large library, after its vectors are saved: the
//! compact codes (from [`crate::query::nearest::COMPACT_THRESHOLD`] photos on) and the HNSW
//! graph (from [`crate::query::nearest::GRAPH_THRESHOLD`] on). Each is saved beside the
//! vectors, tagged with their generation, and made again only when the vectors change; until
//! it is there, queries take the exact scan, which is always right, only slower.

use crate::error::{Error, Result};
use crate::index::format::{self, Kind, Vectors};
use crate::index::lock::IndexLock;
use crate::library::{Library, Snapshot, Speedups, CODES_FILE, GRAPH_FILE};
use crate::progress::{emit, CancelToken, Event, Sender};
use crate::query::compact::Codes;
use crate::query::nearest::Graph;
use std::sync::Arc;

/// Rows coded between two hand-backs of a mapped index's pages (about 330 MB of vectors): a
/// million photos are coded without the process ever holding their 5 GB.
const CODE_WINDOW: usize = 65_536;

impl Library {
    /// Makes the compact codes (and the graph) of the index as saved, when the library is
    /// large enough to need them and they are not there yet; returns the bytes written. Takes
    /// the index lock (waiting for another process's update); an update does this itself.
    pub fn make_speedups(&self, cancel: &CancelToken, progress: Option<&Sender>) -> Result<u64> {
        let Some(_lock) = IndexLock::acquire(&self.dir, cancel, || {})? else {
            return Ok(0);
        };
        let vectors = self.current().vectors.clone();
        self.make_speedups_of(&vectors, cancel, progress)
    }

    /// [`Library::make_speedups`] for `vectors` (just saved), the lock already held.
    pub(crate) fn make_speedups_of(
        &self,
        vectors: &Vectors,
        cancel: &CancelToken,
        progress: Option<&Sender>,
    ) -> Result<u64> {
        let mut written = self.make_codes(vectors, cancel, progress)?;
        if !cancel.is_cancelled() {
            written += self.make_graph(vectors, progress)?;
        }
        Ok(written)
    }

    /// The codes, made and saved when there are none of these vectors; the bytes written.
    fn make_codes(
        &self,
        vectors: &Vectors,
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
        emit(progress, Event::Compacting { done: 0, total });
        let dim = vectors.dim as usize;
        let mut made: Option<Codes> = None;
        for start in (0..total.max(1)).step_by(CODE_WINDOW) {
            let rows = start..(start + CODE_WINDOW).min(total);
            let part = Codes::encode(
                self.projection.as_deref(),
                &vectors.data[rows.start * dim..rows.end * dim],
                dim,
                vectors.generation,
                &|| cancel.is_cancelled(),
                &|done| {
                    let done = start + done;
                    emit(progress, Event::Compacting { done, total })
                },
            );
            vectors.data.release();
            let Some(part) = part else {
                return Ok(0);
            };
            match &mut made {
                Some(codes) => codes.append(part),
                None => made = Some(part),
            }
        }
        let Some(codes) = made else {
            return Ok(0);
        };
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
