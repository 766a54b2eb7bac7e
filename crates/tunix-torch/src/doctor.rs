//! What this worker's libtorch sees: its version and library folder, CUDA
//! devices (named through the driver API) and cuDNN. `tunix-rt doctor`
//! asks for it with `tunix-rt-worker doctor`.

use tunix_core::protocol::TorchReport;

/// The libtorch version this binary was built against.
pub fn libtorch_version() -> &'static str {
    env!("TUNIX_LIBTORCH_VERSION")
}

/// Gather the report.
pub fn report() -> TorchReport {
    let cuda_available = tch::Cuda::is_available();
    let cuda_devices = if cuda_available {
        device_names(tch::Cuda::device_count())
    } else {
        Vec::new()
    };
    TorchReport {
        libtorch_version: libtorch_version().to_string(),
        libtorch_lib: env!("TUNIX_LIBTORCH_LIB").to_string(),
        cuda_available,
        cuda_devices,
        cudnn_available: tch::Cuda::cudnn_is_available(),
    }
}

/// Device names through the CUDA driver API (libcuda), which libtorch does
/// not expose; falls back to "cuda:N" when the driver cannot be asked.
fn device_names(count: i64) -> Vec<String> {
    let names = driver_device_names(count).unwrap_or_default();
    (0..count)
        .map(|i| {
            names
                .get(i as usize)
                .map(|n| format!("cuda:{i} {n}"))
                .unwrap_or_else(|| format!("cuda:{i}"))
        })
        .collect()
}

fn driver_device_names(count: i64) -> Option<Vec<String>> {
    type CuInit = unsafe extern "C" fn(u32) -> i32;
    type CuDeviceGet = unsafe extern "C" fn(*mut i32, i32) -> i32;
    type CuDeviceGetName = unsafe extern "C" fn(*mut std::os::raw::c_char, i32, i32) -> i32;
    // SAFETY: libcuda.so.1 is the NVIDIA driver library; the three functions
    // have these C signatures in every CUDA version, and the name buffer is
    // larger than the length we pass.
    unsafe {
        let lib = libloading::Library::new("libcuda.so.1").ok()?;
        let init: libloading::Symbol<CuInit> = lib.get(b"cuInit\0").ok()?;
        let get: libloading::Symbol<CuDeviceGet> = lib.get(b"cuDeviceGet\0").ok()?;
        let name: libloading::Symbol<CuDeviceGetName> = lib.get(b"cuDeviceGetName\0").ok()?;
        if init(0) != 0 {
            return None;
        }
        let mut out = Vec::new();
        for i in 0..count {
            let mut dev = 0i32;
            if get(&mut dev, i32::try_from(i).ok()?) != 0 {
                return None;
            }
            let mut buf = [0 as std::os::raw::c_char; 256];
            if name(buf.as_mut_ptr(), 255, dev) != 0 {
                return None;
            }
            let cstr = std::ffi::CStr::from_ptr(buf.as_ptr());
            out.push(cstr.to_string_lossy().into_owned());
        }
        Some(out)
    }
}
