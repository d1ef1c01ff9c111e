//! Links librados (Debian: `librados-dev`, which provides `librados.so`).

fn main() {
    println!("cargo:rustc-link-lib=dylib=rados");
    println!("cargo:rerun-if-changed=build.rs");
}
