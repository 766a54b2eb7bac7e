//! Concrete model sizes: the preset table lives in [`crate::presets`]; this
//! module keeps the old paths working until `model/` moves to its own crate.

pub use crate::presets::ModelDims;

use crate::manifest::train::ModelConfig;

impl ModelDims {
    /// The preset's sizes with the manifest's overrides applied; same as
    /// [`ModelConfig::dims`].
    pub fn resolve(config: &ModelConfig) -> Self {
        config.dims()
    }
}
