#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers of tools/bench (docs/performance.md).

  benchreport.py callgrind PREFIX N1 OUT1 N2 OUT2
      Instructions per frame from two callgrind runs of N1 < N2 frames (the
      difference cancels start-up), split by ELF object into: source (our
      element and library, or the bench's own source), gstreamer (core, base,
      video, allocators, coreelements), device (everything under the
      emulator's interposed ioctl/close/mmap: what the kernel would do) and
      rest (GLib, libc, ...). Prints BENCH lines.
  benchreport.py diff N1 OUT1 N2 OUT2 [COUNT]
      Self instructions per frame and per function, the largest first.
  benchreport.py compare N1 A1 N2 A2 M1 B1 M2 B2 [COUNT]
      Per frame and per function, variant A (runs A1, A2 of N1, N2 frames)
      less variant B: what A costs above B.
  benchreport.py strace PREFIX FILE1 N1 FILE2 N2
      Syscalls per frame from the strace -c -o FILE of two runs of N1 < N2
      frames (the difference cancels start-up).
  benchreport.py best RESULTS NEW PREFIX...
      The figures of the fastest of the runs PREFIX... in RESULTS again, as
      NEW (with NEW.fps_slowest and NEW.repeats).
  benchreport.py flipvm OUT
      Flip to push per schedule from a vfio-bench-dev flipvm run under
      tests/vm/guest: its FLIPPUSH lines paired with the guest's flips
      ("guest: t=... flip") between the schedule's FLIPSTART and FLIPEND,
      all CLOCK_MONOTONIC. Prints BENCH lines.
  benchreport.py table RESULTS
      The human table from the BENCH lines in RESULTS, then the targets.
  benchreport.py readme RESULTS README DOC
      Rewrites the generated blocks of README (the Performance section) and
      DOC (docs/performance.md) from RESULTS (benchmd.py).
"""
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*) \[(.*)\]\s*$")
OURS = ("libgstvfiogfxsrc.so", "libgstvfio-1.0.so", "/vfio-bench")
GST = ("libgstreamer-1.0.so", "libgstbase-1.0.so", "libgstvideo-1.0.so",
       "libgstallocators-1.0.so", "libgstcoreelements.so")
EMU = "libvfioemu.so"
# The emulator's entry points: their inclusive cost is the device's.
EMU_ENTRIES = ("ioctl", "close", "mmap", "mmap64", "open", "open64",
               "openat", "openat64", "readlink", "readlinkat")


def annotate(path, inclusive):
    """[(cost, function, object)] of a callgrind output file."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
         "--threshold=100", path], capture_output=True, text=True,
        check=True).stdout
    rows = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            func = m.group(2).rsplit(":", 1)[-1]
            rows.append((int(m.group(1).replace(",", "")), func, m.group(3)))
    return rows


def total(path):
    out = subprocess.run(["callgrind_annotate", path], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"^\s*([\d,]+)\s+\(100.0%\)\s+PROGRAM TOTALS", out, re.M)
    return int(m.group(1).replace(",", ""))


def buckets(path):
    selfs = annotate(path, False)
    source = sum(c for c, _, o in selfs if o.endswith(OURS) or
                 any(x in o for x in OURS))
    gst = sum(c for c, _, o in selfs if any(x in o for x in GST))
    device = sum(c for c, f, o in annotate(path, True)
                 if o.endswith(EMU) and f in EMU_ENTRIES)
    all_ = total(path)
    return {"total": all_, "source": source, "gstreamer": gst,
            "device": device, "rest": all_ - source - gst - device}


def cmd_callgrind(prefix, n1, out1, n2, out2):
    a, b = buckets(out1), buckets(out2)
    frames = int(n2) - int(n1)
    for key in ("total", "source", "gstreamer", "device", "rest"):
        print("BENCH %s.instr_%s=%.1f unit=instr/frame"
              % (prefix, key, (b[key] - a[key]) / frames))


def per_function(n1, out1, n2, out2):
    """{function [object]: self instructions per frame}"""
    def self_costs(path):
        d = {}
        for c, f, o in annotate(path, False):
            key = "%s [%s]" % (f, o.rsplit("/", 1)[-1])
            d[key] = d.get(key, 0) + c
        return d
    a, b = self_costs(out1), self_costs(out2)
    frames = int(n2) - int(n1)
    return {k: (b.get(k, 0) - a.get(k, 0)) / frames for k in set(a) | set(b)}


def print_rows(costs, count):
    rows = sorted(costs.items(), key=lambda r: -abs(r[1]))
    for key, cost in rows[:int(count)]:
        if abs(cost) >= 0.5:
            print("%10.1f  %s" % (cost, key))
    print("%10.1f  total" % sum(costs.values()))


def cmd_diff(n1, out1, n2, out2, count=25):
    print_rows(per_function(n1, out1, n2, out2), count)


def cmd_compare(n1, a1, n2, a2, m1, b1, m2, b2, count=40):
    a = per_function(n1, a1, n2, a2)
    b = per_function(m1, b1, m2, b2)
    print_rows({k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b)},
               count)


def strace_calls(path):
    calls = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[3].isdigit():
            calls[f[-1]] = int(f[3])
    return calls


def cmd_strace(prefix, path1, n1, path2, n2):
    a, b = strace_calls(path1), strace_calls(path2)
    frames = int(n2) - int(n1)
    names = sorted(set(a) | set(b), key=lambda k: -(b.get(k, 0)
                                                    - a.get(k, 0)))
    for name in ["total"] + [n for n in names if n != "total"][:6]:
        print("BENCH %s.%s=%.4g unit=syscalls/frame"
              % (prefix, "syscalls" if name == "total" else name,
                 (b.get(name, 0) - a.get(name, 0)) / frames))


def cmd_best(results, new, *prefixes):
    runs = {p: {} for p in prefixes}
    for line in open(results):
        m = re.match(r"^BENCH (\S+)=(\S+) unit=(\S+)", line)
        if not m:
            continue
        p, name = m.group(1).rsplit(".", 1)
        if p in runs:
            runs[p][name] = (m.group(2), m.group(3))
    done = [r for r in runs.values() if "fps" in r]
    if not done:
        return
    best = max(done, key=lambda r: float(r["fps"][0]))
    for name, (value, unit) in best.items():
        print("BENCH %s.%s=%s unit=%s" % (new, name, value, unit))
    print("BENCH %s.fps_slowest=%s unit=frames/s"
          % (new, min(r["fps"][0] for r in done)))
    print("BENCH %s.repeats=%d unit=runs" % (new, len(done)))


def percentile(values, pct):
    values = sorted(values)
    return values[max(0, (len(values) * pct + 99) // 100 - 1)]


def cmd_flipvm(path):
    """A flip counts when it falls between the schedule's first query
    (FLIPSTART: what the guest showed then is not news) and its last
    (FLIPEND); a push counts the latest flip before it, once, if that flip
    counts. So no schedule pushes more than all of its flips."""
    flips, pushes, queries, windows = [], {}, {}, {}
    for line in open(path):
        m = re.match(r"^BENCH vm\.flip\.(\S+)\.queries=(\S+) ", line)
        if m:
            queries[m.group(1)] = float(m.group(2))
        m = re.match(r"^guest: t=([\d.]+) flip ", line)
        if m:
            flips.append(float(m.group(1)))
        m = re.match(r"^FLIPPUSH (\S+) ([\d.]+)$", line)
        if m:
            pushes.setdefault(m.group(1), []).append(float(m.group(2)))
        m = re.match(r"^FLIP(START|END) (\S+) ([\d.]+)$", line)
        if m:
            windows.setdefault(m.group(2), {})[m.group(1)] = float(m.group(3))
    flips.sort()
    for sched, times in pushes.items():
        w = windows.get(sched, {})
        start, end = w.get("START", times[0]), w.get("END", times[-1])
        window = [i for i, f in enumerate(flips) if start < f <= end]
        latency, shown, i, latest = [], set(), 0, None
        for t in times:
            while i < len(flips) and flips[i] <= t:
                latest = i
                i += 1
            if latest is not None and latest not in shown and \
                    start < flips[latest] <= end:
                shown.add(latest)
                latency.append((t - flips[latest]) * 1e6)
        p = "vm.flip.%s" % sched
        if not latency:
            continue
        for name, v in (("p50_us", percentile(latency, 50)),
                        ("p99_us", percentile(latency, 99)),
                        ("max_us", max(latency))):
            print("BENCH %s.%s=%.1f unit=us" % (p, name, v))
        print("BENCH %s.flips=%d unit=flips" % (p, len(window)))
        print("BENCH %s.pushed_pct=%.1f unit=%%" % (
            p, 100.0 * len(shown) / max(1, len(window))))
        if sched in queries:
            print("BENCH %s.queries_per_flip=%.4f unit=queries/flip" % (
                p, queries[sched] / max(1, len(window))))


if __name__ == "__main__":
    cmds = {"callgrind": cmd_callgrind, "diff": cmd_diff,
            "compare": cmd_compare, "strace": cmd_strace, "best": cmd_best,
            "flipvm": cmd_flipvm}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds and \
            sys.argv[1] not in ("table", "readme"):
        sys.exit(__doc__)
    if sys.argv[1] == "table":
        import benchtable
        benchtable.main(*sys.argv[2:])
    elif sys.argv[1] == "readme":
        import benchmd
        benchmd.update(*sys.argv[2:])
    else:
        cmds[sys.argv[1]](*sys.argv[2:])
