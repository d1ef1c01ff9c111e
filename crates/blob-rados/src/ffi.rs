//! The part of librados' C API (`<rados/librados.h>`, Ceph 16) this crate
//! calls: cluster and pool handles, asynchronous object operations with
//! completion callbacks, compound write operations, and object listing.
//! Declarations only; [`crate::aio`] wraps them.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

pub type rados_t = *mut c_void;
pub type rados_ioctx_t = *mut c_void;
pub type rados_completion_t = *mut c_void;
pub type rados_list_ctx_t = *mut c_void;
pub type rados_object_list_cursor = *mut c_void;
pub type rados_write_op_t = *mut c_void;
pub type rados_callback_t = Option<unsafe extern "C" fn(cb: rados_completion_t, arg: *mut c_void)>;

/// `rados_write_op_create`: fail with `EEXIST` if the object exists.
pub const LIBRADOS_CREATE_EXCLUSIVE: c_int = 1;

extern "C" {
    pub fn rados_create2(cluster: *mut rados_t, clustername: *const c_char, name: *const c_char, flags: u64) -> c_int;
    pub fn rados_conf_read_file(cluster: rados_t, path: *const c_char) -> c_int;
    pub fn rados_conf_set(cluster: rados_t, option: *const c_char, value: *const c_char) -> c_int;
    pub fn rados_connect(cluster: rados_t) -> c_int;
    pub fn rados_shutdown(cluster: rados_t);

    pub fn rados_ioctx_create(cluster: rados_t, pool_name: *const c_char, ioctx: *mut rados_ioctx_t) -> c_int;
    pub fn rados_ioctx_destroy(io: rados_ioctx_t);
    pub fn rados_ioctx_set_namespace(io: rados_ioctx_t, nspace: *const c_char);
    pub fn rados_aio_flush(io: rados_ioctx_t) -> c_int;

    pub fn rados_aio_create_completion2(
        cb_arg: *mut c_void,
        cb_complete: rados_callback_t,
        pc: *mut rados_completion_t,
    ) -> c_int;
    pub fn rados_aio_get_return_value(c: rados_completion_t) -> c_int;
    pub fn rados_aio_release(c: rados_completion_t);

    pub fn rados_aio_read(
        io: rados_ioctx_t,
        oid: *const c_char,
        completion: rados_completion_t,
        buf: *mut c_char,
        len: usize,
        off: u64,
    ) -> c_int;
    pub fn rados_aio_remove(io: rados_ioctx_t, oid: *const c_char, completion: rados_completion_t) -> c_int;
    pub fn rados_aio_stat(
        io: rados_ioctx_t,
        oid: *const c_char,
        completion: rados_completion_t,
        psize: *mut u64,
        pmtime: *mut libc::time_t,
    ) -> c_int;

    pub fn rados_create_write_op() -> rados_write_op_t;
    pub fn rados_release_write_op(write_op: rados_write_op_t);
    pub fn rados_write_op_assert_exists(write_op: rados_write_op_t);
    pub fn rados_write_op_create(write_op: rados_write_op_t, exclusive: c_int, category: *const c_char);
    pub fn rados_write_op_write(write_op: rados_write_op_t, buffer: *const c_char, len: usize, offset: u64);
    pub fn rados_write_op_write_full(write_op: rados_write_op_t, buffer: *const c_char, len: usize);
    pub fn rados_aio_write_op_operate(
        write_op: rados_write_op_t,
        io: rados_ioctx_t,
        completion: rados_completion_t,
        oid: *const c_char,
        mtime: *mut libc::time_t,
        flags: c_int,
    ) -> c_int;

    pub fn rados_nobjects_list_open(io: rados_ioctx_t, ctx: *mut rados_list_ctx_t) -> c_int;
    pub fn rados_nobjects_list_seek_cursor(ctx: rados_list_ctx_t, cursor: rados_object_list_cursor) -> u32;
    pub fn rados_nobjects_list_get_cursor(ctx: rados_list_ctx_t, cursor: *mut rados_object_list_cursor) -> c_int;
    pub fn rados_nobjects_list_next2(
        ctx: rados_list_ctx_t,
        entry: *mut *const c_char,
        key: *mut *const c_char,
        nspace: *mut *const c_char,
        entry_size: *mut usize,
        key_size: *mut usize,
        nspace_size: *mut usize,
    ) -> c_int;
    pub fn rados_nobjects_list_close(ctx: rados_list_ctx_t);
    pub fn rados_object_list_cursor_free(io: rados_ioctx_t, cursor: rados_object_list_cursor);
}
