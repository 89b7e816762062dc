//! Where an upload waits while it is routed and sent: memory for small bodies, an unlinked
//! temporary file for the rest, so a 500 MB upload costs disk rather than resident memory.
//!
//! The upload is kept whole (as nginx buffers request bodies) because an attempt that gets a
//! 429 or a 5xx must be replayable on the same or another deployment. The file lives in the
//! platform temp directory (`TMPDIR`), has no name on disk, and disappears with its last
//! handle. Reads and writes are positional (`pread`/`pwrite`) on a blocking thread, so replays
//! never share a file offset.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::stream;
use http_body::Frame;
use http_body_util::StreamBody;

use crate::upstream::OutBody;

/// Bodies up to this size stay in memory.
pub const MEMORY_LIMIT: usize = 1024 * 1024;
/// Writes to and reads from the file go in pieces of this size.
const IO_CHUNK: usize = 256 * 1024;

/// An upload being received.
#[derive(Debug, Default)]
pub struct Spool {
    /// The body so far (in memory), or the bytes not yet written to `file`.
    buffer: BytesMut,
    file: Option<Arc<File>>,
    /// Bytes already in `file`.
    written: u64,
}

impl Spool {
    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(chunk);
        match &self.file {
            None if self.buffer.len() <= MEMORY_LIMIT => Ok(()),
            None => {
                let file = tokio::task::spawn_blocking(tempfile::tempfile)
                    .await
                    .map_err(io::Error::other)??;
                self.file = Some(Arc::new(file));
                self.flush().await
            }
            Some(_) if self.buffer.len() >= IO_CHUNK => self.flush().await,
            Some(_) => Ok(()),
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let data = self.buffer.split().freeze();
        let (file, offset, len) = (Arc::clone(file), self.written, data.len() as u64);
        tokio::task::spawn_blocking(move || file.write_all_at(&data, offset))
            .await
            .map_err(io::Error::other)??;
        self.written += len;
        Ok(())
    }

    /// The complete body, ready to be replayed.
    pub async fn finish(mut self) -> io::Result<Stored> {
        match self.file.take() {
            None => Ok(Stored::Memory(self.buffer.freeze())),
            Some(file) => {
                self.file = Some(Arc::clone(&file));
                self.flush().await?;
                Ok(Stored::File {
                    file,
                    len: self.written,
                })
            }
        }
    }
}

/// A received upload.
#[derive(Debug, Clone)]
pub enum Stored {
    Memory(Bytes),
    File { file: Arc<File>, len: u64 },
}

/// One piece of a replayed body.
#[derive(Debug, Clone)]
pub enum Segment {
    /// A byte range of the stored upload.
    Stored(Range<u64>),
    /// Bytes the gateway puts in (a replaced field value, an added part).
    Inline(Bytes),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Self::Stored(r) => r.end.saturating_sub(r.start),
            Self::Inline(b) => b.len() as u64,
        }
    }
}

impl Stored {
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(b) => b.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A body made of `segments` in order, with its exact length; each call starts afresh.
    pub fn replay(&self, segments: Vec<Segment>) -> OutBody {
        let len = segments.iter().map(Segment::len).sum();
        match self {
            Self::Memory(bytes) => {
                let bytes = bytes.clone();
                let frames = segments.into_iter().map(move |s| match s {
                    Segment::Inline(b) => Ok::<_, io::Error>(Frame::data(b)),
                    Segment::Stored(r) => Ok(Frame::data(
                        bytes.slice(r.start as usize..(r.end as usize).min(bytes.len())),
                    )),
                });
                OutBody::stream(StreamBody::new(stream::iter(frames)), Some(len))
            }
            Self::File { file, .. } => {
                let reader = FileReader {
                    file: Arc::clone(file),
                    segments: segments.into_iter().collect(),
                };
                let chunks = stream::unfold(reader, |mut r| async move {
                    r.next().await.map(|item| (item.map(Frame::data), r))
                });
                OutBody::stream(StreamBody::new(chunks), Some(len))
            }
        }
    }
}

/// Reads segments of a spooled file in [`IO_CHUNK`] pieces.
struct FileReader {
    file: Arc<File>,
    segments: std::collections::VecDeque<Segment>,
}

impl FileReader {
    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            match self.segments.pop_front()? {
                Segment::Inline(b) if b.is_empty() => continue,
                Segment::Inline(b) => return Some(Ok(b)),
                Segment::Stored(r) if r.start >= r.end => continue,
                Segment::Stored(r) => {
                    let n = (r.end - r.start).min(IO_CHUNK as u64);
                    if r.start + n < r.end {
                        self.segments
                            .push_front(Segment::Stored(r.start + n..r.end));
                    }
                    let file = Arc::clone(&self.file);
                    let read = tokio::task::spawn_blocking(move || {
                        let mut buf = vec![0; n as usize];
                        file.read_exact_at(&mut buf, r.start)
                            .map(|()| Bytes::from(buf))
                    })
                    .await
                    .map_err(io::Error::other);
                    return Some(read.and_then(|r| r));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn spool(data: &[u8], chunk: usize) -> Stored {
        let mut s = Spool::default();
        for c in data.chunks(chunk) {
            s.write(c).await.unwrap();
        }
        s.finish().await.unwrap()
    }

    async fn read(body: OutBody) -> Vec<u8> {
        body.collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory_large_ones_go_to_disk() {
        let small = spool(b"hello", 2).await;
        assert!(matches!(small, Stored::Memory(_)));
        let big: Vec<u8> = (0..(MEMORY_LIMIT * 3 + 17))
            .map(|i| (i % 253) as u8)
            .collect();
        let stored = spool(&big, 64 * 1024 + 3).await;
        assert!(matches!(stored, Stored::File { .. }));
        assert_eq!(stored.len(), big.len() as u64);
        // Replays are independent and exact.
        for _ in 0..2 {
            let body = stored.replay(vec![Segment::Stored(0..stored.len())]);
            assert_eq!(
                http_body::Body::size_hint(&body).exact(),
                Some(big.len() as u64)
            );
            assert!(read(body).await == big);
        }
    }

    #[tokio::test]
    async fn segments_splice_inline_bytes() {
        for data in [b"0123456789".to_vec(), vec![7u8; MEMORY_LIMIT + 10]] {
            let stored = spool(&data, 4096).await;
            let n = data.len() as u64;
            let body = stored.replay(vec![
                Segment::Stored(0..2),
                Segment::Inline(Bytes::from_static(b"XY")),
                Segment::Stored(4..n),
            ]);
            assert_eq!(http_body::Body::size_hint(&body).exact(), Some(n));
            let out = read(body).await;
            assert_eq!(&out[..4], &[data[0], data[1], b'X', b'Y']);
            assert!(out[4..] == data[4..]);
        }
    }
}
