#!/usr/bin/python3
"""pysrs (Debian's python3-srs) as an oracle for the SRS interoperability test.

Reads JSON lines {"op": "forward"|"reverse", "secret", "address", "domain", "now"} on stdin and
writes one JSON line each: {"ok": result} or {"error": message}. The clock is fixed per line.
"""
import json
import sys
import time

import SRS

for line in sys.stdin:
    req = json.loads(line)
    time.time = lambda: float(req["now"])
    srs = SRS.new(secret=req["secret"], maxage=21, hashlength=4)
    try:
        if req["op"] == "forward":
            out = {"ok": srs.forward(req["address"], req["domain"])}
        else:
            out = {"ok": srs.reverse(req["address"])}
    except Exception as e:  # pysrs raises plain errors for bad hashes and stale stamps
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
