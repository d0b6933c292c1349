//! Feeds arbitrary bytes to every space's printed-form and JSON parsers: they must never panic, and what
//! they accept must print back to text that parses to the same architecture.
//! Run with `cargo fuzz run parse_architectures` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nasforge_core::SearchSpace;
use nasforge_core::space::{ChainSpace, DartsSpace, Nb201Space};

fn check<S: SearchSpace>(space: &S, text: &str) {
    if let Ok(arch) = space.parse(text) {
        let printed = space.print(&arch);
        assert_eq!(space.parse(&printed).as_ref(), Ok(&arch), "{printed}");
        space.canonical(&arch);
    }
    if let Ok(arch) = space.from_json(text) {
        assert_eq!(space.from_json(&space.to_json(&arch)).as_ref(), Ok(&arch));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(&Nb201Space, text);
        check(&ChainSpace::default(), text);
        check(&DartsSpace::default(), text);
    }
});
