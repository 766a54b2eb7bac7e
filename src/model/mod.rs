//! Sizes of the built-in GPT presets (the network itself lives in the
//! trainer worker's crate, `tunix-torch`).

pub mod dims;
