//! STIX patterns are written by whoever sends an indicator: any byte string
//! must parse or be refused, never panic, and whatever parses must give its
//! observables without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = geneva_stix::pattern::parse_pattern(text);
    let validated =
        geneva_stix::pattern::validate_pattern(text, geneva_stix::pattern::PatternVersion::V21);
    // Validation is parsing plus the semantic rules: it never accepts what
    // the grammar refuses.
    assert!(parsed.is_ok() || validated.is_err());
    if let Ok(found) = geneva_observables::extract::from_pattern(text) {
        for e in found.observables {
            // Every extracted value is a normalised observable: its key reads back.
            let key = e.observable.key();
            assert_eq!(
                geneva_observables::Observable::from_key(&key).as_ref(),
                Some(&e.observable),
                "{key}"
            );
        }
    }
});
