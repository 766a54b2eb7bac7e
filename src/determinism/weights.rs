//! How far apart two safetensors files are, tensor by tensor: a pure
//! reader of the format (an 8-byte little-endian header length, a JSON
//! header naming each tensor's dtype, shape and byte range, then the data),
//! for reporting the weight difference of two runs that are not bit-exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The difference between two weight files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightDiff {
    /// Tensors in either file.
    pub n_tensors: usize,
    /// Tensors whose bytes differ (or that only one file has, or whose
    /// dtype or shape differ).
    pub n_differing: usize,
    /// Largest |a − b| over every element of the tensors both files hold
    /// with one float dtype and shape; infinite when a NaN meets a number.
    pub max_abs: f64,
    /// The tensor holding `max_abs`.
    pub worst_tensor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [usize; 2],
}

/// Compare two safetensors files given as bytes.
pub fn diff(a: &[u8], b: &[u8]) -> Result<WeightDiff> {
    let (ta, da) = parse(a)?;
    let (tb, db) = parse(b)?;
    let names: std::collections::BTreeSet<&String> = ta.keys().chain(tb.keys()).collect();
    let mut out = WeightDiff {
        n_tensors: names.len(),
        n_differing: 0,
        max_abs: 0.0,
        worst_tensor: None,
    };
    for name in names {
        let (Some(x), Some(y)) = (ta.get(name), tb.get(name)) else {
            out.n_differing += 1;
            continue;
        };
        let bx = slice(da, x, name)?;
        let by = slice(db, y, name)?;
        if x.dtype != y.dtype || x.shape != y.shape {
            out.n_differing += 1;
            continue;
        }
        if bx == by {
            continue;
        }
        out.n_differing += 1;
        if let Some(m) = max_abs(&x.dtype, bx, by) {
            if m > out.max_abs || out.worst_tensor.is_none() {
                out.max_abs = m;
                out.worst_tensor = Some(name.clone());
            }
        }
    }
    Ok(out)
}

type Header = BTreeMap<String, TensorInfo>;

fn parse(bytes: &[u8]) -> Result<(Header, &[u8])> {
    let bad = |why: &str| Error::runtime(format!("not a safetensors file: {why}"));
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("shorter than its header length"))?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("header too long"))?;
    let header = 8usize
        .checked_add(len)
        .and_then(|end| bytes.get(8..end))
        .ok_or_else(|| bad("header runs past the end"))?;
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    let mut tensors = Header::new();
    for (name, value) in raw {
        if name == "__metadata__" {
            continue;
        }
        let info: TensorInfo = serde_json::from_value(value).map_err(|e| bad(&e.to_string()))?;
        tensors.insert(name, info);
    }
    Ok((tensors, &bytes[8 + len..]))
}

fn slice<'a>(data: &'a [u8], info: &TensorInfo, name: &str) -> Result<&'a [u8]> {
    let [begin, end] = info.data_offsets;
    data.get(begin..end).ok_or_else(|| {
        Error::runtime(format!(
            "not a safetensors file: tensor `{name}` lies outside the data"
        ))
    })
}

/// Largest |a − b| of two equally long tensors of `dtype`; none for
/// dtypes that are not floats.
fn max_abs(dtype: &str, a: &[u8], b: &[u8]) -> Option<f64> {
    let decode: fn(&[u8]) -> f64 = match dtype {
        "F64" => |c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
        "F32" => |c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
        "BF16" => |c| {
            f64::from(f32::from_bits(
                u32::from(u16::from_le_bytes([c[0], c[1]])) << 16,
            ))
        },
        "F16" => |c| f64::from(f16_to_f32(u16::from_le_bytes([c[0], c[1]]))),
        _ => return None,
    };
    let width = match dtype {
        "F64" => 8,
        "F32" => 4,
        _ => 2,
    };
    let mut worst = 0.0f64;
    for (x, y) in a.chunks_exact(width).zip(b.chunks_exact(width)) {
        let (x, y) = (decode(x), decode(y));
        let d = match (x.is_nan(), y.is_nan()) {
            (true, true) => 0.0,
            (false, false) if x == y => 0.0,
            (false, false) => (x - y).abs(),
            _ => f64::INFINITY,
        };
        worst = worst.max(d);
    }
    Some(worst)
}

/// IEEE half precision to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    match (exp, mant) {
        (0, 0) => f32::from_bits(sign),
        (0, m) => {
            let v = m as f32 * 2f32.powi(-24);
            if sign == 0 {
                v
            } else {
                -v
            }
        }
        (31, m) => f32::from_bits(sign | 0x7f80_0000 | (m << 13)),
        (e, m) => f32::from_bits(sign | ((e + 112) << 23) | (m << 13)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file of F32 tensors.
    fn file(tensors: &[(&str, &[f32])]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, values) in tensors {
            let begin = data.len();
            for v in *values {
                data.extend_from_slice(&v.to_le_bytes());
            }
            header.insert(
                name.to_string(),
                serde_json::json!({
                    "dtype": "F32",
                    "shape": [values.len()],
                    "data_offsets": [begin, data.len()],
                }),
            );
        }
        let header = serde_json::to_vec(&header).expect("json");
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&header);
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn identical_files_do_not_differ() {
        let a = file(&[("w", &[1.0, 2.0]), ("b", &[0.5])]);
        let d = diff(&a, &a).expect("diff");
        assert_eq!((d.n_tensors, d.n_differing, d.max_abs), (2, 0, 0.0));
        assert_eq!(d.worst_tensor, None);
    }

    #[test]
    fn the_largest_element_difference_and_its_tensor_are_reported() {
        let a = file(&[("w", &[1.0, 2.0]), ("b", &[0.5])]);
        let b = file(&[("w", &[1.0, 2.25]), ("b", &[0.625])]);
        let d = diff(&a, &b).expect("diff");
        assert_eq!((d.n_tensors, d.n_differing), (2, 2));
        assert_eq!(d.max_abs, 0.25);
        assert_eq!(d.worst_tensor.as_deref(), Some("w"));
    }

    #[test]
    fn a_tensor_only_one_file_has_differs() {
        let a = file(&[("w", &[1.0])]);
        let b = file(&[("w", &[1.0]), ("extra", &[0.0])]);
        let d = diff(&a, &b).expect("diff");
        assert_eq!((d.n_tensors, d.n_differing), (2, 1));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(diff(b"abc", b"abc").is_err());
        let mut big = u64::MAX.to_le_bytes().to_vec();
        big.extend_from_slice(b"{}");
        assert!(diff(&big, &big).is_err());
    }

    #[test]
    fn half_precision_decodes() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
