//! Choosing the device a job runs on, and the compute precision that goes
//! with it.

use tch::{Device, Kind};
use tunix_core::device::DeviceSpec;

/// The device a job runs on and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceChoice {
    pub device: Device,
    /// `cpu` or `cuda:N`, as recorded in run_manifest.json.
    pub label: String,
    /// A note for the user when `auto` had to fall back.
    pub note: Option<String>,
}

/// Why a manifest's `device` cannot be used on this machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// A CUDA device was asked for, and libtorch sees none.
    #[error(
        "device: {spec} was asked for, but libtorch sees no CUDA device here \
         (`tunix-rt doctor` shows what it sees); use `device: auto` to fall back \
         to the CPU, or `device: cpu`"
    )]
    NoCuda {
        /// The device as written.
        spec: DeviceSpec,
    },
    /// A CUDA device index beyond the visible devices.
    #[error(
        "device: {spec} was asked for, but only {visible} CUDA device(s) \
         are visible (cuda:0..cuda:{})",
        .visible - 1
    )]
    TooFew {
        /// The device as written.
        spec: DeviceSpec,
        /// How many CUDA devices are visible.
        visible: i64,
    },
}

/// Resolve a manifest's `device` against what this machine has.
/// `cuda_devices` is the number of visible CUDA devices (passed in so the
/// rules are testable without a GPU).
pub fn resolve(spec: DeviceSpec, cuda_devices: i64) -> Result<DeviceChoice, DeviceError> {
    let cuda = |index: usize| DeviceChoice {
        device: Device::Cuda(index),
        label: format!("cuda:{index}"),
        note: None,
    };
    let cpu = |note: Option<&str>| DeviceChoice {
        device: Device::Cpu,
        label: "cpu".to_string(),
        note: note.map(str::to_string),
    };
    match spec {
        DeviceSpec::Cpu => Ok(cpu(None)),
        DeviceSpec::Auto if cuda_devices > 0 => Ok(cuda(0)),
        DeviceSpec::Auto => Ok(cpu(Some(
            "device: auto found no CUDA device; running on the CPU",
        ))),
        DeviceSpec::Cuda(index) => {
            if cuda_devices == 0 {
                return Err(DeviceError::NoCuda { spec });
            }
            let index = index.map_or(0, |i| i as usize);
            if index as i64 >= cuda_devices {
                return Err(DeviceError::TooFew {
                    spec,
                    visible: cuda_devices,
                });
            }
            Ok(cuda(index))
        }
    }
}

/// The number of CUDA devices libtorch can use.
pub fn cuda_device_count() -> i64 {
    if tch::Cuda::is_available() {
        tch::Cuda::device_count()
    } else {
        0
    }
}

/// Compute precision. Weights, optimizer state and losses are always f32;
/// matrix products and attention run in the compute kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    /// bf16 mixed precision (the default on CUDA).
    Bf16,
}

impl Precision {
    /// bf16 on CUDA, f32 on the CPU (where bf16 is slow and bit-exact
    /// reproducibility is the point).
    pub fn for_device(device: Device) -> Self {
        if device.is_cuda() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16-mixed",
        }
    }
}

/// Whether a libtorch error message reports an exhausted allocator.
pub fn is_out_of_memory(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("out of memory") || m.contains("can't allocate memory") || m.contains("outofmemory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_cuda_and_falls_back_with_a_note() {
        assert_eq!(resolve(DeviceSpec::Auto, 2).unwrap().label, "cuda:0");
        let cpu = resolve(DeviceSpec::Auto, 0).unwrap();
        assert_eq!(cpu.device, Device::Cpu);
        assert!(cpu.note.unwrap().contains("running on the CPU"));
    }

    #[test]
    fn cuda_without_a_gpu_is_a_clear_error() {
        let err = resolve(DeviceSpec::Cuda(None), 0).unwrap_err().to_string();
        assert_eq!(
            err,
            "device: cuda was asked for, but libtorch sees no CUDA device here (`tunix-rt doctor` shows what it sees); use `device: auto` to fall back to the CPU, or `device: cpu`"
        );
        let err = resolve(DeviceSpec::Cuda(Some(3)), 2)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "device: cuda:3 was asked for, but only 2 CUDA device(s) are visible (cuda:0..cuda:1)"
        );
        assert_eq!(
            resolve(DeviceSpec::Cuda(Some(1)), 2).unwrap().device,
            Device::Cuda(1)
        );
    }

    #[test]
    fn out_of_memory_messages_are_recognised() {
        assert!(is_out_of_memory(
            "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)"
        ));
        assert!(is_out_of_memory(
            "[enforce fail at alloc_cpu.cpp:117] . DefaultCPUAllocator: can't allocate memory"
        ));
        assert!(!is_out_of_memory(
            "shape '[4, 8]' is invalid for input of size 30"
        ));
    }
}
