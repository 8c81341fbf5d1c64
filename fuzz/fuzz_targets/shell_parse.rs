//! The shell analyser on any text: it must never panic, and every word, assignment and
//! redirect target must map each of its bytes into the script, on a character boundary.
//! Links between commands must point at earlier commands, as documented.
#![no_main]

use kfpguard::analysis::shell;
use kfpguard::text::MappedText;
use libfuzzer_sys::fuzz_target;

fn check(script: &str, text: &MappedText, what: &str) {
    let decoded = text.as_str();
    for index in (0..=decoded.len()).filter(|&i| decoded.is_char_boundary(i)) {
        let offset = text.source_offset(index);
        assert!(offset <= script.len(), "{what} {decoded:?}: byte {index} maps to {offset}, past the script");
        assert!(script.is_char_boundary(offset), "{what} {decoded:?}: byte {index} maps inside a char ({offset})");
    }
    let range = text.source_span();
    assert!(range.start <= range.end && range.end <= script.len(), "{what} {decoded:?}: span {range:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else { return };
    let parsed = shell::parse(script);
    for (index, command) in parsed.commands.iter().enumerate() {
        for word in &command.words {
            check(script, word, "word");
        }
        for assignment in &command.assignments {
            check(script, &assignment.name, "assignment name");
            check(script, &assignment.value, "assignment value");
        }
        for redirect in &command.redirects {
            check(script, &redirect.target, "redirect target");
            let op = &redirect.op_span;
            assert!(op.start <= op.end && op.end <= script.len(), "redirect operator span {op:?}");
        }
        for (link, name) in [
            (command.pipe_from, "pipe_from"),
            (command.in_substitution, "in_substitution"),
            (command.nested_in, "nested_in"),
        ] {
            if let Some(target) = link {
                assert!(target < index, "command {index}: {name} = {target} is not an earlier command");
            }
        }
        if let Some(program) = command.program {
            assert!(program < command.words.len(), "command {index}: program index {program} out of range");
        }
        let _ = (command.program_name(), command.args(), command.redirect_texts());
    }
});
