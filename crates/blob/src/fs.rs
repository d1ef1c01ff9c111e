//! [`FsBlobStore`]: blobs as files.
//!
//! Layout (format 1), under the store's root:
//! - `FORMAT`: `coffer-blobs 1`.
//! - `tmp/<id>.tmp`: blobs being written.
//! - `v1/<first two hex digits of id>/<id>`: committed blobs.
//!
//! Commit = write all data, `fsync` the file, rename into `v1/`, `fsync` the
//! directory. All paths are built from [`BlobId`]s, which are checked hex.
//! Writes run on the blocking pool beside the request ([`crate::pipe`]), and
//! a large blob's data is sent to the disk as it is written
//! ([`start_writeback`]), so the commit's `fsync` waits for little.
//!
//! Blobs are private to the server's user: the store creates its
//! directories with mode 0700 and its files with mode 0600, whatever the
//! process umask.

use crate::pipe::{Pipe, PipeError, Sink};
use crate::{BlobError, BlobPage, BlobStore, BlobStream, BlobWriter, ListCursor};
use async_trait::async_trait;
use bytes::Bytes;
use coffer_types::BlobId;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

const FORMAT: &str = "coffer-blobs 1";
/// A write job starts once this much is queued and writes at most this much
/// per call (and per free-space check).
const WRITE_STEP: usize = 256 << 10;
/// The most bytes waiting to be written per blob, besides the step being
/// written: a writer holds at most about 1.3 MiB (the newest bytes, which
/// the engine's hashing holds too).
const WRITE_QUEUE: usize = 1 << 20;
/// A blob's written data is sent to the disk in steps of this size while
/// it is written ([`start_writeback`]); a smaller blob waits for its commit.
const WRITEBACK_STEP: u64 = 4 << 20;
/// Reads produce chunks of this size.
const READ_CHUNK: usize = 512 << 10;

/// The most free space blob writes leave on the filesystem (see
/// [`FsBlobStore::reserve`]).
const RESERVE_MAX: u64 = 256 << 20;

/// Blobs as files under one root directory.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: Arc<PathBuf>,
    reserve: u64,
}

/// Bytes an unprivileged writer may still use on the filesystem of `path`.
fn available(path: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(path)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Refuses a write of `len` bytes that would leave less than `reserve` free.
fn check_room(root: &Path, reserve: u64, len: u64) -> Result<(), BlobError> {
    match available(root) {
        Ok(free) if free < reserve.saturating_add(len) => Err(BlobError::NoSpace),
        // A filesystem that cannot say how full it is: the write itself decides.
        _ => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| BlobError::Io(std::io::Error::other(e)))?
}

/// The mode of the store's directories.
const DIR_MODE: u32 = 0o700;
/// The mode of the store's files.
const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents, private to this user.
fn create_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates a new file private to this user; fails if it exists.
fn create_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl FsBlobStore {
    /// Opens (creating if needed) a store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root: PathBuf = root.into();
        create_dir(&root.join("tmp"))?;
        let format_file = root.join("FORMAT");
        match fs::read_to_string(&format_file) {
            Ok(s) if s.trim() == FORMAT => {}
            Ok(s) => return Err(BlobError::Format(s.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                for i in 0..=255u8 {
                    create_dir(&root.join("v1").join(format!("{i:02x}")))?;
                }
                sync_dir(&root.join("v1"))?;
                let tmp = root.join("FORMAT.tmp");
                // A FORMAT.tmp left by a crash at this very step is stale.
                if let Err(e) = fs::remove_file(&tmp) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(e.into());
                    }
                }
                let mut f = create_file(&tmp)?;
                f.write_all(FORMAT.as_bytes())?;
                f.sync_all()?;
                fs::rename(&tmp, &format_file)?;
                sync_dir(&root)?;
            }
            Err(e) => return Err(e.into()),
        }
        let reserve = match rustix::fs::statvfs(&root) {
            Ok(st) => (st.f_blocks.saturating_mul(st.f_frsize) / 20).min(RESERVE_MAX),
            Err(_) => 0,
        };
        Ok(FsBlobStore { root: Arc::new(root), reserve })
    }

    /// Free space that blob writes leave alone: 5 % of the filesystem, at
    /// most 256 MiB. A blob write that would eat into it fails with
    /// [`BlobError::NoSpace`], so the metadata store on the same disk keeps
    /// room to record deletes (which free space) when blobs have filled it.
    pub fn reserve(&self) -> u64 {
        self.reserve
    }

    /// The same store with another reserve.
    pub fn with_reserve(mut self, bytes: u64) -> Self {
        self.reserve = bytes;
        self
    }

    fn path(&self, id: &BlobId) -> PathBuf {
        self.root.join("v1").join(&id.as_str()[..2]).join(id.as_str())
    }
}

/// A listing's position in a file store: the last id it has looked at.
/// Blobs are listed in id order, so a cursor stays valid whatever is
/// created or deleted meanwhile.
struct FsCursor(BlobId);

/// The next at most `limit` committed blobs after `after` (in id order)
/// modified before `before`.
fn list_page(root: &Path, before: SystemTime, after: Option<BlobId>, limit: usize) -> Result<BlobPage, BlobError> {
    let first_dir = match &after {
        // Ids are checked hex, so the first two characters are a directory.
        Some(a) => u8::from_str_radix(&a.as_str()[..2], 16).unwrap_or(0),
        None => 0,
    };
    let mut ids = Vec::new();
    for d in first_dir..=255u8 {
        let mut names: Vec<BlobId> = Vec::new();
        for entry in fs::read_dir(root.join(format!("{d:02x}")))? {
            let entry = entry?;
            if let Some(id) = entry.file_name().to_str().and_then(|n| BlobId::parse(n).ok()) {
                if after.as_ref().is_none_or(|a| &id > a) {
                    names.push(id);
                }
            }
        }
        names.sort();
        for id in names {
            if ids.len() == limit {
                let last = ids.last().cloned().unwrap_or_else(|| id.clone());
                return Ok(BlobPage { ids, next: Some(ListCursor::new(FsCursor(last))) });
            }
            let modified = match fs::metadata(root.join(&id.as_str()[..2]).join(id.as_str())) {
                Ok(m) => m.modified()?,
                // Deleted since the directory was read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if modified < before {
                ids.push(id);
            }
        }
    }
    Ok(BlobPage { ids, next: None })
}

/// A blob being written: the pieces go through a [`Pipe`] into a
/// [`FileSink`], which a blocking job writes while the caller keeps
/// receiving and hashing the next ones.
struct FsWriter {
    id: BlobId,
    tmp: PathBuf,
    dest: PathBuf,
    /// `None` once a step failed.
    pipe: Option<Pipe<FileSink>>,
    committed: bool,
}

/// The file of a blob being written, written by the pipe's jobs.
struct FileSink {
    file: File,
    root: Arc<PathBuf>,
    reserve: u64,
    /// Bytes written.
    written: u64,
    /// Bytes before this offset were handed to the disk ([`start_writeback`]).
    sent: u64,
}

impl Sink for FileSink {
    type Error = BlobError;

    fn consume(&mut self, pieces: &[Bytes]) -> Result<(), BlobError> {
        let len: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        check_room(&self.root, self.reserve, len)?;
        for p in pieces {
            self.file.write_all(p)?;
        }
        self.written += len;
        if self.written - self.sent >= WRITEBACK_STEP {
            start_writeback(&self.file, self.sent, self.written - self.sent);
            self.sent = self.written;
        }
        Ok(())
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` to the disk now,
/// without waiting for it. Otherwise a blob's data stays in the page cache
/// until the commit's fsync (the kernel's own writeback starts late, at
/// gigabytes of dirty data): the disk idles while the body arrives, then the
/// upload waits for all of it at once. `POSIX_FADV_DONTNEED` starts the
/// writeback of the range's dirty pages (on Linux, as `sync_file_range`'s
/// `SYNC_FILE_RANGE_WRITE` does, which rustix does not offer) and drops only
/// pages that are already clean, which freshly written ones are not. A
/// hint: an error changes nothing, the commit's fsync still writes it all.
fn start_writeback(file: &File, offset: u64, len: u64) {
    if let Some(len) = std::num::NonZeroU64::new(len) {
        let _ = rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::DontNeed);
    }
}

fn pipe_error(e: PipeError<BlobError>) -> BlobError {
    match e {
        PipeError::Sink(e) => e,
        PipeError::Lost => BlobError::Io(std::io::Error::other("blob writer already failed")),
    }
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        // Uncommitted, or failed at any step (even one that lost the file
        // handle, like a write hitting a full disk): discard the temporary
        // file. A write still in flight only appends to the unlinked inode.
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[async_trait]
impl BlobWriter for FsWriter {
    async fn write(&mut self, data: Bytes) -> Result<(), BlobError> {
        let pipe = self.pipe.as_mut().ok_or_else(|| pipe_error(PipeError::Lost))?;
        if let Err(e) = pipe.push(data).await {
            self.pipe = None;
            return Err(pipe_error(e));
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobId, BlobError> {
        let pipe = self.pipe.take().ok_or_else(|| pipe_error(PipeError::Lost))?;
        let (mut sink, rest) = pipe.finish().await.map_err(pipe_error)?;
        let (tmp, dest) = (self.tmp.clone(), self.dest.clone());
        blocking(move || {
            if !rest.is_empty() {
                sink.consume(&rest)?;
            }
            sink.file.sync_data()?;
            drop(sink);
            fs::rename(&tmp, &dest)?;
            sync_dir(dest.parent().unwrap_or(Path::new(".")))?;
            Ok(())
        })
        .await?;
        self.committed = true;
        Ok(self.id.clone())
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn create(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        let id = BlobId::random();
        let tmp = self.root.join("tmp").join(format!("{id}.tmp"));
        let dest = self.path(&id);
        let t = tmp.clone();
        let (root, reserve) = (self.root.clone(), self.reserve);
        let file = blocking(move || {
            check_room(&root, reserve, 0)?;
            Ok(create_file(&t)?)
        })
        .await?;
        let sink = FileSink { file, root: self.root.clone(), reserve: self.reserve, written: 0, sent: 0 };
        Ok(Box::new(FsWriter { id, tmp, dest, pipe: Some(Pipe::new(sink, WRITE_STEP, WRITE_QUEUE)), committed: false }))
    }

    async fn read(&self, id: &BlobId, offset: u64, len: u64) -> Result<BlobStream, BlobError> {
        let path = self.path(id);
        let missing = id.clone();
        let file = blocking(move || {
            let mut f = File::open(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => BlobError::NotFound(missing),
                _ => e.into(),
            })?;
            f.seek(SeekFrom::Start(offset))?;
            Ok(f)
        })
        .await?;
        let stream = futures::stream::try_unfold((file, len), |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = left.min(READ_CHUNK as u64) as usize;
            let (file, chunk) = blocking(move || {
                // Read into spare capacity (no zero-fill of the buffer first).
                let mut buf = Vec::with_capacity(want);
                (&mut file).take(want as u64).read_to_end(&mut buf)?;
                if buf.len() < want {
                    return Err(BlobError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "blob shorter than recorded",
                    )));
                }
                Ok((file, Bytes::from(buf)))
            })
            .await?;
            let n = chunk.len() as u64;
            Ok(Some((chunk, (file, left - n))))
        });
        Ok(Box::pin(stream))
    }

    async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        let path = self.path(id);
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn list(&self, before: SystemTime, from: Option<&ListCursor>, limit: usize) -> Result<BlobPage, BlobError> {
        let after = match from {
            Some(c) => Some(c.position::<FsCursor>()?.0.clone()),
            None => None,
        };
        let root = self.root.join("v1");
        blocking(move || list_page(&root, before, after, limit.max(1))).await
    }

    async fn clean_temp(&self, before: SystemTime) -> Result<usize, BlobError> {
        let tmp = self.root.join("tmp");
        blocking(move || {
            let mut n = 0;
            for entry in fs::read_dir(&tmp)? {
                let entry = entry?;
                if entry.metadata()?.modified()? < before {
                    fs::remove_file(entry.path())?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::blob_conformance_tests!(make);

    async fn make() -> (Arc<dyn BlobStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path().join("blobs")).unwrap();
        (Arc::new(store), dir)
    }

    #[test]
    fn refuses_unknown_format() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("FORMAT"), "coffer-blobs 99").unwrap();
        assert!(matches!(FsBlobStore::open(dir.path()), Err(BlobError::Format(_))));
        // A known format reopens.
        let d2 = tempfile::tempdir().unwrap();
        FsBlobStore::open(d2.path()).unwrap();
        FsBlobStore::open(d2.path()).unwrap();
    }

    #[tokio::test]
    async fn committed_blob_is_a_file_named_by_id_and_tmp_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let mut w = store.create().await.unwrap();
        w.write(Bytes::from_static(b"abc")).await.unwrap();
        let id = w.commit().await.unwrap();
        assert_eq!(fs::read(store.path(&id)).unwrap(), b"abc");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn directories_and_files_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("blobs");
        let store = FsBlobStore::open(&root).unwrap();
        let mut w = store.create().await.unwrap();
        w.write(Bytes::from_static(b"secret")).await.unwrap();
        let pending = fs::read_dir(root.join("tmp")).unwrap().next().unwrap().unwrap().path();
        assert_eq!(mode(&pending), 0o600, "a blob being written");
        let id = w.commit().await.unwrap();
        assert_eq!(mode(&store.path(&id)), 0o600, "a committed blob");
        assert_eq!(mode(&root.join("FORMAT")), 0o600);
        for d in ["", "tmp", "v1", "v1/00", "v1/ff"] {
            assert_eq!(mode(&root.join(d)), 0o700, "directory {d:?}");
        }
    }

    #[tokio::test]
    async fn writes_leave_the_reserve_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert!(store.reserve() > 0 && store.reserve() <= RESERVE_MAX);
        let free = available(dir.path()).unwrap();
        // A reserve above the free space refuses even an empty blob.
        let full = store.clone().with_reserve(free + (1 << 30));
        assert!(matches!(full.create().await.err(), Some(BlobError::NoSpace)));
        // A reserve just under it refuses the batch that would cross it, and
        // leaves no temporary file behind.
        let tight = store.clone().with_reserve(free.saturating_sub(WRITE_STEP as u64 / 2));
        let mut w = tight.create().await.unwrap();
        let big = Bytes::from(vec![7u8; WRITE_STEP]);
        let mut refused = false;
        for _ in 0..4 {
            if w.write(big.clone()).await.is_err() {
                refused = true;
                break;
            }
        }
        let refused = if refused {
            drop(w);
            true
        } else {
            matches!(w.commit().await, Err(BlobError::NoSpace))
        };
        assert!(refused, "a write crossing the reserve is refused");
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        // No reserve: the same write succeeds.
        let mut w = store.with_reserve(0).create().await.unwrap();
        w.write(big).await.unwrap();
        w.commit().await.unwrap();
    }
}
