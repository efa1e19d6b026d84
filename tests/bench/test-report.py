#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tests/bench/test-report.py: benchreport.py flipvm on a made-up run.

A schedule's first query sees what the guest shows already, so a flip just
before it is not one it pushed; a flip just after its last query is not one
it missed. With those at both edges, a schedule that pushed every flip in
between reports 100 %, never more.
"""
import os
import subprocess
import sys
import tempfile

RUN = """\
guest: t=0.400000000 flip 1
FLIPSTART on-change 0.500000000
guest: t=0.550000000 flip 2
FLIPPUSH on-change 0.560000000
guest: t=1.000000000 flip 3
FLIPPUSH on-change 1.016000000
guest: t=1.200000000 flip 4
FLIPEND on-change 1.100000000
BENCH vm.flip.on-change.queries=4 unit=queries
FLIPSTART every-tick 2.000000000
guest: t=2.010000000 flip 5
FLIPPUSH every-tick 2.016000000
guest: t=2.020000000 flip 6
guest: t=2.025000000 flip 7
FLIPPUSH every-tick 2.032000000
FLIPEND every-tick 2.032000000
BENCH vm.flip.every-tick.queries=2 unit=queries
"""

EXPECTED = {
    "vm.flip.on-change.flips": 2.0,
    "vm.flip.on-change.pushed_pct": 100.0,
    "vm.flip.on-change.max_us": 16000.0,
    "vm.flip.every-tick.flips": 3.0,
    "vm.flip.every-tick.pushed_pct": 66.7,
    "vm.flip.every-tick.max_us": 7000.0,
}


def main():
    report = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "benchreport.py")
    with tempfile.NamedTemporaryFile("w", suffix=".out") as out:
        out.write(RUN)
        out.flush()
        text = subprocess.run([sys.executable, "-B", report, "flipvm",
                               out.name], capture_output=True, text=True,
                              check=True).stdout
    got = {}
    for line in text.splitlines():
        name, value = line.split()[1].split("=")
        got[name] = float(value)
    bad = ["%s: %s, expected %s" % (k, got.get(k), v)
           for k, v in EXPECTED.items()
           if got.get(k) is None or abs(got[k] - v) > 0.05]
    if bad:
        sys.exit("benchreport.py flipvm:\n  " + "\n  ".join(bad) +
                 "\n" + text)
    print("benchreport.py flipvm: %d figures as expected" % len(EXPECTED))


if __name__ == "__main__":
    main()
