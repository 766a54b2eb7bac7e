//! Rotary position embedding's parameters and inverse frequencies as
//! `transformers.modeling_rope_utils` computes them: the base `rope_theta`
//! and the scaling named by `rope_scaling` (older configs) or
//! `rope_parameters` (transformers 5; `rope_scaling` wins when both are
//! set, as transformers' `convert_rope_params_to_dict` does). `default`,
//! `linear` (every frequency divided by `factor`) and `llama3` (Llama
//! 3.1/3.2: long wavelengths divided by `factor`, short ones kept, the band
//! between interpolated) are computed; `dynamic`, `yarn`, `longrope` and any
//! other type are refused by name, as is a partial rotary factor.

use std::path::Path;

use serde_json::{Map, Value};
use tch::{Device, Kind, Tensor};

use crate::hf::error::HfError;

/// How the inverse frequencies are scaled.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// `default`: `1 / theta^(2i/d)`.
    None,
    /// `linear`: the default frequencies divided by `factor`.
    Linear {
        /// The divisor.
        factor: f64,
    },
    /// `llama3`: frequencies whose wavelength exceeds
    /// `original_max_position_embeddings / low_freq_factor` divided by
    /// `factor`, those shorter than `.. / high_freq_factor` kept, the rest
    /// smoothly interpolated between the two.
    Llama3 {
        /// The divisor of the low frequencies.
        factor: f64,
        /// Sets the long-wavelength bound.
        low_freq_factor: f64,
        /// Sets the short-wavelength bound.
        high_freq_factor: f64,
        /// The context length the model was pretrained for.
        original_max_position_embeddings: f64,
    },
}

/// RoPE's base and scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    /// The base (`rope_theta`).
    pub theta: f64,
    /// The scaling of the frequencies.
    pub scaling: RopeScaling,
}

/// The RoPE keys of a `config.json` (its top-level object).
pub(crate) fn parse(config: &Map<String, Value>, file: &Path) -> Result<Rope, HfError> {
    let bad = |message: String| HfError::Config {
        file: file.to_path_buf(),
        message,
    };
    let non_empty = |key: &'static str| {
        config
            .get(key)
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
            .map(|m| (key, m))
    };
    let params = non_empty("rope_scaling").or_else(|| non_empty("rope_parameters"));
    let get = |name: &str| {
        params
            .and_then(|(_, p)| p.get(name))
            .filter(|v| !v.is_null())
    };
    let top = |name: &str| config.get(name).filter(|v| !v.is_null());
    let number = |value: Option<&Value>, name: &str| -> Result<Option<f64>, HfError> {
        match value {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| bad(format!("{name} must be a number, got {v}"))),
        }
    };
    let theta = match number(get("rope_theta"), "rope_theta")? {
        Some(t) => t,
        None => number(top("rope_theta"), "rope_theta")?.unwrap_or(10000.0),
    };
    if theta <= 0.0 {
        return Err(bad(format!("rope_theta must be positive, got {theta}")));
    }
    let partial = get("partial_rotary_factor").or_else(|| top("partial_rotary_factor"));
    if let Some(p) = number(partial, "partial_rotary_factor")?.filter(|&p| p != 1.0) {
        return Err(bad(format!("unsupported partial_rotary_factor {p}")));
    }
    let Some((key, _)) = params else {
        return Ok(Rope {
            theta,
            scaling: RopeScaling::None,
        });
    };
    let kind = match get("rope_type").or_else(|| get("type")) {
        None => "default",
        Some(v) => v
            .as_str()
            .ok_or_else(|| bad(format!("{key}.rope_type must be a string, got {v}")))?,
    };
    let required = |name: &str| -> Result<f64, HfError> {
        let v = number(get(name), &format!("{key}.{name}"))?
            .ok_or_else(|| bad(format!("{key}: rope_type `{kind}` needs `{name}`")))?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(bad(format!("{key}.{name} must be positive, got {v}")))
        }
    };
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear {
            factor: required("factor")?,
        },
        "llama3" => {
            let factor = required("factor")?;
            let (low, high) = (required("low_freq_factor")?, required("high_freq_factor")?);
            let original = match number(
                top("original_max_position_embeddings"),
                "original_max_position_embeddings",
            )? {
                Some(n) => n,
                None => match number(
                    get("original_max_position_embeddings"),
                    "original_max_position_embeddings",
                )? {
                    Some(n) => n,
                    None => number(top("max_position_embeddings"), "max_position_embeddings")?
                        .ok_or_else(|| {
                            bad(format!(
                                "{key}: rope_type `llama3` needs \
                                 `original_max_position_embeddings`"
                            ))
                        })?,
                },
            };
            if high <= low {
                return Err(bad(format!(
                    "{key}: high_freq_factor ({high}) must exceed low_freq_factor ({low})"
                )));
            }
            RopeScaling::Llama3 {
                factor,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: original,
            }
        }
        "dynamic" | "yarn" | "longrope" => {
            return Err(bad(format!(
                "unsupported {key}: rope_type `{kind}` (supported: default, linear, llama3)"
            )))
        }
        other => {
            return Err(bad(format!(
                "unknown {key}: rope_type `{other}` (supported: default, linear, llama3)"
            )))
        }
    };
    Ok(Rope { theta, scaling })
}

impl Rope {
    /// The inverse frequencies `[head_dim / 2]` (f32 on `device`), each
    /// step in transformers' order and precision: `1 / theta^(2i/d)`, then
    /// the scaling.
    pub fn inv_freq(&self, head_dim: i64, device: Device) -> Result<Tensor, HfError> {
        let opts = (Kind::Float, device);
        let exponent = Tensor::f_arange_start_step(0, head_dim, 2, (Kind::Int64, device))?
            .f_to_kind(Kind::Float)?
            .f_div_scalar(head_dim as f64)?;
        let inv_freq = Tensor::f_full([head_dim / 2], self.theta, opts)?
            .f_pow(&exponent)?
            .f_reciprocal()?;
        match self.scaling {
            RopeScaling::None => Ok(inv_freq),
            RopeScaling::Linear { factor } => Ok(inv_freq.f_div_scalar(factor)?),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: old,
            } => {
                let (low_wavelen, high_wavelen) = (old / low, old / high);
                let wavelen = inv_freq
                    .f_reciprocal()?
                    .f_mul_scalar(2.0 * std::f64::consts::PI)?;
                let long = wavelen.f_gt(low_wavelen)?;
                let scaled = inv_freq
                    .f_where_self(&long.f_logical_not()?, &inv_freq.f_div_scalar(factor)?)?;
                let smooth = wavelen
                    .f_reciprocal()?
                    .f_mul_scalar(old)?
                    .f_sub_scalar(low)?
                    .f_div_scalar(high - low)?;
                let smoothed = smooth
                    .f_neg()?
                    .f_add_scalar(1.0)?
                    .f_mul(&scaled)?
                    .f_div_scalar(factor)?
                    .f_add(&smooth.f_mul(&scaled)?)?;
                let medium = wavelen
                    .f_lt(high_wavelen)?
                    .f_logical_not()?
                    .f_logical_and(&long.f_logical_not()?)?;
                Ok(smoothed.f_where_self(&medium, &scaled)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rope(text: &str) -> Result<Rope, HfError> {
        let value: Value = serde_json::from_str(text).unwrap();
        parse(value.as_object().unwrap(), Path::new("m/config.json"))
    }

    fn freqs(r: &Rope) -> Vec<f32> {
        Vec::<f32>::try_from(r.inv_freq(8, Device::Cpu).unwrap()).unwrap()
    }

    #[test]
    fn theta_from_either_spelling_and_linear_divides() {
        let top = rope(r#"{"rope_theta": 500.0, "rope_scaling": null}"#).unwrap();
        assert_eq!((top.theta, &top.scaling), (500.0, &RopeScaling::None));
        let nested = rope(r#"{"rope_parameters": {"rope_type": "default", "rope_theta": 1e6}}"#);
        assert_eq!(nested.unwrap().theta, 1e6);
        let linear = rope(r#"{"rope_scaling": {"type": "linear", "factor": 4.0}}"#).unwrap();
        assert_eq!(linear.scaling, RopeScaling::Linear { factor: 4.0 });
        let plain = freqs(&rope("{}").unwrap());
        for (l, p) in freqs(&linear).iter().zip(&plain) {
            assert!((l * 4.0 - p).abs() < 1e-7, "{l} {p}");
        }
    }

    #[test]
    fn llama3_keeps_high_scales_low_and_smooths_between() {
        let r = rope(
            r#"{"max_position_embeddings": 64, "rope_parameters": {"rope_type": "llama3",
            "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}}"#,
        )
        .unwrap();
        let RopeScaling::Llama3 {
            original_max_position_embeddings,
            ..
        } = r.scaling
        else {
            panic!("{r:?}")
        };
        assert_eq!(original_max_position_embeddings, 64.0);
        let (got, plain) = (freqs(&r), freqs(&rope("{}").unwrap()));
        // Wavelengths 2π/f: 6.3 (< 16, kept), 63 (between), 628 and 6283 (> 64, / 8).
        assert_eq!(got[0], plain[0]);
        assert!(got[1] < plain[1] && got[1] > plain[1] / 8.0);
        assert!((got[2] * 8.0 - plain[2]).abs() < 1e-7);
        assert!((got[3] * 8.0 - plain[3]).abs() < 1e-7);
    }

    #[test]
    fn refusals_name_the_type() {
        for (text, want) in [
            (
                r#"{"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}"#,
                "yarn",
            ),
            (
                r#"{"rope_parameters": {"rope_type": "dynamic"}}"#,
                "dynamic",
            ),
            (r#"{"rope_scaling": {"rope_type": "longrope"}}"#, "longrope"),
            (
                r#"{"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}"#,
                "low_freq_factor",
            ),
            (r#"{"rope_scaling": {"rope_type": "linear"}}"#, "factor"),
            (r#"{"rope_scaling": {"rope_type": "nope"}}"#, "nope"),
            (r#"{"partial_rotary_factor": 0.5}"#, "partial_rotary_factor"),
        ] {
            let msg = rope(text).unwrap_err().to_string();
            assert!(msg.contains(want) && msg.contains("m/config.json"), "{msg}");
        }
    }
}
