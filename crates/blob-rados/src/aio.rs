//! Safe wrappers over [`crate::ffi`]: a connected pool handle ([`Pool`])
//! whose object operations are `async` and never block a runtime thread.
//!
//! Each operation is submitted with librados' asynchronous call and a
//! completion whose callback (run on a librados finisher thread) reads the
//! result, releases the completion and sends the outcome through a tokio
//! oneshot channel. Everything the operation writes into (read buffer, stat
//! fields) or reads from (data, compound operation) lives in a heap block
//! that the callback owns: a caller that stops waiting (a dropped future)
//! frees nothing librados still uses. Listing has no asynchronous call in
//! librados; [`Pool::list_page`] is blocking and runs on tokio's blocking
//! pool.

use crate::ffi::*;
use crate::RadosConfig;
use bytes::Bytes;
use coffer_blob::BlobError;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A negative errno from librados.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub i32);

pub(crate) const ENOENT: i32 = libc::ENOENT;
pub(crate) const EEXIST: i32 = libc::EEXIST;

impl Errno {
    fn from_ret(ret: c_int) -> Result<c_int, Errno> {
        if ret < 0 {
            Err(Errno(-ret))
        } else {
            Ok(ret)
        }
    }

    /// The [`BlobError`] for this errno: a full cluster is `NoSpace`; a
    /// timeout or a lost connection is `Unavailable` (retry later); anything
    /// else is `Io` carrying the errno. `ENOENT` is mapped by callers, who
    /// know which blob is missing.
    pub(crate) fn into_blob(self, what: &str) -> BlobError {
        match self.0 {
            libc::ENOSPC | libc::EDQUOT => BlobError::NoSpace,
            libc::ETIMEDOUT
            | libc::ENOTCONN
            | libc::ECONNREFUSED
            | libc::ECONNRESET
            | libc::ESHUTDOWN
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::EAGAIN => BlobError::Unavailable(format!("{what}: {}", std::io::Error::from_raw_os_error(self.0))),
            n => BlobError::Io(std::io::Error::from_raw_os_error(n)),
        }
    }
}

/// An object name for librados (names are ours: hex and digits).
fn oid(name: &str) -> Result<CString, BlobError> {
    CString::new(name).map_err(|_| BlobError::Io(std::io::Error::other("object name with a NUL byte")))
}

/// A connected cluster handle and an I/O context on one pool and namespace.
/// librados handles are thread-safe once set up (the namespace is set before
/// the handle is shared and never changed).
pub(crate) struct Pool {
    cluster: rados_t,
    io: rados_ioctx_t,
}

// SAFETY: librados' cluster and I/O context handles may be used from any
// thread at once; only configuration changes (done in `connect`, before the
// handle is shared) are not thread-safe.
unsafe impl Send for Pool {}
// SAFETY: as above: every method takes `&self` and calls thread-safe
// librados functions.
unsafe impl Sync for Pool {}

impl Drop for Pool {
    fn drop(&mut self) {
        // Flushing waits for the operations still in flight (a dropped
        // writer's removes; their callbacks own everything they touch), and
        // shutting down waits for librados' threads: up to the operation
        // timeout on a slow cluster. On a multi-threaded runtime's worker the
        // runtime is told first (its other tasks move to another thread).
        // Not on a thread of its own: a process that exits while librados is
        // still shutting down crashes in librados' static destructors.
        let handles = Handles { cluster: self.cluster, io: self.io };
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(|| handles.close());
        } else {
            handles.close();
        }
    }
}

/// A pool's raw handles on their way to being closed.
struct Handles {
    cluster: rados_t,
    io: rados_ioctx_t,
}

impl Handles {
    fn close(self) {
        // SAFETY: both handles are valid (made in `Pool::connect`) and used
        // by no one else: the `Pool` that owned them is gone.
        unsafe {
            rados_aio_flush(self.io);
            rados_ioctx_destroy(self.io);
            rados_shutdown(self.cluster);
        }
    }
}

/// What a finished operation produced.
pub(crate) struct Outcome {
    /// librados' return value: bytes read for a read, 0 for the others.
    pub ret: c_int,
    pub buf: Vec<u8>,
    pub size: u64,
    pub mtime: i64,
}

/// The heap block an operation owns until its callback runs.
struct OpState {
    tx: Option<oneshot::Sender<Outcome>>,
    buf: Vec<u8>,
    size: u64,
    mtime: libc::time_t,
    /// A compound write, released once it has completed.
    write_op: rados_write_op_t,
    /// Data a compound write points at, kept alive until completion.
    _data: Vec<Bytes>,
}

/// The completion callback: runs once per submitted operation, on a
/// librados thread. Must not panic (it would unwind into C).
unsafe extern "C" fn on_complete(c: rados_completion_t, arg: *mut c_void) {
    // SAFETY: `arg` is the `Box<OpState>` leaked by `Pool::submit` for this
    // completion, and librados calls this callback exactly once, so the box
    // is reclaimed exactly once.
    let mut state = unsafe { Box::from_raw(arg.cast::<OpState>()) };
    // SAFETY: `c` is this operation's completion, still valid: librados
    // holds its own reference while the callback runs, so releasing ours
    // here is allowed (Ceph's own tools release in the callback too).
    let ret = unsafe {
        let ret = rados_aio_get_return_value(c);
        rados_aio_release(c);
        ret
    };
    if !state.write_op.is_null() {
        // SAFETY: the compound operation was made by `rados_create_write_op`
        // for this submission only, and has completed.
        unsafe { rados_release_write_op(state.write_op) };
    }
    // time_t is i64 here, narrower on some targets.
    #[allow(clippy::unnecessary_cast)]
    let mtime = state.mtime as i64;
    if let Some(tx) = state.tx.take() {
        let out = Outcome { ret, buf: std::mem::take(&mut state.buf), size: state.size, mtime };
        // The waiter may be gone (a dropped future): nothing to do then.
        let _ = tx.send(out);
    }
}

/// A submitted write.
pub(crate) struct Pending(Result<oneshot::Receiver<Outcome>, Errno>);

impl Pending {
    /// Waits for the write's outcome.
    pub(crate) async fn done(self) -> Result<(), Errno> {
        Pool::wait(self.0).await.map(|_| ())
    }
}

/// How a compound write starts.
pub(crate) enum Guard {
    /// The object must not exist yet (`EEXIST` otherwise).
    CreateExclusive,
    /// The object must exist (`ENOENT` otherwise).
    MustExist,
}

impl Pool {
    /// Connects as `client.<user>` with `cfg`'s configuration file, and
    /// opens the pool and namespace. Blocking (up to the mount timeout).
    pub(crate) fn connect(cfg: &RadosConfig) -> Result<Pool, BlobError> {
        let cstr = |s: &str| {
            CString::new(s).map_err(|_| BlobError::Io(std::io::Error::other("configuration value with a NUL byte")))
        };
        let name = cstr(&format!("client.{}", cfg.user))?;
        let cluster_name = cstr("ceph")?;
        let conf = cstr(&cfg.conf.to_string_lossy())?;
        let mut cluster: rados_t = std::ptr::null_mut();
        // SAFETY: the out-pointer is valid; the strings are NUL-terminated
        // and outlive the call.
        Errno::from_ret(unsafe { rados_create2(&mut cluster, cluster_name.as_ptr(), name.as_ptr(), 0) })
            .map_err(|e| e.into_blob("creating the cluster handle"))?;
        // From here on the handle is freed on every failure.
        let fail = |cluster: rados_t, e: BlobError| {
            // SAFETY: `cluster` came from `rados_create2` and is used by
            // nothing else.
            unsafe { rados_shutdown(cluster) };
            Err(e)
        };
        // SAFETY: `cluster` is a valid unconnected handle; `conf` is
        // NUL-terminated.
        if let Err(e) = Errno::from_ret(unsafe { rados_conf_read_file(cluster, conf.as_ptr()) }) {
            return fail(cluster, e.into_blob(&format!("reading {}", cfg.conf.display())));
        }
        let secs = cfg.timeout.as_secs().max(1).to_string();
        let mut settings = vec![
            ("client_mount_timeout", secs.clone()),
            ("rados_osd_op_timeout", secs.clone()),
            ("rados_mon_op_timeout", secs),
        ];
        if let Some(k) = &cfg.keyring {
            settings.push(("keyring", k.to_string_lossy().into_owned()));
        }
        for (option, value) in settings {
            let (o, v) = match (cstr(option), cstr(&value)) {
                (Ok(o), Ok(v)) => (o, v),
                (Err(e), _) | (_, Err(e)) => return fail(cluster, e),
            };
            // SAFETY: valid unconnected handle, NUL-terminated strings.
            if let Err(e) = Errno::from_ret(unsafe { rados_conf_set(cluster, o.as_ptr(), v.as_ptr()) }) {
                return fail(cluster, e.into_blob(&format!("setting {option}")));
            }
        }
        // SAFETY: valid, configured handle. Blocks up to the mount timeout.
        if let Err(e) = Errno::from_ret(unsafe { rados_connect(cluster) }) {
            let err = match e.0 {
                libc::ETIMEDOUT | libc::ENOENT | libc::ECONNREFUSED => {
                    BlobError::Unavailable(format!("connecting to Ceph: {}", std::io::Error::from_raw_os_error(e.0)))
                }
                _ => e.into_blob("connecting to Ceph"),
            };
            return fail(cluster, err);
        }
        let pool = match cstr(&cfg.pool) {
            Ok(p) => p,
            Err(e) => return fail(cluster, e),
        };
        let mut io: rados_ioctx_t = std::ptr::null_mut();
        // SAFETY: connected handle, valid out-pointer, NUL-terminated name.
        if let Err(e) = Errno::from_ret(unsafe { rados_ioctx_create(cluster, pool.as_ptr(), &mut io) }) {
            let err = match e.0 {
                ENOENT => BlobError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no RADOS pool named {:?}", cfg.pool),
                )),
                _ => e.into_blob("opening the pool"),
            };
            return fail(cluster, err);
        }
        let ns = match cstr(&cfg.namespace) {
            Ok(ns) => ns,
            Err(e) => {
                // SAFETY: `io` was just made and is used by nothing else.
                unsafe { rados_ioctx_destroy(io) };
                return fail(cluster, e);
            }
        };
        // SAFETY: `io` is valid and not shared yet (setting the namespace is
        // not thread-safe, so it is done only here).
        unsafe { rados_ioctx_set_namespace(io, ns.as_ptr()) };
        Ok(Pool { cluster, io })
    }

    /// Submits one operation: `start` gets the completion and the operation's
    /// heap block and calls the librados function. Returns the receiver of
    /// the outcome.
    fn submit(
        &self,
        state: OpState,
        start: impl FnOnce(rados_completion_t, *mut OpState) -> c_int,
    ) -> Result<oneshot::Receiver<Outcome>, Errno> {
        let (tx, rx) = oneshot::channel();
        let raw = Box::into_raw(Box::new(OpState { tx: Some(tx), ..state }));
        let mut c: rados_completion_t = std::ptr::null_mut();
        // SAFETY: `raw` stays valid until the callback reclaims it;
        // `on_complete` matches librados' callback signature.
        let made = unsafe { rados_aio_create_completion2(raw.cast(), Some(on_complete), &mut c) };
        if made < 0 {
            // SAFETY: no completion exists, so no callback will run: the
            // block is still ours.
            let state = unsafe { Box::from_raw(raw) };
            release_write_op(&state);
            return Err(Errno(-made));
        }
        let ret = start(c, raw);
        if ret < 0 {
            // The operation was refused before it was queued: librados will
            // not call back, so the completion and the block are ours.
            // SAFETY: `c` is our unused completion; `raw` our block.
            let state = unsafe {
                rados_aio_release(c);
                Box::from_raw(raw)
            };
            release_write_op(&state);
            return Err(Errno(-ret));
        }
        Ok(rx)
    }

    /// Waits for a submitted operation.
    async fn wait(rx: Result<oneshot::Receiver<Outcome>, Errno>) -> Result<Outcome, Errno> {
        let out = rx?.await.map_err(|_| Errno(libc::EIO))?;
        Errno::from_ret(out.ret)?;
        Ok(out)
    }

    fn blank() -> OpState {
        OpState { tx: None, buf: Vec::new(), size: 0, mtime: 0, write_op: std::ptr::null_mut(), _data: Vec::new() }
    }

    /// Reads up to `len` bytes of `name` from `off`; fewer at the object's end.
    pub(crate) async fn read(&self, name: &str, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let o = oid(name).map_err(|_| Errno(libc::EINVAL))?;
        let state = OpState { buf: vec![0u8; len], ..Self::blank() };
        let rx = self.submit(state, |c, raw| {
            // SAFETY: `raw` is the live block; its buffer has `len` bytes and
            // is not touched by anyone else until the callback, which runs
            // after librados has finished writing into it.
            unsafe {
                let buf = (*raw).buf.as_mut_ptr().cast::<c_char>();
                rados_aio_read(self.io, o.as_ptr(), c, buf, len, off)
            }
        });
        let mut out = Self::wait(rx).await?;
        let n = (out.ret.max(0) as usize).min(out.buf.len());
        out.buf.truncate(n);
        Ok(out.buf)
    }

    /// The size and modification time (seconds since the epoch) of `name`.
    pub(crate) async fn stat(&self, name: &str) -> Result<(u64, i64), Errno> {
        let o = oid(name).map_err(|_| Errno(libc::EINVAL))?;
        let rx = self.submit(Self::blank(), |c, raw| {
            // SAFETY: the size and mtime fields live in the block, which
            // outlives the operation.
            unsafe { rados_aio_stat(self.io, o.as_ptr(), c, &mut (*raw).size, &mut (*raw).mtime) }
        });
        let out = Self::wait(rx).await?;
        Ok((out.size, out.mtime))
    }

    /// Removes `name` (`ENOENT` if it is missing).
    pub(crate) async fn remove(&self, name: &str) -> Result<(), Errno> {
        Self::wait(self.start_remove(name)).await.map(|_| ())
    }

    /// Starts removing `name` without waiting (a dropped writer's cleanup).
    pub(crate) fn remove_detached(&self, name: &str) {
        if let Err(e) = self.start_remove(name) {
            tracing::warn!(object = name, errno = e.0, "removing an abandoned stripe was refused");
        }
    }

    fn start_remove(&self, name: &str) -> Result<oneshot::Receiver<Outcome>, Errno> {
        let o = oid(name).map_err(|_| Errno(libc::EINVAL))?;
        // SAFETY: valid I/O context, completion and NUL-terminated name
        // (librados copies the name).
        self.submit(Self::blank(), |c, _| unsafe { rados_aio_remove(self.io, o.as_ptr(), c) })
    }

    /// Starts one atomic compound write on `name`: `guard`, then `data`
    /// (consecutive pieces) at `off`, or, with `off == None`, `data` as the
    /// whole object. The operation is submitted before this returns, so
    /// later operations on the same object are ordered after it.
    pub(crate) fn start_write(&self, name: &str, guard: Guard, data: Vec<Bytes>, off: Option<u64>) -> Pending {
        let o = match oid(name) {
            Ok(o) => o,
            Err(_) => return Pending(Err(Errno(libc::EINVAL))),
        };
        // SAFETY: no arguments; returns a new compound operation (checked
        // for null).
        let op = unsafe { rados_create_write_op() };
        if op.is_null() {
            return Pending(Err(Errno(libc::ENOMEM)));
        }
        // SAFETY: `op` is valid; each data pointer stays valid because the
        // `Bytes` are kept in the operation's block until completion.
        unsafe {
            match guard {
                Guard::CreateExclusive => rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, std::ptr::null()),
                Guard::MustExist => rados_write_op_assert_exists(op),
            }
            match off {
                Some(mut off) => {
                    for piece in data.iter().filter(|p| !p.is_empty()) {
                        rados_write_op_write(op, piece.as_ptr().cast::<c_char>(), piece.len(), off);
                        off += piece.len() as u64;
                    }
                }
                None => {
                    let whole = data.first().map(|b| (b.as_ptr(), b.len())).unwrap_or((std::ptr::null(), 0));
                    rados_write_op_write_full(op, whole.0.cast::<c_char>(), whole.1);
                }
            }
        }
        let state = OpState { write_op: op, _data: data, ..Self::blank() };
        Pending(self.submit(state, |c, _| {
            // SAFETY: valid compound operation, I/O context and completion;
            // a null mtime means "now".
            unsafe { rados_aio_write_op_operate(op, self.io, c, o.as_ptr(), std::ptr::null_mut(), 0) }
        }))
    }

    /// [`Pool::start_write`], waited for.
    pub(crate) async fn write(
        &self,
        name: &str,
        guard: Guard,
        data: Vec<Bytes>,
        off: Option<u64>,
    ) -> Result<(), Errno> {
        self.start_write(name, guard, data, off).done().await
    }

    /// Lists object names from `from` (the beginning if `None`): at most
    /// `max` names for which `keep` is true, having looked at no more than
    /// `scan` names. Returns them and the position of the first name not
    /// looked at (`None` at the end). Blocking: call on the blocking pool.
    pub(crate) fn list_page(
        self: &Arc<Self>,
        from: Option<&Cursor>,
        max: usize,
        scan: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Result<(Vec<String>, Option<Cursor>), Errno> {
        let mut ctx: rados_list_ctx_t = std::ptr::null_mut();
        // SAFETY: valid I/O context and out-pointer.
        Errno::from_ret(unsafe { rados_nobjects_list_open(self.io, &mut ctx) })?;
        let ctx = ListCtx(ctx);
        if let Some(c) = from {
            // SAFETY: both handles are valid; librados copies the position.
            unsafe { rados_nobjects_list_seek_cursor(ctx.0, c.raw) };
        }
        let (mut names, mut seen) = (Vec::new(), 0usize);
        loop {
            let mut entry: *const c_char = std::ptr::null();
            let mut entry_len = 0usize;
            // SAFETY: valid list context and out-pointers; the entry stays
            // valid until the next call on this context.
            let ret = unsafe {
                rados_nobjects_list_next2(
                    ctx.0,
                    &mut entry,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    &mut entry_len,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            if ret == -ENOENT {
                return Ok((names, None));
            }
            Errno::from_ret(ret)?;
            if names.len() >= max || seen >= scan {
                // This entry is not taken: the cursor points at it (librados
                // keeps the entry just returned as the listing's position).
                let mut raw: rados_object_list_cursor = std::ptr::null_mut();
                // SAFETY: valid list context and out-pointer; the cursor is
                // freed by `Cursor`'s drop.
                Errno::from_ret(unsafe { rados_nobjects_list_get_cursor(ctx.0, &mut raw) })?;
                return Ok((names, Some(Cursor { raw, pool: self.clone() })));
            }
            seen += 1;
            if entry.is_null() {
                continue;
            }
            // SAFETY: librados returned `entry_len` valid bytes at `entry`.
            let bytes = unsafe { std::slice::from_raw_parts(entry.cast::<u8>(), entry_len) };
            if let Ok(name) = std::str::from_utf8(bytes) {
                if keep(name) {
                    names.push(name.to_owned());
                }
            }
        }
    }
}

fn release_write_op(state: &OpState) {
    if !state.write_op.is_null() {
        // SAFETY: the compound operation was never submitted (or refused), so
        // nothing else refers to it.
        unsafe { rados_release_write_op(state.write_op) };
    }
}

/// An open listing, closed on drop.
struct ListCtx(rados_list_ctx_t);

impl Drop for ListCtx {
    fn drop(&mut self) {
        // SAFETY: opened by `rados_nobjects_list_open`, closed once.
        unsafe { rados_nobjects_list_close(self.0) }
    }
}

/// A position in a pool's listing (a librados object cursor), freed on drop.
pub(crate) struct Cursor {
    raw: rados_object_list_cursor,
    pool: Arc<Pool>,
}

// SAFETY: the cursor is an immutable heap position that librados only reads
// (to seek) or frees; it is not tied to a thread.
unsafe impl Send for Cursor {}
// SAFETY: as above: shared use only reads it.
unsafe impl Sync for Cursor {}

impl Drop for Cursor {
    fn drop(&mut self) {
        // SAFETY: made by `rados_nobjects_list_get_cursor` on this pool's
        // I/O context (kept alive by `pool`), freed once.
        unsafe { rados_object_list_cursor_free(self.pool.io, self.raw) }
    }
}
