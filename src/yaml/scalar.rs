//! Temporary coarse mapping; replaced by the precise scalar mapper.
use crate::text::MappedText;
use saphyr_parser::ScalarStyle;
pub fn map_scalar(_source: &str, start: usize, end: usize, _style: ScalarStyle, value: &str) -> MappedText {
    let mut text = MappedText::new();
    text.push_decoded(value, start..end);
    text
}
