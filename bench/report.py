#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the samples of `make bench` into results.csv, results.md, latency.png.

    bench/report.py --results results/bench --out Documentation/bench \
        [--wall-seconds S] [--quick 0|1]

The results directory has one subdirectory per kernel line (`6.12`, `7.3`,
see scripts/bench.sh), and in it one per guest clock, `wall` and `icount`,
each with the raw.csv bench/bench-guest.sh wrote, one sample a line:
`section,metric,variant,param,rep,value,unit`, and the host's load average
during that VM's run (host-load.txt); the line's directory also has the
seconds its build and VMs took (seconds). results.csv has one line per
(line, section, metric, variant, param): the clock, the number of samples,
median, min, max. results.md leads with the Rust/C ratios of every line
against the targets, then has each line's tables. The plot needs matplotlib;
without it the tables are still written.
"""

import argparse
import csv
import datetime
import os
import re
import statistics
import sys
from collections import OrderedDict

# Targets of the issue: Rust/C ratio must not exceed these.
CALL_TARGET = 1.05
LATENCY_TARGET = 1.05
SIZE_TARGET = 2.0

# The C counterpart of each Rust module in the footprint table.
COUNTERPARTS = OrderedDict([
    ("livepatch_sample", "livepatch_sample"),
    ("klp_bench_patch", "klp_bench_patch"),
    ("klp_bench_k1", "klp_bench_k1"),
    ("klp_bench_k10", "klp_bench_k10"),
    ("klp_bench_k100", "klp_bench_k100"),
    ("livepatch_cumulative_v1", "livepatch_callbacks_demo"),
    ("livepatch_cumulative_v2", "livepatch_callbacks_demo"),
    ("livepatch_cumulative_v3", "livepatch_callbacks_demo"),
])
C_KO = {
    "livepatch_sample": "livepatch-sample.ko of the kernel's samples/livepatch",
    "livepatch_callbacks_demo": "livepatch-callbacks-demo.ko of the kernel's samples/livepatch",
}

# The kernel lines (scripts/common.sh), as the report describes them.
LINE_KERNELS = {
    "6.12": "the klp-rs test kernel: Linux 6.12 LTS built by clang 19 from"
            " tinyconfig and `scripts/kernel/test-kernel.config` (`PREEMPT_NONE`, HZ=250);"
            " the C samples are the ones built in its tree",
    "7.3": "Debian's stock kernel, unmodified: `linux-image-7.3.N+deb13-amd64`, built by"
           " GCC 14 (`PREEMPT_DYNAMIC`, HZ=250, Debian's configuration with its"
           " mitigations: retpolines, return thunks); the modules are built in a"
           " Debian 13 root with Debian's gcc-14 and rustc 1.85.1, the C samples from"
           " its `linux-source-7.3`",
    "kdir": "your own kernel tree (`KDIR`)",
}


def param_key(param):
    """Sorts numeric parameters numerically."""
    return (0, int(param)) if param.isdigit() else (1, param)


def line_key(line):
    """Sorts kernel lines by version (6.12 before 7.3), names last."""
    parts = line.split(".")
    if all(p.isdigit() for p in parts):
        return (0, tuple(int(p) for p in parts), "")
    return (1, (), line)


# The guest clocks, in the order their VMs run.
CLOCKS = ("wall", "icount")


def find_lines(results):
    """The kernel lines with samples in RESULTS, by version."""
    lines = [name for name in os.listdir(results)
             if any(os.path.exists(os.path.join(results, name, clock, "raw.csv"))
                    for clock in CLOCKS)]
    return sorted(lines, key=line_key)


def load(results):
    """Samples grouped by (section, metric, variant, param), in file order,
    the same by repetition, their units, and the clock of each section."""
    groups = OrderedDict()
    by_rep = {}
    units = {}
    clocks = {}
    for clock in CLOCKS:
        path = os.path.join(results, clock, "raw.csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    value = float(row["value"])
                except (TypeError, ValueError):
                    continue
                key = (row["section"], row["metric"], row["variant"], row["param"])
                groups.setdefault(key, []).append(value)
                by_rep.setdefault(key, {})[row["rep"]] = value
                units[key] = row["unit"]
                clocks[row["section"]] = clock
    return groups, by_rep, units, clocks


def host_load(results):
    """The host's 1-minute load averages sampled during each VM's run."""
    samples = OrderedDict()
    for clock in CLOCKS:
        path = os.path.join(results, clock, "host-load.txt")
        if os.path.exists(path):
            with open(path) as f:
                samples[clock] = [float(x) for x in f.read().split() if x]
    return samples


def read_seconds(results):
    """The seconds scripts/bench.sh took for one line, if it wrote them."""
    try:
        with open(os.path.join(results, "seconds")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def guest_release(results):
    """The guest kernel's release, from the guest's first line in a console log."""
    for clock in CLOCKS:
        try:
            with open(os.path.join(results, clock, "console.log"), errors="replace") as f:
                for text in f:
                    found = re.search(r"klp-bench: guest kernel (\S+),", text)
                    if found:
                        return found.group(1)
        except OSError:
            continue
    return None


class Stats:
    """Median, lower decile, min, max and count of one group of samples."""

    def __init__(self, values):
        ordered = sorted(values)
        self.n = len(ordered)
        self.median = statistics.median(ordered)
        self.p10 = ordered[(self.n - 1) // 10]
        self.min = ordered[0]
        self.max = ordered[-1]


def fmt(value, digits=1, exact=False):
    """VALUE with DIGITS decimals, none from 100 on unless EXACT."""
    if value is None:
        return "-"
    if abs(value) >= 100 and not exact:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def spread(s, digits=1, exact=False):
    return (f"{fmt(s.median, digits, exact)} ({fmt(s.min, digits, exact)}–"
            f"{fmt(s.max, digits, exact)})")


def verdict(ratio, target):
    if ratio is None:
        return "-"
    return "yes" if ratio <= target else "**no**"


def minutes(seconds):
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


class Report:
    """The samples of one kernel line."""

    def __init__(self, line, results):
        groups, by_rep, units, clocks = load(results)
        self.line = line
        self.stats = {key: Stats(values) for key, values in groups.items()}
        self.by_rep = by_rep
        self.units = units
        self.clocks = clocks
        self.load = host_load(results)
        self.seconds = read_seconds(results)
        self.release = guest_release(results)

    def clock(self, section):
        return self.clocks.get(section)

    def has_load_times(self, section):
        """Whether the times from insmod on (module load and init) mean
        something in SECTION: only on the host's clock. On the instruction
        clock they include the waits for the host's 9p I/O, during which an
        idle guest skips ahead by whole timer periods."""
        return self.clock(section) == "wall"

    def call_unit(self):
        """What the call cost is counted in: `insns` on the instruction
        clock (a guest ns is one instruction there), `ns` on the host's."""
        if any(k[0] == "calls" and k[1] == "insns_per_call" for k in self.stats):
            return "insns"
        return "ns"

    def paired(self, section, metric, param):
        """Stats of Rust/C per repetition: each C run and the Rust run next to it."""
        c = self.by_rep.get((section, metric, "c", str(param)), {})
        rs = self.by_rep.get((section, metric, "rs", str(param)), {})
        ratios = [rs[rep] / c[rep] for rep in c if rep in rs and c[rep]]
        return Stats(ratios) if ratios else None

    def get(self, section, metric, variant, param="-"):
        return self.stats.get((section, metric, variant, str(param)))

    def params(self, section, metric):
        found = {k[3] for k in self.stats if k[0] == section and k[1] == metric}
        return sorted(found, key=param_key)

    def ratio(self, rs, c, stat="median"):
        if rs is None or c is None or getattr(c, stat) == 0:
            return None
        return getattr(rs, stat) / getattr(c, stat)

    def csv_rows(self):
        for key, s in self.stats.items():
            yield [self.line, *key, self.clock(key[0]), s.n, f"{s.median:.3f}",
                   f"{s.p10:.3f}", f"{s.min:.3f}", f"{s.max:.3f}", self.units[key]]


def write_csv(reports, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["line", "section", "metric", "variant", "param", "clock", "n", "median",
                    "p10", "min", "max", "unit"])
        for r in reports:
            w.writerows(r.csv_rows())


# How the tables name the guest clocks.
CLOCK_NAMES = {"wall": "host", "icount": "instructions"}

# The latency sections of the headline table, and their row labels.
LATENCY_SECTIONS = (
    ("transition_sleep", "{} → transition 0, {} sleeping tasks"),
    ("transition_busy", "{} → transition 0, {} busy tasks"),
    ("replace", "{} → transition 0, replacing a {}-function patch"),
    ("transition2_sleep", "2 CPUs: {} → transition 0, {} sleeping tasks"),
)


def call_rows(r):
    """The headline rows of the patched-call cost: instructions per call on
    the instruction clock, the cost relative to an unpatched call on the
    host's."""
    rows = []
    unit = r.call_unit()
    exact = unit == "insns"
    for kind, what in (("patched", "patched call"), ("transition", "call during a transition")):
        if unit == "insns":
            metric, label = "insns_per_call", f"{what}, instructions"
        else:
            metric, label = "relative_cost", f"{what}, cost relative to an unpatched call"
        c = r.get("calls", metric, f"{kind}_c")
        rs = r.get("calls", metric, f"{kind}_rs")
        rows.append((label, CLOCK_NAMES.get(r.clock("calls"), "-"),
                     spread(c, 2, exact) if c else "-", spread(rs, 2, exact) if rs else "-",
                     r.ratio(rs, c), "of the medians", CALL_TARGET))
    return rows


def ratio_rows(r):
    """(what, clock, C cell, Rust cell, ratio, ratio note, target) for the headline table."""
    rows = call_rows(r) if r.get("calls", "returns", "unpatched") else []
    for metric, start in (("enable_to_complete_ms", "enable"),
                          ("insmod_to_complete_ms", "insmod")):
        for section, label in LATENCY_SECTIONS:
            if metric == "insmod_to_complete_ms" and not r.has_load_times(section):
                continue
            for p in r.params(section, metric):
                c = r.get(section, metric, "c", p)
                rs = r.get(section, metric, "rs", p)
                pairs = r.paired(section, metric, p)
                note = f"pairs {fmt(pairs.min, 2)}–{fmt(pairs.max, 2)}" if pairs else ""
                digits = 2 if metric == "enable_to_complete_ms" else 0
                rows.append((label.format(start, p) + ", ms",
                             CLOCK_NAMES.get(r.clock(section), "-"),
                             spread(c, digits) if c else "-",
                             spread(rs, digits) if rs else "-",
                             pairs.median if pairs else None, note, LATENCY_TARGET))
    for label, c_label in COUNTERPARTS.items():
        c = r.get("footprint", "resident_bytes", "c", c_label)
        rs = r.get("footprint", "resident_bytes", "rs", label)
        if rs is None:
            continue
        what = f"resident size, {label}"
        if c_label != label:
            what += f" (vs {c_label})"
        rows.append((what + ", bytes", "-", fmt(c.median, 0) if c else "-",
                     fmt(rs.median, 0), r.ratio(rs, c), "", SIZE_TARGET))
    return rows


def summary(reports, w):
    """The Rust/C ratios of every line side by side, one column per line."""
    by_line = {r.line: {row[0]: row for row in ratio_rows(r)} for r in reports}
    order = []
    for r in reports:
        order += [row[0] for row in ratio_rows(r) if row[0] not in order]
    w("| measure | clock | " + " | ".join(f"{r.line}: Rust/C" for r in reports)
      + " | target | met |")
    w("| --- | --- | " + " | ".join("---" for _ in reports) + " | --- | --- |")
    for what in order:
        rows = [by_line[r.line].get(what) for r in reports]
        first = next(row for row in rows if row)
        clocks = sorted({row[1] for row in rows if row})
        cells = [fmt(row[4], 3) if row and row[4] is not None else "-" for row in rows]
        missed = [r.line for r, row in zip(reports, rows)
                  if row and row[4] is not None and row[4] > row[6]]
        judged = any(row and row[4] is not None for row in rows)
        met = ("**no** (" + ", ".join(missed) + ")") if missed else ("yes" if judged else "-")
        w(f"| {what} | {'/'.join(clocks)} | " + " | ".join(cells)
          + f" | ≤ {first[6]:g} | {met} |")
    w("")


def ratios_table(r, w):
    w("| measure | clock | C | Rust | Rust/C | target | met |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for what, clock, c, rs, ratio, note, target in ratio_rows(r):
        shown = fmt(ratio, 3) if ratio is not None else "-"
        if note and ratio is not None:
            shown += f" ({note})"
        w(f"| {what} | {clock} | {c} | {rs} | {shown} | ≤ {target:g} |"
          f" {verdict(ratio, target)} |")
    w("")


# The variants of the `calls` part, as the tables name them.
CALL_VARIANTS = OrderedDict([
    ("unpatched", "unpatched"),
    ("patched_c", "patched by the C live patch"),
    ("patched_rs", "patched by the Rust live patch"),
    ("transition_c", "C patch, transition held open"),
    ("transition_rs", "Rust patch, transition held open"),
])


def calls_table(r, w):
    """The patched-call cost of one line: instructions per call, and what the
    patch adds to an unpatched call, on the instruction clock; ns and the
    cost relative to the reference loop on the host's."""
    unit = r.call_unit()
    if unit == "insns":
        w("| variant | instructions per call, median (min–max) | added by the patch |"
          " reference loop, instructions per call | samples | returns |")
    else:
        w("| variant | ns per call, median (min–max) | reference ns, median |"
          " relative, median (min–max) | samples | returns |")
    w("| --- | --- | --- | --- | --- | --- |")
    base = r.get("calls", f"{unit}_per_call", "unpatched")
    for variant, label in CALL_VARIANTS.items():
        s = r.get("calls", f"{unit}_per_call", variant)
        ref = r.get("calls", f"ref_{unit}_per_call", variant)
        ret = r.get("calls", "returns", variant)
        if not s:
            continue
        if unit == "insns":
            added = (fmt(s.median - base.median, 2, True)
                     if base and variant != "unpatched" else "-")
            middle = (f"{spread(s, 2, True)} | {added} | "
                      f"{fmt(ref.median, 2, True) if ref else '-'}")
        else:
            rel = r.get("calls", "relative_cost", variant)
            middle = (f"{spread(s, 1)} | {fmt(ref.median, 1) if ref else '-'} | "
                      f"{spread(rel, 2) if rel else '-'}")
        w(f"| {label} | {middle} | {s.n} | {fmt(ret.median, 0) if ret else '-'} |")
    w("")


# The cases of the transition latency table.
LATENCY_CASES = (("transition_sleep", "N sleeping"), ("transition_busy", "N busy (SCHED_IDLE)"),
                 ("replace", "replace, K NOPs"), ("patch_k", "K-function patch"),
                 ("transition2_sleep", "2 CPUs, N sleeping"))


def latency_table(r, w):
    with_load = any(r.has_load_times(section) for section, _ in LATENCY_CASES)
    w("| case | param | clock | C enable → 0, ms | Rust enable → 0, ms | Rust/C (pairs) |"
      + (" C insmod → enable, ms | Rust insmod → enable, ms |" if with_load else ""))
    w("| --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if with_load else ""))
    for section, label in LATENCY_CASES:
        clock = r.clock(section)
        for p in r.params(section, "enable_to_complete_ms"):
            c = r.get(section, "enable_to_complete_ms", "c", p)
            rs = r.get(section, "enable_to_complete_ms", "rs", p)
            pairs = r.paired(section, "enable_to_complete_ms", p)
            cells = [spread(c, 2) if c else "-", spread(rs, 2) if rs else "-",
                     f"{fmt(pairs.median, 3)} ({fmt(pairs.min, 3)}–{fmt(pairs.max, 3)})"
                     if pairs else "-"]
            for variant in ("c", "rs") if with_load else ():
                load_ms = r.get(section, "insmod_to_enable_ms", variant, p)
                cells.append(fmt(load_ms.median, 1)
                             if load_ms and r.has_load_times(section) else "-")
            w(f"| {label} | {p} | {CLOCK_NAMES.get(clock, '-')} | " + " | ".join(cells) + " |")
    w("")


def footprint_table(r, w):
    w("| module | resident bytes | .ko text / data / bss | insmod ms |")
    w("| --- | --- | --- | --- |")
    seen = set()
    for label, c_label in COUNTERPARTS.items():
        for variant, name in (("rs", label), ("c", c_label)):
            if (variant, name) in seen:
                continue
            seen.add((variant, name))
            size = r.get("footprint", "resident_bytes", variant, name)
            if size is None:
                continue
            ko = [r.get("footprint", f"ko_{part}_bytes", variant, name)
                  for part in ("text", "data", "bss")]
            load_ms = r.get("footprint", "insmod_ms", variant, name)
            shown = f"{name} ({'Rust' if variant == 'rs' else 'C'})"
            if variant == "c" and name in C_KO:
                shown = f"{name} (C, {C_KO[name]})"
            w(f"| {shown} | {fmt(size.median, 0)} | "
              + " / ".join(fmt(k.median, 0) if k else "-" for k in ko)
              + f" | {spread(load_ms, 1) if load_ms else '-'} |")
    w("")


def line_title(r):
    release = f" ({r.release})" if r.release else ""
    return f"Line {r.line}{release}"


def line_section(r, w):
    """Every table of one kernel line."""
    w(f"## {line_title(r)}")
    w("")
    w(f"The guest runs {LINE_KERNELS.get(r.line, 'the kernel of line ' + r.line)}.")
    w("")
    w("### Ratios (Rust / C)")
    w("")
    ratios_table(r, w)
    if r.get("calls", "returns", "unpatched"):
        w("### Patched-call cost")
        w("")
        calls_table(r, w)
    if any(r.clock(section) for section, _ in LATENCY_CASES):
        w("### Transition latency")
        w("")
        latency_table(r, w)
    if any(k[0] == "footprint" for k in r.stats):
        w("### Footprint")
        w("")
        footprint_table(r, w)


def explanations(reports, w, plotted):
    """What each part measures and how: the same for every line."""
    unit = {r.call_unit() for r in reports if r.get("calls", "returns", "unpatched")}
    w("## What is measured")
    w("")
    w("A ratio of a latency is the median over the repetitions of the Rust run"
      " over the C run next to it (in brackets, in a line's own table: the lowest"
      " and highest such pair); the others are ratios of the medians. Cells are"
      " medians, in brackets min–max over the repetitions.")
    w("")
    w("**Patched-call cost.** `klp_bench_target_fn()` called in a tight loop from"
      " the harness module, in short repetitions, each paired with the same loop"
      " over `klp_bench_ref_fn()`, an identical function that is never patched.")
    if "insns" in unit:
        w("On the instruction clock a guest ns is one executed instruction, so the"
          " loop's time per call is the **instructions per call**: the figure"
          " compared. It is exact: the same loop executes the same instructions"
          " every time, and only an interrupt adds to a loop; loops of at most 0.2M"
          " instructions are seldom hit (a tick comes every 4M), so the median is the"
          " count and repeats from run to run, and an interrupt only shows in the"
          " maximum. The loop runs with CPU 1 offline, because the"
          " clock counts the instructions of both vCPUs. The few hundredths above"
          " a whole number are the loop's own reads of the clock, spread over its"
          " 2000 calls.")
    if "ns" in unit:
        w("On the host's clock `relative` is the per-repetition quotient of the two"
          " loops, and the figure compared: the emulated CPU's speed changes from one"
          " module load to the next (it shows in the reference loop, which is the"
          " same for every variant), which moves the ns per call of whole rounds but"
          " not their quotient.")
    w("`returns` is what one call returned: 1 for the original function, 2 for"
      " the replacement. During a transition the calling task may already be"
      " switched to the new code, or not.")
    w("")
    w("**Transition latency** is `enable → transition 0`: from the core's"
      " `enabling patch` line, in `klp_enable_patch()`, to its `patching"
      " complete` line, when `transition` reads 0 (printk timestamps). The code"
      " timed is the livepatch core's, the same for both patches: what a patch"
      " brings to it is its `klp_patch`, `klp_object` and `klp_func` structures."
      " What comes before it, loading the module, is where a Rust and a C module"
      " differ: see the insmod times under Footprint.")
    w("")
    w("All but the `2 CPUs` rows run with CPU 1 offline. The core tries to switch"
      " every task right in `klp_enable_patch()`, and retries once a second on"
      " whole seconds (`round_jiffies()`) if a task could not be switched; on"
      " 2 CPUs the first attempt nearly always meets a task running on the other"
      " CPU (its idle task, or a busy kthread), so the latency is mostly that"
      " retry. With one CPU online the first attempt checks every task, and the"
      " figure is the core's work over N tasks (or K NOPs). The `2 CPUs` rows"
      " show the other case; there each insmod starts 300 ms past a whole"
      " second, so the retry comes as late for C as for Rust. Busy tasks are"
      " `SCHED_IDLE` kthreads spinning in `cond_resched()`; the latency runs"
      " have the scheduler's `PLACE_LAG` feature off (see"
      " `Documentation/bench/method.md`).")
    w("")
    if not all(r.has_load_times(section) for r in reports
               for section, _ in LATENCY_CASES if r.clock(section)):
        w("`insmod → enable` (module load and init) is not given on the"
          " instruction clock: it waits for the host to read the module over 9p,"
          " and an idle guest skips ahead by whole timer periods while it does,"
          " so that time follows the host. The wall-clock insmod times are"
          " under Footprint.")
        w("")
    if plotted:
        w(f"![transition latency against N and K, one row per line ({', '.join(plotted)})]"
          "(latency.png)")
        w("")
    w("**Footprint.** Resident size is the `/proc/modules` size column (all the"
      " module's allocated sections, symbol table included); `.ko` sizes are"
      " `size`'s text, data and bss. Load time is the wall time of `insmod`"
      " (median of the repetitions), on the host's clock. The C counterparts of"
      " the samples are the kernel's own `samples/livepatch` modules, built for"
      " that line's kernel.")
    w("")


def the_run(reports, args, w):
    w("## The run")
    w("")
    if args.wall_seconds:
        w(f"- `make bench` wall time: {minutes(args.wall_seconds)} (build, boot,"
          " measurements and report, every line).")
    for r in reports:
        if r.seconds:
            w(f"- Line {r.line}: {minutes(r.seconds)} (its modules, its two VMs).")
        for clock, samples in r.load.items():
            if samples:
                w(f"- Line {r.line}, host load average (1 min) during the"
                  f" {CLOCK_NAMES.get(clock, clock)}-clock VM's run: mean"
                  f" {statistics.mean(samples):.1f}, max {max(samples):.1f}, over"
                  f" {len(samples)} samples (2 cores: above 2 means the VM shared the"
                  " CPUs with other work).")
    w("- Guests: 2 vCPUs, 1 GiB, QEMU running both vCPUs in one host thread.")
    w("- Method: `bench/bench-guest.sh`; the modules: `bench/`.")
    w("")


def markdown(reports, args, plotted):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    w = out.append
    w("# klp-rs benchmark: Rust live patches against C")
    w("")
    w(f"Generated by `make bench` (`scripts/bench.sh`, `bench/report.py`) on {now};"
      " do not edit by hand. Raw samples: `results.csv` next to this file.")
    w("")
    w("> **Absolute numbers come from an emulated VM**: QEMU TCG (no KVM), 2 vCPUs,"
      " on a 2-core host shared with other builds and VMs. Only the Rust/C ratios,"
      " measured side by side in the same run and in alternating order, are meant"
      " to be compared; the absolute times of TCG are many times those of real"
      " hardware.")
    w("")
    w("Each kernel line is measured in its own VMs, two boots of its kernel, one"
      " per clock (`clock` column). On the **instructions** clock (QEMU `-icount"
      " shift=0,sleep=off`) the guest's time advances by 1 ns per executed guest"
      " instruction, and an idle guest skips to its next timer: the patched-call"
      " cost (in instructions per call) and the transition latencies are measured"
      " there, because on the host clock the speed of the emulator changed from"
      " one `insmod` to the next by up to 50%, on all of a transition's steps at"
      " once, which made a 15 ms latency differ by ±30% between two runs of the"
      " same patch. On the instruction clock a latency is the work the guest"
      " did, the same from one run to the next to within 0.5%, and a call costs"
      " the same instructions every time. On the **host** clock the guest's time"
      " follows the host's, as QEMU normally runs: the footprint is measured"
      " there, as loading a module waits for the host."
      " `Documentation/bench/method.md` has the measurements behind this.")
    w("")
    if args.quick == "1":
        w("> This is a **quick run** (`KLP_BENCH_QUICK=1`): fewer repetitions, smaller N and K.")
        w("")
    w("## Ratios (Rust / C) per kernel line")
    w("")
    for r in reports:
        w(f"- **{r.line}**: {LINE_KERNELS.get(r.line, 'the kernel of line ' + r.line)}"
          + (f"; guest kernel `{r.release}`." if r.release else "."))
    w("")
    summary(reports, w)
    explanations(reports, w, plotted)
    for r in reports:
        line_section(r, w)
    the_run(reports, args, w)
    return "\n".join(out)


def plot_line(r, axes):
    """The latency panels of one line: against N, and against K."""
    styles = {"c": ("C", "o", "tab:blue"), "rs": ("Rust", "s", "tab:orange")}
    panels = (
        (axes[0], (("transition_sleep", "sleeping", "-"), ("transition_busy", "busy", "--")),
         "N tasks", "enable → transition 0 against N (1 CPU)", "linear"),
        (axes[1], (("replace", "replace (K NOPs)", "-"), ("patch_k", "K-function patch", "--")),
         "K functions", "enable → transition 0 against K (1 CPU)", "log"),
    )
    clock_label = "instruction clock" if r.clock("transition_sleep") == "icount" else "host clock"
    for ax, series, xlabel, title, yscale in panels:
        for section, label, line in series:
            for variant, (lang, marker, color) in styles.items():
                xs, ys, lo, hi = [], [], [], []
                for p in r.params(section, "enable_to_complete_ms"):
                    s = r.get(section, "enable_to_complete_ms", variant, p)
                    if s is None or not p.isdigit():
                        continue
                    xs.append(int(p))
                    ys.append(s.median)
                    lo.append(s.median - s.min)
                    hi.append(s.max - s.median)
                if xs:
                    ax.errorbar(xs, ys, yerr=[lo, hi], label=f"{lang}, {label}", marker=marker,
                                linestyle=line, color=color, capsize=3)
        ax.set_xscale("log")
        ax.set_yscale(yscale)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms, " + clock_label + " (median, min–max)")
        ax.set_title(f"{r.line}: {title}", fontsize=10)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)


def plot(reports, path):
    """latency.png: one row of panels per line that has latencies. Returns the
    lines plotted."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib is not installed; no plot", file=sys.stderr)
        return []

    shown = [r for r in reports if r.clock("transition_sleep") or r.clock("replace")]
    if not shown:
        return []
    fig, axes = plt.subplots(len(shown), 2, figsize=(11, 4.2 * len(shown)), squeeze=False)
    for r, row in zip(shown, axes):
        plot_line(r, row)
    fig.suptitle("klp-rs: Rust vs C live patch transition latency per kernel line"
                 " (QEMU TCG guest)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return [r.line for r in shown]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--wall-seconds", type=int)
    ap.add_argument("--quick", default="0")
    args = ap.parse_args()

    lines = find_lines(args.results)
    if not lines:
        sys.exit(f"report: no samples in {args.results}/LINE/{{{','.join(CLOCKS)}}}/raw.csv")
    reports = [Report(line, os.path.join(args.results, line)) for line in lines]

    os.makedirs(args.out, exist_ok=True)
    write_csv(reports, os.path.join(args.out, "results.csv"))
    plotted = plot(reports, os.path.join(args.out, "latency.png"))
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown(reports, args, plotted))
    written = "results.csv, results.md" + (" and latency.png" if plotted else "")
    print(f"report: wrote {written} for line(s) {', '.join(lines)} into {args.out}")


if __name__ == "__main__":
    main()
