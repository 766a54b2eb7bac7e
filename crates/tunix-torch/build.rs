//! Make the binary find libtorch on its own: embed an rpath to the libtorch
//! that torch-sys linked against, keep libtorch_cuda.so linked even though no
//! symbol of it is referenced directly (without it CUDA is never available),
//! and record the libtorch version for `tunix-rt doctor`.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Some(lib) = env::var_os("DEP_TCH_LIBTORCH_LIB").map(PathBuf::from) else {
        println!("cargo:rustc-env=TUNIX_LIBTORCH_VERSION=unknown");
        println!("cargo:rustc-env=TUNIX_LIBTORCH_LIB=");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
    let version_file = lib.parent().map(|torch| torch.join("version.py"));
    let version = version_file
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TUNIX_LIBTORCH_VERSION={version}");
    println!("cargo:rustc-env=TUNIX_LIBTORCH_LIB={}", lib.display());
}
