"""Tests of the Python package: the ABI as Python calls it, flufl.bounce's API, and the same answer
as the wasmtime host (`ndr scan --json`) on every message of the corpus."""

import email
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import ndr_filter

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "mail"
CORPUS = Path(os.environ.get("NDR_CORPUS", ROOT / "tests" / "corpus"))
NDR = Path(os.environ.get("NDR_BIN", ROOT / "target" / "release" / "ndr"))
NOW = 1_795_521_600


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def test_versions_and_reasons():
    info = ndr_filter.info()
    assert info["abi_major"] == 1
    assert ndr_filter.Filter().abi_version == (1, info["abi_minor"])
    assert "userunknown" in info["reasons"]


def test_a_bounce_is_read():
    report = ndr_filter.classify(sample("01-dsn-user-unknown.eml"), now=NOW)
    assert report["kind"] == "bounce"
    assert [(r["address"], r["status"], r["reason"]) for r in report["recipients"]] == [
        ("nobody@example.org", "5.1.1", "userunknown")
    ]


def test_status_codes_become_errors_with_their_code():
    with pytest.raises(ndr_filter.ModuleError) as bad_config:
        ndr_filter.batv_sign("a@example.com", {"batv": {"keys": [{"digit": 1, "secret_hex": "zz"}]}})
    assert (bad_config.value.code, bad_config.value.name) == (7, "bad_config")
    assert "zz" not in str(bad_config.value), "secrets never appear in errors"
    with pytest.raises(ndr_filter.ModuleError) as bad_json:
        ndr_filter.classify(b"Subject: x\n\nx\n", config={"no_such_section": {}})
    assert (bad_json.value.code, bad_json.value.name) == (4, "bad_json")


def test_an_exhausted_budget_replaces_the_instance():
    f = ndr_filter.Filter(fuel_base=1_000, fuel_per_byte=0)
    with pytest.raises(ndr_filter.BudgetExhausted):
        f.classify(sample("01-dsn-user-unknown.eml"), now=NOW)
    f.fuel_base = ndr_filter.FUEL_BASE
    assert f.classify(sample("01-dsn-user-unknown.eml"), now=NOW)["kind"] == "bounce"


def test_batv_and_srs_round_trip():
    config = {
        "batv": {"keys": [{"digit": 1, "secret": "python-test-key"}]},
        "srs": {"domain": "fwd.example.net", "secrets": ["python-test-secret"]},
    }
    signed = ndr_filter.batv_sign("alice@example.com", config, now=NOW)
    assert signed["signed"] and signed["address"].startswith("prvs=1")
    assert ndr_filter.batv_verify(signed["address"], config, now=NOW)["result"] == "valid"
    forged = signed["address"][:9] + "000000" + signed["address"][15:]
    assert ndr_filter.batv_verify(forged, config, now=NOW)["result"] == "bad_signature"
    rewritten = ndr_filter.srs_forward("bob@example.org", config, now=NOW)["address"]
    assert rewritten.endswith("@fwd.example.net")
    assert ndr_filter.srs_reverse(rewritten, config, now=NOW)["address"] == "bob@example.org"


def test_flufl_bounce_api():
    two = email.message_from_bytes(sample("02-dsn-two-recipients.eml"))
    temporary, permanent = ndr_filter.all_failures(two)
    assert temporary == set()
    assert permanent == {b"full@example.org", b"someone@no-such-domain.example"}
    assert ndr_filter.scan_message(two) == permanent
    delay = email.message_from_bytes(sample("03-delay-warning.eml"))
    assert ndr_filter.all_failures(delay) == ({b"carol@slow.example.org"}, set())
    assert ndr_filter.scan_message(delay) == set()
    # What flufl.bounce lacks: why, and whether to remove the address.
    reasons = ndr_filter.failures(two)
    assert reasons["full@example.org"]["reason"] == "mailboxfull"
    assert reasons["full@example.org"]["hard"] is False
    # Replies are no failures.
    for name in ("06-out-of-office.eml", "05-read-receipt.eml", "08-ordinary.eml"):
        assert ndr_filter.all_failures(email.message_from_bytes(sample(name))) == (set(), set()), name


@pytest.mark.skipif(not NDR.is_file(), reason="target/release/ndr is not built (NDR_BIN)")
def test_same_answer_as_the_wasmtime_host_on_the_whole_corpus():
    assert CORPUS.joinpath("README.md").is_file(), f"no corpus at {CORPUS}"
    with tempfile.TemporaryDirectory() as out:
        # `ndr split` gives each message of files, folders and mboxes a file of its own.
        subprocess.run([str(NDR), "split", str(CORPUS), "--out", out], check=True, capture_output=True)
        scanned = subprocess.run(
            [str(NDR), "scan", "--json", "--now", str(NOW), out], check=False, capture_output=True
        )
        assert scanned.returncode in (0, 1), scanned.stderr.decode(errors="replace")
        lines = [json.loads(line) for line in scanned.stdout.splitlines() if line.strip()]
        assert len(lines) >= 2000, f"only {len(lines)} messages"
        differ = []
        for host in lines:
            path = Path(host.pop("file"))
            host.pop("index")
            if host.get("error") and host.get("kind") is None:
                continue  # unreadable for the host: nothing to compare
            mine = ndr_filter.classify(path.read_bytes(), now=NOW)
            if mine != host:
                differ.append(path.name)
        assert not differ, f"{len(differ)} of {len(lines)} differ: {differ[:10]}"
