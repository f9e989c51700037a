//! ABI conformance: the module loaded the way a foreign host would load it (plain wasmtime, only
//! the documented exports, no Rust types shared with the module), and the host's handling of
//! modules that trap, loop or grow memory.

use ndr_tests::{module_path, root};
use serde_json::Value;
use wasmtime::{Engine, Instance, Module, Store, Val};

/// A minimal foreign host: an instance and raw calls by export name.
struct Foreign {
    store: Store<()>,
    instance: Instance,
}

impl Foreign {
    fn new() -> Foreign {
        let engine = Engine::default();
        let module = Module::from_file(&engine, module_path()).expect("module compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates with no imports");
        Foreign { store, instance }
    }

    fn call(&mut self, name: &str, args: &[i32]) -> Option<i32> {
        let f = self.instance.get_func(&mut self.store, name).unwrap_or_else(|| panic!("export {name}"));
        let params: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        let mut results = vec![Val::I32(0); f.ty(&self.store).results().len()];
        f.call(&mut self.store, &params, &mut results).unwrap_or_else(|e| panic!("{name} trapped: {e}"));
        results.first().map(|v| v.unwrap_i32())
    }

    /// `ndr_alloc` + write.
    fn put(&mut self, bytes: &[u8]) -> (i32, i32) {
        let len = bytes.len() as i32;
        let ptr = self.call("ndr_alloc", &[len]).unwrap();
        assert_ne!(ptr, 0);
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        memory.write(&mut self.store, ptr as u32 as usize, bytes).unwrap();
        (ptr, len)
    }

    fn result(&mut self) -> Value {
        let ptr = self.call("ndr_result_ptr", &[]).unwrap() as u32 as usize;
        let len = self.call("ndr_result_len", &[]).unwrap() as u32 as usize;
        let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
        serde_json::from_slice(&memory.data(&self.store)[ptr..ptr + len]).expect("result is JSON")
    }

    fn classify(&mut self, msg: (i32, i32), req: (i32, i32)) -> (i32, Value) {
        let status = self.call("ndr_classify", &[msg.0, msg.1, req.0, req.1]).unwrap();
        (status, self.result())
    }
}

const DSN: &[u8] = include_bytes!("../../samples/mail/01-dsn-user-unknown.eml");

#[test]
fn the_module_imports_nothing_and_exports_exactly_what_the_spec_lists() {
    let engine = Engine::default();
    let module = Module::from_file(&engine, module_path()).unwrap();
    let imports: Vec<String> = module.imports().map(|i| format!("{}::{}", i.module(), i.name())).collect();
    assert!(imports.is_empty(), "the module imports {imports:?}");
    let spec = std::fs::read_to_string(root().join("docs/ABI.md")).unwrap();
    let mut documented: Vec<String> =
        spec.lines().filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`').map(str::to_string)).collect();
    documented.sort();
    let mut functions: Vec<String> =
        module.exports().filter(|e| e.ty().func().is_some()).map(|e| e.name().to_string()).collect();
    functions.sort();
    assert_eq!(functions, documented, "exported functions and docs/ABI.md disagree");
    let mut others: Vec<String> =
        module.exports().filter(|e| e.ty().func().is_none()).map(|e| e.name().to_string()).collect();
    others.sort();
    assert_eq!(others, ["__data_end", "__heap_base", "memory"], "other exports");
    assert!(spec.contains("`__data_end` and `__heap_base`"), "the linker globals are documented");
}

#[test]
fn versions_agree_between_module_spec_and_crate() {
    let mut m = Foreign::new();
    m.call("ndr_abi_v1", &[]);
    let v = m.call("ndr_abi_version", &[]).unwrap() as u32;
    assert_eq!((v >> 16, v & 0xffff), (ndr_filter::ABI_MAJOR, ndr_filter::ABI_MINOR));
    assert_eq!(ndr_host::ABI_MAJOR, ndr_filter::ABI_MAJOR);
    let spec = std::fs::read_to_string(root().join("docs/ABI.md")).unwrap();
    assert!(
        spec.contains(&format!("**ABI version {}.{}.**", v >> 16, v & 0xffff)),
        "docs/ABI.md names another version"
    );
    assert_eq!(m.call("ndr_info", &[]), Some(0));
    let info = m.result();
    assert_eq!(info["abi_major"], ndr_filter::ABI_MAJOR);
    assert_eq!(info["abi_minor"], ndr_filter::ABI_MINOR);
    assert_eq!(info["reasons"].as_array().unwrap().len(), ndr_filter::reason::REASONS.len());
}

#[test]
fn classify_with_defaults_and_with_a_request() {
    let mut m = Foreign::new();
    let msg = m.put(DSN);
    let (status, report) = m.classify(msg, (0, 0));
    assert_eq!(status, 0, "{report}");
    assert_eq!(report["kind"], "bounce");
    assert_eq!(report["recipients"][0]["status"], "5.1.1");
    let req = m.put(br#"{"envelope":{"mail_from":"","rcpt_to":["alice@example.com"]},"config":{"limits":{"max_recipients":1}},"now":1764000000}"#);
    let (status, again) = m.classify(msg, req);
    assert_eq!(status, 0);
    assert_eq!(again["recipients"], report["recipients"]);
    assert_eq!(m.call("ndr_free", &[msg.0, msg.1]), Some(0));
    assert_eq!(m.call("ndr_free", &[req.0, req.1]), Some(0));
}

#[test]
fn message_and_request_may_share_one_buffer() {
    let mut m = Foreign::new();
    let mut both = DSN.to_vec();
    both.extend_from_slice(b"{\"now\":5}");
    let (ptr, _) = m.put(&both);
    let (status, report) = m.classify((ptr, DSN.len() as i32), (ptr + DSN.len() as i32, 9));
    assert_eq!(status, 0, "{report}");
    assert_eq!(report["kind"], "bounce");
}

#[test]
fn every_status_code() {
    let mut m = Foreign::new();
    let msg = m.put(DSN);
    let expect = |(status, doc): (i32, Value), code: i32, name: &str| {
        assert_eq!(status, code, "{doc}");
        assert_eq!(doc["error"]["code"], code);
        assert_eq!(doc["error"]["name"], name);
        assert!(doc["error"]["message"].as_str().is_some_and(|s| !s.is_empty()));
    };
    // 1 bad_pointer: an address outside every buffer, and one past the end of memory.
    expect(m.classify((8, 10), (0, 0)), 1, "bad_pointer");
    expect(m.classify((i32::MAX, 10), (0, 0)), 1, "bad_pointer");
    expect(m.classify((-16, 10), (0, 0)), 1, "bad_pointer");
    // 2 bad_length: negative, and past the end of its buffer.
    expect(m.classify((msg.0, -1), (0, 0)), 2, "bad_length");
    expect(m.classify((msg.0, msg.1 + 1), (0, 0)), 2, "bad_length");
    expect(m.classify((msg.0, i32::MAX), (0, 0)), 2, "bad_length");
    // 3 bad_utf8.
    let bad = m.put(b"{\"now\": \xff}");
    expect(m.classify(msg, bad), 3, "bad_utf8");
    // 4 bad_json: not JSON, a wrong type, an unknown field.
    for doc in [&b"{not json"[..], br#"{"now":"soon"}"#, br#"{"confg":{}}"#, br#"{"config":{"limits":{"max_flux":1}}}"#]
    {
        let req = m.put(doc);
        expect(m.classify(msg, req), 4, "bad_json");
    }
    // 5 unknown_buffer: a wrong length, an address that is no buffer, a double free.
    assert_eq!(m.call("ndr_free", &[msg.0, msg.1 - 1]), Some(5));
    assert_eq!(m.call("ndr_free", &[12345, 1]), Some(5));
    assert_eq!(m.call("ndr_free", &[msg.0, msg.1]), Some(0));
    assert_eq!(m.call("ndr_free", &[msg.0, msg.1]), Some(5));
    // A freed buffer is no longer readable.
    expect(m.classify(msg, (0, 0)), 1, "bad_pointer");
    // 6 internal is reserved for a bug and cannot be provoked; ndr_alloc refuses what it can't give.
    assert_eq!(m.call("ndr_alloc", &[-1]), Some(0));
    assert_eq!(m.call("ndr_alloc", &[(1 << 30) + 1]), Some(0));
    // After every error the instance still works.
    let msg = m.put(DSN);
    assert_eq!(m.classify(msg, (0, 0)).0, 0);
}

#[test]
fn hostile_messages_get_reports_not_errors() {
    let mut m = Foreign::new();
    let nested = "Content-Type: message/rfc822\n\n".repeat(10_000);
    let samples: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0u8; 1000],
        b"\xff\xfe\x00garbage".to_vec(),
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n".to_vec(),
        nested.into_bytes(),
    ];
    for raw in samples {
        let msg = if raw.is_empty() { (0, 0) } else { m.put(&raw) };
        let (status, report) = m.classify(msg, (0, 0));
        assert_eq!(status, 0, "{report}");
        assert!(report["kind"].is_string());
    }
}

/// A stand-in module with the ABI's exports whose `ndr_classify` misbehaves as given.
fn hostile_module(classify_body: &str) -> ndr_host::Filter {
    let wat = format!(
        r#"(module
          (memory (export "memory") 1)
          (func (export "ndr_abi_v1"))
          (func (export "ndr_abi_version") (result i32) i32.const 65536)
          (func (export "ndr_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "ndr_free") (param i32 i32) (result i32) i32.const 0)
          (func (export "ndr_result_ptr") (result i32) i32.const 0)
          (func (export "ndr_result_len") (result i32) i32.const 0)
          (func (export "ndr_info") (result i32) i32.const 0)
          (func (export "ndr_classify") (param i32 i32 i32 i32) (result i32) {classify_body}))"#
    );
    let budget = ndr_host::Budget { fuel_base: 1_000_000, fuel_per_byte: 10, memory_bytes: 4 << 20 };
    ndr_host::Filter::from_bytes(wat.as_bytes(), budget).expect("test module compiles")
}

#[test]
fn host_survives_traps_endless_loops_and_memory_hogs() {
    let cases = [
        ("unreachable", "trap"),
        ("(loop (br 0)) i32.const 0", "budget"),
        ("(drop (memory.grow (i32.const 1000))) (i32.store (i32.const 70000000) (i32.const 1)) i32.const 0", "trap"),
    ];
    for (body, want) in cases {
        let filter = hostile_module(body);
        let mut instance = filter.instance().unwrap();
        let err = instance.classify(b"Subject: x\n\ny\n", b"").expect_err(body);
        match (want, &err) {
            ("trap", ndr_host::CallError::Trap(_)) | ("budget", ndr_host::CallError::Budget) => {}
            _ => panic!("{body}: got {err:?}"),
        }
        assert!(instance.is_poisoned());
        assert!(instance.classify(b"x", b"").is_err(), "a poisoned instance refuses further calls");
        assert!(filter.instance().is_ok(), "a fresh instance can be made after a failure");
    }
}

#[test]
fn modules_with_imports_or_without_the_marker_are_refused() {
    let with_import = r#"(module (import "env" "f" (func)) (func (export "ndr_abi_v1")))"#;
    let err = ndr_host::Filter::from_bytes(with_import.as_bytes(), Default::default()).err().unwrap();
    assert!(err.to_string().contains("imports env::f"), "{err}");
    let without_marker = r#"(module (memory (export "memory") 1))"#;
    let err = ndr_host::Filter::from_bytes(without_marker.as_bytes(), Default::default()).err().unwrap();
    assert!(err.to_string().contains("ndr_abi_v1"), "{err}");
}

#[test]
fn the_host_library_reuses_instances_and_reports_module_errors() {
    let filter = ndr_tests::filter();
    let mut instance = filter.instance().unwrap();
    for _ in 0..3 {
        let doc: Value = serde_json::from_str(&instance.classify(DSN, b"").unwrap()).unwrap();
        assert_eq!(doc["kind"], "bounce");
    }
    match instance.classify(DSN, b"{\"bogus\":1}") {
        Err(ndr_host::CallError::Module { code: 4, name, .. }) => assert_eq!(name, "bad_json"),
        other => panic!("{other:?}"),
    }
    assert!(!instance.is_poisoned());
    assert_eq!(instance.abi_version().unwrap(), (ndr_filter::ABI_MAJOR, ndr_filter::ABI_MINOR));
}

#[test]
fn batv_and_srs_exports() {
    let mut m = Foreign::new();
    let config = r#"{"batv":{"keys":[{"digit":0,"secret":"secret"}],"mode":"exact"},"srs":{"domain":"example.com","secrets":["tops3cr3t"]}}"#;
    let ask = |m: &mut Foreign, export: &str, address: &str, now: u64| {
        let req = format!(r#"{{"config":{config},"address":"{address}","now":{now}}}"#);
        let (ptr, len) = m.put(req.as_bytes());
        let status = m.call(export, &[ptr, len]).unwrap();
        (status, m.result())
    };
    let (status, signed) = ask(&mut m, "ndr_batv_sign", "userx@test.ex", 1577836860);
    assert_eq!((status, signed["address"].as_str()), (0, Some("prvs=02694aa88d=userx@test.ex")));
    let (_, verified) = ask(&mut m, "ndr_batv_verify", "prvs=02694aa88d=userx@test.ex", 1577836860 + 8 * 86400);
    assert_eq!((verified["result"].as_str(), verified["days_past"].as_u64()), (Some("expired"), Some(1)));
    let (_, fwd) = ask(&mut m, "ndr_srs_forward", "test@otherdomain.com", 1577836860);
    assert_eq!(fwd["address"], "SRS0=vmyz=2W=otherdomain.com=test@example.com");
    let (_, rev) = ask(&mut m, "ndr_srs_reverse", "SRS0=FAKE=2V=otherdomain.com=test@example.com", 1577836860);
    assert_eq!((rev["address"].is_null(), rev["error"].as_str()), (true, Some("bad_hash")));
}

#[test]
fn request_exports_report_bad_json_and_bad_config() {
    let mut m = Foreign::new();
    let call = |m: &mut Foreign, export: &str, req: &str| {
        let (ptr, len) = m.put(req.as_bytes());
        (m.call(export, &[ptr, len]).unwrap(), m.result())
    };
    for export in ["ndr_batv_sign", "ndr_batv_verify", "ndr_srs_forward", "ndr_srs_reverse"] {
        let (status, doc) = call(&mut m, export, r#"{"adress":"x@y.example"}"#);
        assert_eq!((status, doc["error"]["name"].as_str()), (4, Some("bad_json")), "{export}");
        let (status, doc) = call(&mut m, export, r#"{"address":"x@y.example"}"#);
        assert_eq!((status, doc["error"]["name"].as_str()), (7, Some("bad_config")), "{export}: {doc}");
        assert_eq!(m.call(export, &[12, 5]), Some(1), "{export}: bad pointer");
        assert_eq!(m.call(export, &[0, -3]), Some(2), "{export}: bad length");
    }
    let long_key = "k".repeat(65);
    let req =
        format!(r#"{{"config":{{"batv":{{"keys":[{{"digit":4,"secret":"{long_key}"}}]}}}},"address":"a@b.example"}}"#);
    let (status, doc) = call(&mut m, "ndr_batv_sign", &req);
    assert_eq!(status, 7);
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("key 4") && !message.contains(&long_key), "{message}");
    let (ptr, len) = m.put(b"{\"address\": \"\xff\"}");
    assert_eq!(m.call("ndr_srs_forward", &[ptr, len]), Some(3), "bad UTF-8");
}

#[test]
fn should_bounce_and_build_dsn_exports() {
    let mut m = Foreign::new();
    let original =
        b"From: alice@example.com\nTo: bob@remote.example\nSubject: hi\nMessage-ID: <m1@example.com>\n\nHello\n";
    let msg = m.put(original);
    let req = m.put(
        br#"{"envelope":{"mail_from":"alice@example.com","rcpt_to":["bob@remote.example"]},"context":{"spf":"pass"}}"#,
    );
    let (status, doc) = m.classify_with("ndr_should_bounce", msg, req);
    assert_eq!((status, doc["decision"].as_str(), doc["reason"].as_str()), (0, Some("send"), Some("sender_verified")));
    let req = m.put(br#"{"envelope":{"mail_from":"","rcpt_to":["bob@remote.example"]}}"#);
    assert_eq!(m.classify_with("ndr_should_bounce", msg, req).1["decision"], "drop");
    let req = m.put(br#"{"envelope":{"mail_from":"alice@example.com"},"failure":{"recipients":[{"address":"bob@remote.example","status":"5.1.1","diagnostic":"550 5.1.1 no such user"}],"reporting_mta":"mx1.example.com"},"now":1795478400}"#);
    let (status, dsn) = m.classify_with("ndr_build_dsn", msg, req);
    assert_eq!((status, dsn["mail_from"].as_str()), (0, Some("")));
    let text = dsn["message"].as_str().unwrap().as_bytes().to_vec();
    let back = m.put(&text);
    let (status, report) = m.classify(back, (0, 0));
    assert_eq!(
        (status, report["kind"].as_str(), report["recipients"][0]["status"].as_str()),
        (0, Some("bounce"), Some("5.1.1"))
    );
    let req = m.put(br#"{"envelope":{"mail_from":""},"failure":{"recipients":[]}}"#);
    assert_eq!(m.classify_with("ndr_build_dsn", msg, req).0, 4);
}

impl Foreign {
    fn classify_with(&mut self, export: &str, msg: (i32, i32), req: (i32, i32)) -> (i32, Value) {
        let status = self.call(export, &[msg.0, msg.1, req.0, req.1]).unwrap();
        (status, self.result())
    }
}

#[test]
fn a_precompiled_module_loads_and_answers_as_the_compiled_one() {
    let wasm = std::fs::read(ndr_tests::module_path()).unwrap();
    let precompiled = ndr_host::Filter::precompile(&wasm).unwrap();
    // SAFETY: the bytes were just made by `precompile` and never left this process.
    let loaded = unsafe { ndr_host::Filter::from_precompiled(&precompiled, Default::default()) }.unwrap();
    let sample = std::fs::read(ndr_tests::root().join("samples/mail/01-dsn-user-unknown.eml")).unwrap();
    let request = br#"{"now": 1795521600}"#;
    assert_eq!(
        loaded.instance().unwrap().classify(&sample, request).unwrap(),
        ndr_tests::filter().instance().unwrap().classify(&sample, request).unwrap()
    );
    // Bytes that are not a precompiled module are refused, not run.
    // SAFETY: wasmtime checks the header before it maps any code; these bytes fail that check.
    assert!(unsafe { ndr_host::Filter::from_precompiled(&wasm, Default::default()) }.is_err());
    assert!(
        unsafe { ndr_host::Filter::from_precompiled(&precompiled[..precompiled.len() / 2], Default::default()) }
            .is_err()
    );
}
