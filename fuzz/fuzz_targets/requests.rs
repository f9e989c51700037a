//! The JSON request documents every host sends (ABI and JavaScript): the configuration parser
//! (site, policy, limits, BATV key ring, SRS) and each request handler. The first byte picks
//! the handler; the rest is the request, and for message requests also the message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndr_filter::requests;

const MESSAGE: &[u8] = b"From: MAILER-DAEMON@mx.example.org\nSubject: Undelivered Mail\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n\n--b--\n";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, request)) = data.split_first() else {
        return;
    };
    // Whatever the request, the answer is a document or a RequestError, never a panic.
    let answer = match pick % 7 {
        0 => requests::classify(MESSAGE, request),
        1 => requests::batv_sign(request),
        2 => requests::batv_verify(request),
        3 => requests::srs_forward(request),
        4 => requests::srs_reverse(request),
        5 => requests::should_bounce(MESSAGE, request),
        _ => requests::build_dsn(MESSAGE, request),
    };
    if let Ok(answer) = answer {
        serde_json::to_vec(&answer).expect("every answer serialises");
    }
});
