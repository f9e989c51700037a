"""The ndr-filter module for Python: bounces, auto-replies and backscatter.

The same zero-import WebAssembly module that ``ndr``, the milter and the npm package load, run
here by wasmtime's Python bindings, so every host gives the same answer for the same message.
The ABI is ``docs/ABI.md`` of the project.

>>> import ndr_filter
>>> report = ndr_filter.classify(raw_bytes)                  # doctest: +SKIP
>>> report["kind"], [r["reason"] for r in report["recipients"]]  # doctest: +SKIP

For Mailman and other users of flufl.bounce, :func:`scan_message` and :func:`all_failures` take
an ``email.message.Message`` and answer as flufl.bounce does (sets of byte addresses), and
:func:`failures` adds what flufl.bounce lacks: each address's reason, status and hard/soft.
"""

from __future__ import annotations

import json
import threading
import time
from email.message import Message
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Union

import wasmtime

__all__ = [
    "Filter",
    "ModuleError",
    "BudgetExhausted",
    "ModuleTrap",
    "classify",
    "batv_sign",
    "batv_verify",
    "srs_forward",
    "srs_reverse",
    "info",
    "scan_message",
    "all_failures",
    "failures",
]

# The ABI's status codes (docs/ABI.md, "Status codes"): append-only.
STATUS_NAMES = {
    1: "bad_pointer",
    2: "bad_length",
    3: "bad_utf8",
    4: "bad_json",
    5: "unknown_buffer",
    6: "internal",
    7: "bad_config",
}

ABI_MAJOR = 1
# The host's default budget (ndr-host's Budget): a fixed amount of fuel per call, more per input
# byte, and a ceiling on linear memory.
FUEL_BASE = 200_000_000
FUEL_PER_BYTE = 5_000
MEMORY_BYTES = 512 << 20


class ModuleError(Exception):
    """The module refused a call with an ABI status code (``code``, ``name``)."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(f"module error {code} ({name}): {message}")
        self.code = code
        self.name = name
        self.message = message


class BudgetExhausted(Exception):
    """The call ran out of fuel (its CPU budget); the instance was replaced."""


class ModuleTrap(Exception):
    """The module trapped or hit its memory limit; the instance was replaced."""


def _module_path() -> Path:
    return Path(str(resources.files(__name__).joinpath("ndr_filter.wasm")))


class Filter:
    """One compiled module and one instance of it. Calls are serialised by a lock: an instance
    serves one call at a time (docs/ABI.md). Use one Filter per thread for parallel work."""

    def __init__(
        self,
        module: Union[str, Path, bytes, None] = None,
        *,
        fuel_base: int = FUEL_BASE,
        fuel_per_byte: int = FUEL_PER_BYTE,
        memory_bytes: int = MEMORY_BYTES,
    ):
        config = wasmtime.Config()
        config.consume_fuel = True
        self._engine = wasmtime.Engine(config)
        if isinstance(module, bytes):
            self._module = wasmtime.Module(self._engine, module)
        else:
            self._module = wasmtime.Module.from_file(self._engine, str(module or _module_path()))
        names = {e.name for e in self._module.exports}
        if "ndr_abi_v1" not in names:
            raise ModuleError(0, "no_abi", "the module does not export ndr_abi_v1")
        self.fuel_base = fuel_base
        self.fuel_per_byte = fuel_per_byte
        self.memory_bytes = memory_bytes
        self._lock = threading.Lock()
        self._instantiate()
        version = self._call("ndr_abi_version")
        self.abi_version = (version >> 16, version & 0xFFFF)
        if self.abi_version[0] != ABI_MAJOR:
            raise ModuleError(0, "abi_major", f"ABI {self.abi_version[0]}, this package speaks {ABI_MAJOR}")

    def _instantiate(self) -> None:
        self._store = wasmtime.Store(self._engine)
        self._store.set_limits(memory_size=self.memory_bytes)
        self._store.set_fuel(self.fuel_base)
        self._instance = wasmtime.Instance(self._store, self._module, [])
        self._exports = self._instance.exports(self._store)
        self._memory = self._exports["memory"]

    def _call(self, name: str, *args: int) -> int:
        return self._exports[name](self._store, *args)

    def _put(self, data: bytes) -> tuple:
        ptr = self._call("ndr_alloc", len(data))
        if ptr == 0:
            raise ModuleTrap(f"ndr_alloc({len(data)}) failed: the module's memory is exhausted")
        if data:
            self._memory.write(self._store, data, ptr)
        return ptr, len(data)

    def _result(self) -> bytes:
        ptr, length = self._call("ndr_result_ptr"), self._call("ndr_result_len")
        return bytes(self._memory.read(self._store, ptr, ptr + length))

    def _guarded(self, input_len: int, run) -> Any:
        """One call under the budget; a trap or exhausted fuel discards the instance."""
        with self._lock:
            self._store.set_fuel(self.fuel_base + self.fuel_per_byte * input_len)
            try:
                status = run()
                document = self._result()
            except wasmtime.Trap as trap:
                self._instantiate()
                if trap.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
                    raise BudgetExhausted("CPU budget exhausted") from None
                raise ModuleTrap(str(trap)) from None
            except wasmtime.WasmtimeError as err:
                self._instantiate()
                raise ModuleTrap(str(err)) from None
        answer = json.loads(document)
        if status != 0:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise ModuleError(status, STATUS_NAMES.get(status, "unknown"), error.get("message", ""))
        return answer

    def _message_request(self, export: str, raw: bytes, request: dict) -> Any:
        req = json.dumps(request).encode()

        def run() -> int:
            msg, rq = self._put(raw), self._put(req)
            status = self._call(export, msg[0], msg[1], rq[0], rq[1])
            self._call("ndr_free", *msg)
            self._call("ndr_free", *rq)
            return status

        return self._guarded(len(raw) + len(req), run)

    def _request(self, export: str, request: dict) -> Any:
        req = json.dumps(request).encode()

        def run() -> int:
            rq = self._put(req)
            status = self._call(export, *rq)
            self._call("ndr_free", *rq)
            return status

        return self._guarded(len(req), run)

    def classify(
        self,
        raw: bytes,
        envelope: Optional[dict] = None,
        config: Optional[dict] = None,
        now: Optional[int] = None,
    ) -> dict:
        """The report for one message (RFC 5322 bytes): kind, recipients with reasons, the
        returned original, and the backscatter verdict. ``envelope``: ``{"mail_from": "",
        "rcpt_to": [...], "client_ip": ..., "helo": ...}``; ``config``: the site configuration
        (docs/ABI.md); ``now``: Unix seconds (default: the clock)."""
        request: dict = {"now": int(time.time()) if now is None else now}
        if envelope is not None:
            request["envelope"] = envelope
        if config is not None:
            request["config"] = config
        return self._message_request("ndr_classify", bytes(raw), request)

    def _address(self, export: str, address: str, config: dict, now: Optional[int], **extra) -> dict:
        request = {"config": config, "address": address, "now": int(time.time()) if now is None else now}
        request.update({k: v for k, v in extra.items() if v is not None})
        return self._request(export, request)

    def batv_sign(self, address: str, config: dict, destination: Optional[str] = None, now: Optional[int] = None) -> dict:
        return self._address("ndr_batv_sign", address, config, now, destination=destination)

    def batv_verify(self, address: str, config: dict, now: Optional[int] = None) -> dict:
        return self._address("ndr_batv_verify", address, config, now)

    def srs_forward(self, address: str, config: dict, now: Optional[int] = None) -> dict:
        return self._address("ndr_srs_forward", address, config, now)

    def srs_reverse(self, address: str, config: dict, now: Optional[int] = None) -> dict:
        return self._address("ndr_srs_reverse", address, config, now)

    def info(self) -> dict:
        def run() -> int:
            return self._call("ndr_info") or 0

        return self._guarded(0, run)


_default: Optional[Filter] = None
_default_lock = threading.Lock()


def _filter() -> Filter:
    global _default
    with _default_lock:
        if _default is None:
            _default = Filter()
        return _default


def classify(raw: bytes, envelope=None, config=None, now=None) -> dict:
    """:meth:`Filter.classify` on a shared default filter."""
    return _filter().classify(raw, envelope, config, now)


def batv_sign(address: str, config: dict, destination=None, now=None) -> dict:
    return _filter().batv_sign(address, config, destination, now)


def batv_verify(address: str, config: dict, now=None) -> dict:
    return _filter().batv_verify(address, config, now)


def srs_forward(address: str, config: dict, now=None) -> dict:
    return _filter().srs_forward(address, config, now)


def srs_reverse(address: str, config: dict, now=None) -> dict:
    return _filter().srs_reverse(address, config, now)


def info() -> dict:
    return _filter().info()


# --- flufl.bounce compatibility --------------------------------------------------------------


def _raw(msg: Union[Message, bytes]) -> bytes:
    return msg if isinstance(msg, (bytes, bytearray)) else msg.as_bytes()


def failures(msg: Union[Message, bytes], now: Optional[int] = None) -> dict:
    """Every failed recipient of a bounce or delay notice, with what flufl.bounce does not say:
    ``{address: {"temporary": bool, "reason": ..., "hard": ..., "status": ..., "diagnostic": ...}}``.
    Empty for anything that is not a delivery failure (auto-replies, read receipts, ordinary mail)."""
    report = classify(_raw(msg), now=now)
    out: dict = {}
    if report.get("kind") not in ("bounce", "delay"):
        return out
    for r in report.get("recipients", []):
        address = r.get("address")
        if not address or r.get("action") in ("delivered", "relayed", "expanded"):
            continue
        status = r.get("status") or ""
        temporary = report["kind"] == "delay" or r.get("action") == "delayed" or status.startswith("4")
        out[address] = {
            "temporary": temporary,
            "reason": r.get("reason"),
            "hard": r.get("hard"),
            "status": status or None,
            "diagnostic": r.get("diagnostic"),
        }
    return out


def all_failures(msg: Union[Message, bytes]) -> tuple:
    """As flufl.bounce's ``all_failures``: ``(temporary, permanent)``, two sets of byte addresses."""
    temporary, permanent = set(), set()
    for address, failure in failures(msg).items():
        (temporary if failure["temporary"] else permanent).add(address.encode())
    return temporary, permanent


def scan_message(msg: Union[Message, bytes]) -> set:
    """As flufl.bounce's ``scan_message``: the set of permanently failed byte addresses."""
    return all_failures(msg)[1]
