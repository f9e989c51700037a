//! One module instance reused for many calls, as the services keep instances in a pool: with
//! the module's per-call allocation arena (`filter/src/arena.rs`), every message must get the
//! same answer whatever the instance answered before, and the instance's memory must stop
//! growing once it has seen the corpus in a couple of orders.

use ndr_host::FilterInstance;
use ndr_tests::{corpus, files_under, filter, messages_of};

/// Every message of the ordinary-mail and bounce folders (`ndr bench`'s two sets).
fn corpus_messages() -> Vec<Vec<u8>> {
    ["ham/eml", "bounces/eml"]
        .iter()
        .flat_map(|d| files_under(&corpus().join(d)))
        .flat_map(|p| messages_of(&p))
        .collect()
}

/// The corpus in order, then reversed, a stride through it, and odd positions before even ones.
fn orders(n: usize) -> Vec<Vec<usize>> {
    let stride = (2..n).find(|k| gcd(*k, n) == 1 && k * k > n).unwrap_or(1);
    vec![
        (0..n).collect(),
        (0..n).rev().collect(),
        (0..n).map(|i| i * stride % n).collect(),
        (0..n).filter(|i| i % 2 == 1).chain((0..n).filter(|i| i % 2 == 0)).collect(),
    ]
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// What one message gets: its report, and for some its prescreen answer and the module's info
/// (other exports in between, with their own first uses and result documents).
fn answers(instance: &mut FilterInstance, raw: &[u8], i: usize) -> (String, u64, Option<String>, Option<String>) {
    let report = instance.classify(raw, b"").expect("classify");
    let fuel = instance.fuel_used();
    let prescreen = (i % 7 == 0).then(|| instance.prescreen(raw, b"").expect("prescreen"));
    let info = (i % 101 == 0).then(|| instance.info().expect("info"));
    (report, fuel, prescreen, info)
}

#[test]
fn a_reused_instance_answers_every_message_alike_in_any_order_and_its_memory_stops_growing() {
    let messages = corpus_messages();
    assert!(messages.len() > 1000, "{} messages", messages.len());
    let mut reused = filter().instance().expect("instance");
    let mut first = vec![None; messages.len()];
    let (mut memory, mut steady_fuel) = (0, 0);
    for (pass, order) in orders(messages.len()).into_iter().enumerate() {
        let mut fuel = 0;
        for i in order {
            let (report, f, prescreen, info) = answers(&mut reused, &messages[i], i);
            fuel += f;
            let now = (report, prescreen, info);
            match &first[i] {
                None => first[i] = Some(now),
                Some(was) => assert!(*was == now, "pass {}: message {i} answered differently", pass + 1),
            }
        }
        let grown = reused.memory_bytes();
        eprintln!("pass {}: memory {grown} bytes, fuel {fuel}", pass + 1);
        // The first new order may still grow it a little (dlmalloc's large blocks fall
        // differently: the module without the arena does that too); after that, not a byte.
        match pass {
            0 => memory = grown,
            1 => {
                assert!(grown <= memory + (1 << 20), "pass 2: memory {grown} bytes, {memory} after pass 1");
                memory = grown;
            }
            _ => assert_eq!(grown, memory, "pass {}: the instance's memory grew", pass + 1),
        }
        // Every pass after the first costs the same (within a hair of allocator state): an
        // arena that switched itself off half way would cost several percent more.
        match pass {
            0 => {}
            1 => steady_fuel = fuel,
            _ => assert!(
                fuel.abs_diff(steady_fuel) * 1000 < steady_fuel,
                "pass {}: fuel {fuel} against {steady_fuel}",
                pass + 1
            ),
        }
    }
    // The first answers, from an instance that had answered everything before them, are each a
    // fresh instance's answers.
    for (i, m) in messages.iter().enumerate().step_by(3) {
        let mut fresh = filter().instance().expect("instance");
        let (report, _, prescreen, info) = answers(&mut fresh, m, i);
        assert!(first[i] == Some((report, prescreen, info)), "message {i}: a fresh instance answers differently");
    }
}
