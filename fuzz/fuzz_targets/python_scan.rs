//! The Python call recogniser on any text: it must never panic, every span it reports must
//! lie inside the source on character boundaries, and every decoded string must map each
//! of its bytes into the source on a character boundary.
#![no_main]

use std::ops::Range;

use kfpguard::analysis::python::{self, Value};
use kfpguard::text::MappedText;
use libfuzzer_sys::fuzz_target;

fn check_span(source: &str, span: &Range<usize>, what: &str) {
    assert!(span.start <= span.end && span.end <= source.len(), "{what} span {span:?} outside the source");
    assert!(
        source.is_char_boundary(span.start) && source.is_char_boundary(span.end),
        "{what} span {span:?} splits a char"
    );
}

fn check_text(source: &str, text: &MappedText, what: &str) {
    let decoded = text.as_str();
    for index in (0..=decoded.len()).filter(|&i| decoded.is_char_boundary(i)) {
        let offset = text.source_offset(index);
        assert!(offset <= source.len(), "{what} {decoded:?}: byte {index} maps to {offset}, past the source");
        assert!(source.is_char_boundary(offset), "{what} {decoded:?}: byte {index} maps inside a char ({offset})");
    }
}

fn check_value(source: &str, value: &Value, what: &str) {
    match value {
        Value::Str(text) => check_text(source, text, what),
        Value::List(items) => items.iter().for_each(|item| check_value(source, item, what)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let module = python::scan(source);
    for call in &module.calls {
        check_span(source, &call.span, "call");
        check_span(source, &call.callee_span, "callee");
        let _ = call.qualified();
        for arg in &call.args {
            check_span(source, &arg.span, "argument");
            check_span(source, &arg.value_span, "argument value");
            check_value(source, &arg.value, "argument");
            let _ = module.resolve(&arg.value, arg.span.start);
        }
        let _ = (call.positional(0), call.keyword("url"));
    }
    for text in &module.strings {
        check_text(source, text, "string");
    }
    for assignment in &module.assignments {
        check_span(source, &assignment.target_span, "assignment target");
        check_span(source, &assignment.value_span, "assignment value");
        check_value(source, &assignment.value, "assignment");
    }
    for import in &module.imports {
        check_span(source, &import.span, "import");
    }
});
