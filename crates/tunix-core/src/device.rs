//! The device a Train spec (and a trainer request) asks for: `auto`,
//! `cpu`, `cuda` or `cuda:N`, written and read exactly as those strings.
//! What a run recorded it ran on stays text (`cpu`, `cuda:0`, `none`, or
//! whatever a command trainer reports).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a job asks to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceSpec {
    /// CUDA when available, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// `cuda` (device 0, and no fallback) or `cuda:N`.
    Cuda(Option<u32>),
}

impl DeviceSpec {
    /// Whether the job may use a GPU (anything but `cpu`).
    pub fn may_use_gpu(self) -> bool {
        self != DeviceSpec::Cpu
    }

    /// Whether this is the default, `auto`.
    pub fn is_auto(&self) -> bool {
        *self == DeviceSpec::Auto
    }
}

/// Not one of `auto`, `cpu`, `cuda`, `cuda:N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device `{0}` is not auto, cpu, cuda or cuda:N")]
pub struct UnknownDevice(pub String);

impl FromStr for DeviceSpec {
    type Err = UnknownDevice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(None)),
            _ => s
                .strip_prefix("cuda:")
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
                .map(|n| DeviceSpec::Cuda(Some(n)))
                .ok_or_else(|| UnknownDevice(s.to_string())),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(None) => f.write_str("cuda"),
            DeviceSpec::Cuda(Some(n)) => write!(f, "cuda:{n}"),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A string, as the field always was; the fields that hold one add the
/// pattern (`auto|cpu|cuda(:N)?`) and their description.
impl JsonSchema for DeviceSpec {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("DeviceSpec")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips_as_the_same_string() {
        for text in ["auto", "cpu", "cuda", "cuda:0", "cuda:12"] {
            let spec: DeviceSpec = text.parse().expect(text);
            assert_eq!(spec.to_string(), text);
            let json = serde_json::to_value(spec).expect("json");
            assert_eq!(json, serde_json::json!(text));
            assert_eq!(
                serde_json::from_value::<DeviceSpec>(json).expect("back"),
                spec
            );
        }
        assert_eq!(DeviceSpec::default(), DeviceSpec::Auto);
        assert!(!DeviceSpec::Cpu.may_use_gpu() && DeviceSpec::Auto.may_use_gpu());
    }

    #[test]
    fn other_spellings_are_refused_by_name() {
        for text in ["gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cpu:0", ""] {
            let err = text.parse::<DeviceSpec>().expect_err(text);
            assert_eq!(
                err.to_string(),
                format!("device `{text}` is not auto, cpu, cuda or cuda:N")
            );
        }
        let err = serde_json::from_str::<DeviceSpec>("\"tpu\"").expect_err("tpu");
        assert!(
            err.to_string().contains("device `tpu` is not auto"),
            "{err}"
        );
    }
}
