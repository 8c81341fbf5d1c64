pub mod source;
pub mod text;
pub mod yaml;
