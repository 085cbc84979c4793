//! Fuzz target for the CLIXML deserializer ([MS-PSRP] 2.2.5): any input
//! either fails with an error or parses; what parses re-serializes to a
//! document that parses again and serializes identically (the serializer's
//! output is a fixed point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use psrp::clixml;

fuzz_target!(|data: &[u8]| {
    for value in clixml::Reader::new(data) {
        let Ok(value) = value else { break };
        let once = clixml::to_string(&value);
        let again = clixml::from_str(&once).expect("serializer output parses");
        assert_eq!(clixml::to_string(&again), once);
    }
    let _ = clixml::from_slice(data);
});
