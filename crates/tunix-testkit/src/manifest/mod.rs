//! Typed manifest builders for tests: a Train or Sweep manifest is built
//! on the real `tunix_core::manifest` types ([`TrainManifestBuilder`],
//! [`SweepManifestBuilder`]) and written out as YAML ([`to_yaml`]), so a
//! renamed or retyped field breaks the tests' manifests at compile time
//! instead of leaving a stale key in a string. A key a test does not set
//! keeps the value the manifest format gives an omitted key, and the YAML
//! leaves it out, as a person would. Tests whose point is the text itself
//! (malformed YAML, the line and column of a message) keep literal YAML.

mod sweep;
mod train;

pub use sweep::SweepManifestBuilder;
pub use train::TrainManifestBuilder;

pub use tunix_core::manifest::common::ParamValue;
pub use tunix_core::manifest::slurm::SlurmSpec;
pub use tunix_core::manifest::sweep::{
    AshaConfig, Distribution, HyperbandConfig, MaxRetries, Mode, Scheduler, TpeConfig,
};
pub use tunix_core::manifest::train::{DatasetName, ModelPreset, OverlapPolicy};
pub use tunix_core::manifest::{SweepManifest, TrainManifest};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// `manifest` as YAML, the way a user writes it: only the keys whose value
/// differs from what leaving the key out means, plain mappings (enums as
/// `{loguniform: [...]}`, never YAML tags), keys in the types' order.
pub fn to_yaml<T>(manifest: &T) -> String
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    // Through a JSON value: serde_yaml writes an enum variant as a YAML
    // tag (`!loguniform`), which the manifest loader does not read.
    let mut value = serde_json::to_value(manifest).expect("a manifest serializes to JSON");
    let same = |candidate: &Value| {
        serde_json::from_value::<T>(candidate.clone()).is_ok_and(|m| m == *manifest)
    };
    drop_defaults(&mut value, &mut Vec::new(), &same);
    serde_yaml::to_string(&value).expect("a JSON value serializes to YAML")
}

/// Remove every key under the object at `path` whose removal leaves the
/// document meaning the same (`same`): a whole section at once where it
/// can, else key by key inside it.
fn drop_defaults(root: &mut Value, path: &mut Vec<String>, same: &dyn Fn(&Value) -> bool) {
    let pointer = json_pointer(path);
    let Some(Value::Object(object)) = root.pointer(&pointer) else {
        return;
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        let slot = root
            .pointer_mut(&pointer)
            .expect("the object is still there");
        let before = slot.clone();
        if let Value::Object(object) = slot {
            object.retain(|k, _| *k != key);
        }
        if same(root) {
            continue;
        }
        *root
            .pointer_mut(&pointer)
            .expect("the object is still there") = before;
        path.push(key);
        drop_defaults(root, path, same);
        path.pop();
    }
}

/// The JSON Pointer of `path`'s keys.
fn json_pointer(path: &[String]) -> String {
    path.iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// `T` with only its `required` keys given: every other field takes the
/// default the manifest format gives an omitted key.
fn with_defaults<T: DeserializeOwned>(what: &str, required: serde_json::Value) -> T {
    serde_json::from_value(required)
        .unwrap_or_else(|e| panic!("{what} with only its required keys: {e}"))
}

/// A value a sweep searches or overrides, or a command trainer's own
/// parameter: an integer, a real number, a boolean or a name.
pub trait Param {
    fn param(self) -> ParamValue;
}

impl Param for ParamValue {
    fn param(self) -> ParamValue {
        self
    }
}

impl Param for i64 {
    fn param(self) -> ParamValue {
        ParamValue::Int(self)
    }
}

impl Param for i32 {
    fn param(self) -> ParamValue {
        ParamValue::Int(i64::from(self))
    }
}

impl Param for u32 {
    fn param(self) -> ParamValue {
        ParamValue::Int(i64::from(self))
    }
}

impl Param for f64 {
    fn param(self) -> ParamValue {
        ParamValue::Float(self)
    }
}

impl Param for bool {
    fn param(self) -> ParamValue {
        ParamValue::Bool(self)
    }
}

impl Param for &str {
    fn param(self) -> ParamValue {
        ParamValue::Text(self.to_string())
    }
}

/// `{ uniform: [low, high] }`.
pub fn uniform(low: f64, high: f64) -> Distribution {
    Distribution::Uniform([low, high])
}

/// `{ loguniform: [low, high] }`.
pub fn loguniform(low: f64, high: f64) -> Distribution {
    Distribution::Loguniform([low, high])
}

/// `{ randint: [low, high] }`.
pub fn randint(low: i64, high: i64) -> Distribution {
    Distribution::Randint([low, high])
}

/// `{ choice: [values...] }`.
pub fn choice<P: Param>(values: impl IntoIterator<Item = P>) -> Distribution {
    Distribution::Choice(values.into_iter().map(Param::param).collect())
}

/// `{ grid: [values...] }`.
pub fn grid<P: Param>(values: impl IntoIterator<Item = P>) -> Distribution {
    Distribution::Grid(values.into_iter().map(Param::param).collect())
}

#[cfg(test)]
mod tests;
