//! The built-in GPT model.

pub mod dims;
