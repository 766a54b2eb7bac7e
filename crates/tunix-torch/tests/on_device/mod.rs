//! Device-parameterised tests, written once as a function of the device:
//! `on_every_device!(name, ...)` makes `cpu::name` (always) and, with the
//! `cuda` feature (`make gpu-test`), `cuda::name` on `cuda:0`, which fails,
//! saying so, where libtorch sees no CUDA device: it never passes unseen.

/// One `#[test]` per behaviour and device: `cpu::NAME` always, `cuda::NAME`
/// with the `cuda` feature.
macro_rules! on_every_device {
    ($($name:ident),+ $(,)?) => {
        mod cpu {
            $(
                #[test]
                fn $name() {
                    super::$name(tch::Device::Cpu)
                }
            )+
        }

        #[cfg(feature = "cuda")]
        mod cuda {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::on_device::cuda_device())
                }
            )+
        }
    };
}

/// `cuda:0`, or a failed test saying that no CUDA device was found.
#[cfg(feature = "cuda")]
pub fn cuda_device() -> tch::Device {
    let visible = tunix_torch::model::device::cuda_device_count();
    assert!(
        visible > 0,
        "no CUDA device was found: the `cuda` feature runs this test on cuda:0, but \
         libtorch sees no CUDA device here (`tunix-rt doctor` shows what it sees); run \
         `make gpu-test` on a machine with a GPU, or leave out `--features cuda` to run \
         the CPU variants alone"
    );
    tch::Device::Cuda(0)
}
