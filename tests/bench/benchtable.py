# SPDX-License-Identifier: LGPL-2.1-or-later
"""The human table of tools/bench, made from its BENCH lines, and the check
of the targets of docs/performance.md. Missing figures show as '-'."""
import re

BENCH = re.compile(r"^BENCH (\S+)=(\S+) unit=(\S+)")

# [row label, figure prefix, callgrind prefix, alloc-count prefix]
STEADY_ROWS = [
    ("vfiogfxsrc, DMABuf 1080p", "element", "cg.element", "element.alloc"),
    ("vfiogfxsrc, DMABuf 4K", "element4k", "cg.element4k", None),
    ("vfiogfxsrc, system memory", "elementsys", "cg.elementsys", None),
    ("floor (GStreamer only)", "floor", "cg.floor", "floor.alloc"),
    ("floor + clock wait", "floor-paced", "cg.floor-paced",
     "floor-paced.alloc"),
    ("re-export per frame, 16x16", "reexport", "cg.reexport",
     "reexport.alloc"),
    ("copy per frame, 1080p", "copy1080", "cg.copy1080", "copy1080.alloc"),
    ("copy per frame, 4K", "copy4k", "cg.copy4k", "copy4k.alloc"),
]


class Figures(dict):
    def get(self, name, default=None):
        return super().get(name, default)

    def fmt(self, name, spec="{:,.0f}", scale=1.0):
        v = self.get(name)
        return "-" if v is None else spec.format(v * scale)


def load(path):
    figs, notes = Figures(), []
    for line in open(path):
        m = BENCH.match(line)
        if m:
            try:
                figs[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
        elif line.startswith("# "):
            notes.append(line[2:].rstrip())
    return figs, notes


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    out = []
    for n, r in enumerate([header] + rows):
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def steady(f):
    header = ["source", "frames/s", "slowest", "CPU ns/fr", "QUERY/fr",
              "export/fr",
              "sync/fr", "buffers/fr", "memories/fr", "copied B/fr",
              "instr/fr", "ours", "GStreamer", "device", "rest"]
    rows = []
    for label, p, cg, alloc in STEADY_ROWS:
        if f.get(p + ".fps") is None and (cg is None or
                                          f.get(cg + ".instr_total") is None):
            continue
        rows.append([
            label, f.fmt(p + ".fps"), f.fmt(p + ".fps_slowest"),
            f.fmt(p + ".cpu_ns_per_frame"),
            f.fmt(p + ".query_ioctls", "{:.3f}"),
            f.fmt(p + ".export_ioctls", "{:.3f}"),
            f.fmt(p + ".sync_ioctls", "{:.3f}"),
            f.fmt((alloc or "-") + ".buffers", "{:.3f}"),
            f.fmt((alloc or "-") + ".memories", "{:.3f}"),
            f.fmt(p + ".bytes_copied"),
            f.fmt((cg or "-") + ".instr_total"),
            f.fmt((cg or "-") + ".instr_source"),
            f.fmt((cg or "-") + ".instr_gstreamer"),
            f.fmt((cg or "-") + ".instr_device"),
            f.fmt((cg or "-") + ".instr_rest")])
    rows.append(["emulator's in-process QUERY_GFX_PLANE",
                 f.fmt("element.bare_calls_per_s"),
                 "-", f.fmt("element.bare_cpu_ns_per_call"), "1.000", "0.000",
                 "0.000", "0.000", "0.000", "0", f.fmt("cg.bare.instr_total"),
                 "-", "-", f.fmt("cg.bare.instr_device"), "-"])
    return table(header, rows)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def pct(x):
    return "-" if x is None else "{:.1f} %".format(100 * x)


def times(x):
    return "-" if x is None else "x{:,.1f}".format(x)


def wins(f):
    lines = []
    own = f.get("cg.element.instr_total")
    dev = f.get("cg.element.instr_device")
    for label, p, cg, _ in STEADY_ROWS[5:]:
        other = f.get(cg + ".instr_total")
        odev = f.get(cg + ".instr_device")
        in_process = None
        if None not in (own, dev, other, odev):
            in_process = (other - odev) / (own - dev)
        lines.append("  %-28s %8s frames/s, %10s instructions/frame, %8s "
                     "outside the device" % (
                         label, times(ratio(f.get("element.fps"),
                                            f.get(p + ".fps"))),
                         times(ratio(other, own)), times(in_process)))
    return "\n".join(lines)


def latency(f):
    rows = []
    for rate in (60, 120, 240):
        p = "latency.%dhz" % rate
        if f.get(p + ".median_us") is None:
            continue
        rows.append(["%d Hz" % rate, f.fmt(p + ".period_us", "{:,.0f}"),
                     f.fmt(p + ".samples"), f.fmt(p + ".median_us", "{:,.0f}"),
                     f.fmt(p + ".p99_us", "{:,.0f}"),
                     f.fmt(p + ".max_us", "{:,.0f}")])
    if not rows:
        return "  (not run)"
    return table(["poll rate", "period us", "flips", "median us", "p99 us",
                  "max us"], rows)


FLIP_GUESTS = [("60 Hz, +-0.5 ms, 100 ppm", "flip.60hz"),
               ("144 Hz, +-0.5 ms, 100 ppm", "flip.144hz"),
               ("variable, 8-40 ms", "flip.variable"),
               ("VM: mbochs_rw, guest at 60 Hz (TCG)", "vm.flip")]
FLIP_SCHEDULES = ["every-tick", "on-change", "flip-locked"]


def flip_rows(f):
    """[guest, schedule, p50 us, p99 us, max us, flips pushed, QUERY per
    frame, QUERY per flip, CPU ns per frame, exports / framebuffers pushed
    (the element's rows only)] of the flipsim figures."""
    rows = []
    for label, g in FLIP_GUESTS:
        for s in FLIP_SCHEDULES:
            p = "%s.%s." % (g, s)
            if f.get(p + "flips") is None:
                continue
            rows.append([label, s, f.fmt(p + "p50_us", "{:,.0f}"),
                         f.fmt(p + "p99_us", "{:,.0f}"),
                         f.fmt(p + "max_us", "{:,.0f}"),
                         f.fmt(p + "pushed_pct", "{:.1f} %"),
                         f.fmt(p + "queries_per_frame", "{:.3f}"),
                         f.fmt(p + "queries_per_flip", "{:.3f}"),
                         f.fmt(p + "cpu_ns_per_frame"),
                         "-" if f.get(p + "exports") is None else
                         "%s / %s" % (f.fmt(p + "exports"),
                                      f.fmt(p + "framebuffers"))])
    return rows


FLIP_HEADER = ["guest", "schedule", "p50 us", "p99 us", "max us",
               "flips pushed", "QUERY/frame", "QUERY/flip", "CPU ns/frame",
               "exports / framebuffers"]


def flip(f):
    rows = flip_rows(f)
    if not rows:
        return "  (not run)"
    return table(FLIP_HEADER, rows)


def flip_targets(f):
    out = []
    p = "flip.60hz.flip-locked."
    for name, limit in (("p50_us", 1000), ("p99_us", 3000)):
        v = f.get(p + name)
        out.append(check(None if v is None else v <= limit,
                         "flip-locked at 60 Hz, %s <= %d us: %s us" % (
                             name[:3], limit, f.fmt(p + name))))
    v = f.get("flip.144hz.flip-locked.p99_us")
    out.append(check(None if v is None else v <= 2000,
                     "flip-locked at 144 Hz, p99 <= 2000 us: %s us" %
                     f.fmt("flip.144hz.flip-locked.p99_us")))
    v = f.get(p + "queries_per_frame")
    out.append(check(None if v is None else v <= 1.25,
                     "flip-locked at 60 Hz, <= 1.25 QUERY_GFX_PLANE per "
                     "pushed frame, acquisition included: %s" % f.fmt(
                         p + "queries_per_frame", "{:.3f}")))
    rows = [g for _, g in FLIP_GUESTS
            if f.get(g + ".flip-locked.exports") is not None]
    extra = [f.get(g + ".flip-locked.exports") -
             f.get(g + ".flip-locked.framebuffers") for g in rows]
    out.append(check(None if not rows else all(e == 0 for e in extra),
                     "flip-locked: 0 extra exports (exports = framebuffers "
                     "pushed) on every emulated guest: %s" % (
                         ", ".join("%+d" % e for e in extra) or "-")))
    return out


def stability(f):
    s = "stability."
    if f.get(s + "fds_first") is None:
        return "  (not run)"
    rows = [["open fds", f.fmt(s + "fds_first"), f.fmt(s + "fds_last"),
             f.fmt(s + "fds_max")],
            ["RSS KiB", f.fmt(s + "rss_kib_first"), f.fmt(s + "rss_kib_last"),
             f.fmt(s + "rss_kib_max")]]
    head = ("  %s frames, %s flips, %s mode changes; %s exports, QUERY/frame "
            "%s; samples after two cycles of modes:\n" % (
                f.fmt(s + "frames"), f.fmt(s + "flips"),
                f.fmt(s + "mode_changes"),
                f.fmt(s + "exports", "{:,.0f}", f.get(s + "frames") or 0),
                f.fmt(s + "query_ioctls", "{:.4f}")))
    return head + table(["", "first", "last", "max"], rows)


SCALE_ROWS = [
    ("vfiogfxsrc, one clock", "scale"),
    ("vfiogfxsrc, a clock each", "scale-own"),
    ("floor + clock wait, one clock", "scale-floor"),
    ("floor + clock wait, a clock each", "scale-floor-own"),
]


def scale(f):
    rows = []
    n = None
    for label, p in SCALE_ROWS:
        if f.get(p + ".n.cpu_ns_per_frame") is None:
            continue
        n = f.get(p + ".n.sources")
        rows.append([label, f.fmt(p + ".1.cpu_ns_per_frame"),
                     f.fmt(p + ".n.cpu_ns_per_frame"),
                     f.fmt(p + ".n.cpu_per_frame_vs_1", "x{:.2f}"),
                     f.fmt(p + ".1.fps"), f.fmt(p + ".n.fps")])
    if not rows:
        return "  (not run)"
    return table(["", "CPU ns/fr, 1 source", "%d sources" % n, "ratio",
                  "frames/s, 1 source", "%d sources (sum)" % n], rows)


def vm(f, notes):
    skipped = [n for n in notes if n.startswith("vm: SKIP")]
    if f.get("vm.element.fps") is None:
        return "  " + (skipped[0][4:] if skipped else "(not run)")
    rows = [["vfiogfxsrc ! fakesink", f.fmt("vm.element.fps"),
             f.fmt("vm.element.cpu_ns_per_frame"),
             f.fmt("vm.element.queries", "{:.3f}"),
             f.fmt("vm.element.exports", "{:.5f}"),
             f.fmt("vm.alloc.buffers", "{:.3f}"),
             f.fmt("vm.alloc.memories", "{:.3f}"),
             f.fmt("vm.strace.ioctl", "{:.3f}"),
             f.fmt("vm.strace.syscalls", "{:.3f}")],
            ["bare QUERY_GFX_PLANE (kernel)",
             f.fmt("vm.element.bare_calls_per_s"),
             f.fmt("vm.element.bare_cpu_ns_per_call"), "1.000", "0", "-",
             "-", "1.000", "-"]]
    calls = ", ".join("%s %.3f" % (k[len("vm.strace."):], v)
                      for k, v in f.items() if k.startswith("vm.strace.")
                      and k.count(".") == 2 and k != "vm.strace.syscalls")
    return (table(["", "frames/s", "CPU ns/fr", "QUERY/fr", "exports/fr",
                   "buffers/fr", "memories/fr", "ioctl/fr (strace)",
                   "syscalls/fr"], rows)
            + "\n  %s frames in %s s, the fastest of %s runs (slowest: %s "
            "frames/s);\n  element / bare loop in that run: %s (wall), %s "
            "(CPU)\n  syscalls per frame (strace -c, steady state): %s"
            % (f.fmt("vm.element.frames"), f.fmt("vm.element.seconds"),
               f.fmt("vm.element.repeats"), f.fmt("vm.element.fps_slowest"),
               pct(f.get("vm.element.fps_vs_bare")),
               pct(f.get("vm.element.cpu_vs_bare")), calls or "-"))


def check(ok, text):
    mark = "n/a " if ok is None else ("PASS" if ok else "FAIL")
    return "  [%s] %s" % (mark, text)


def info(text):
    return "  [info] %s" % text


def targets(f):
    out = []
    q = f.get("element.query_ioctls")
    out.append(check(None if q is None else abs(q - 1) < 1e-9,
                     "1.0 QUERY_GFX_PLANE per frame: %s" % f.fmt(
                         "element.query_ioctls", "{:.4f}")))
    e = f.get("element.export_ioctls")
    out.append(check(None if e is None else e == 0,
                     "0 exports per frame: %s" % f.fmt(
                         "element.export_ioctls", "{:.4f}")))
    m = f.get("element.alloc.memories")
    out.append(check(None if m is None else m == 0,
                     "0 new GstMemory per frame: %s" % f.fmt(
                         "element.alloc.memories", "{:.4f}")))
    b = f.get("element.bytes_copied")
    out.append(check(None if b is None else b == 0,
                     "0 bytes copied per frame: %s" % f.fmt(
                         "element.bytes_copied")))
    s = "stability."
    fds = [f.get(s + k) for k in ("fds_first", "fds_last", "fds_max")]
    rss = [f.get(s + k) for k in ("rss_kib_first", "rss_kib_last",
                                  "rss_kib_max")]
    flat = None
    if None not in fds + rss:
        flat = fds[1] <= fds[0] and rss[1] - rss[0] <= max(1024,
                                                            rss[0] / 100)
    out.append(check(flat, "fds and RSS flat (last = first fds, RSS within "
                     "1 MiB or 1 %%): fds %s/%s/%s, RSS %s/%s/%s KiB "
                     "(first/last/max)" % tuple(
                         "-" if v is None else "{:,.0f}".format(v)
                         for v in fds + rss)))
    el = f.get("cg.element.instr_total")
    dev = f.get("cg.element.instr_device")
    fl = f.get("cg.floor.instr_total")
    fp = f.get("cg.floor-paced.instr_total")
    paced = None if None in (el, fp) else el - fp
    out.append(check(None if paced is None else paced <= 500,
                     "element's instructions/frame <= GStreamer's paced "
                     "floor (a live source's clock wait included) + 500, its "
                     "query through the emulated device included: paced "
                     "floor + %s (%s of the element's)" % (
                         "-" if paced is None else "{:,.0f}".format(paced),
                         pct(None if paced is None else paced / el))))
    signed = ["-" if v is None else "{:+,.0f}".format(v) for v in
              (None if None in (el, dev, fp) else el - dev - fp,
               None if None in (el, fl) else el - fl)]
    out.append(info("without the emulated device (%s): paced floor %s; "
                    "against the unpaced floor (no clock wait): floor %s"
                    % (f.fmt("cg.element.instr_device"), signed[0],
                       signed[1])))
    out.append(info("frames/s against the emulator's in-process "
                    "QUERY_GFX_PLANE loop (a function call, not the kernel): "
                    "%s (CPU time: %s); in the VM, against the real ioctl "
                    "under TCG: %s" % (
                        pct(f.get("element.fps_vs_bare")),
                        pct(f.get("element.cpu_vs_bare")),
                        pct(f.get("vm.element.fps_vs_bare")))))
    for rate in (60, 120, 240):
        p99 = f.get("latency.%dhz.p99_us" % rate)
        out.append(check(None if p99 is None else p99 <= 1e6 / rate,
                         "latency p99 <= one poll period at %d Hz: %s us "
                         "(period %.0f us)" % (
                             rate, f.fmt("latency.%dhz.p99_us" % rate),
                             1e6 / rate)))
    out += flip_targets(f)
    return "\n".join(out)


def main(path):
    f, notes = load(path)
    machine = [n for n in notes if n.startswith("machine:")]
    print("\n".join(machine))
    print("\nSteady state: SOURCE ! capsfilter ! fakesink sync=false on a "
          "clock whose waits return at once\n(emulated mdev, XR24; per frame; "
          "frames/s: fastest and slowest of the runs; instructions from "
          "callgrind,\nsplit by ELF object)\n")
    print(steady(f))
    print("\nvfiogfxsrc runs at %s frames/s, %s of the emulator's "
          "in-process QUERY_GFX_PLANE loop\n(%s calls/s, no kernel) in the "
          "same run; CPU time: %s."
          % (f.fmt("element.fps"), pct(f.get("element.fps_vs_bare")),
             f.fmt("element.bare_calls_per_s"),
             pct(f.get("element.cpu_vs_bare"))))
    print("\nWhat vfiogfxsrc wins by, against:")
    print(wins(f))
    print("\nLatency, on-change mode, flip to buffer leaving the source "
          "(system clock):\n")
    print(latency(f))
    print("\nFlip to push, three capture schedules on emulated guests "
          "(in virtual time, a query is\none emulated QUERY_GFX_PLANE, no "
          "timer wake-up latency; every-tick and on-change simulated,\n"
          "flip-locked is vfiogfxsrc on a test clock) and in the VM (real "
          "time; reported):\n")
    print(flip(f))
    print("\nStability (instant clock, flips and mode changes):\n")
    print(stability(f))
    print("\nScale, sources in one process (emulated, instant clock):\n")
    print(scale(f))
    print("\nIn the VM (Debian kernel, mbochs_rw, QEMU TCG):\n")
    print(vm(f, notes))
    print("\nTargets:\n")
    print(targets(f))
