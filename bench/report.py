#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the samples of `make bench` into results.csv, results.md, latency.png.

    bench/report.py --results results/bench --out Documentation/bench \
        [--wall-seconds S] [--quick 0|1]

The results directory has one subdirectory per guest clock, `wall` and
`icount` (see scripts/bench.sh), each with the raw.csv bench/bench-guest.sh
wrote, one sample a line: `section,metric,variant,param,rep,value,unit`, and
the host's load average during that VM's run (host-load.txt). results.csv
has one line per (section, metric, variant, param): the clock, the number of
samples, median, min, max. results.md leads with the Rust/C ratios against
the targets. The plot needs matplotlib; without it the tables are still
written.
"""

import argparse
import csv
import datetime
import os
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
    "livepatch_sample": "livepatch-sample.ko (kernel samples/livepatch)",
    "livepatch_callbacks_demo": "livepatch-callbacks-demo.ko (kernel samples/livepatch)",
}


def param_key(param):
    """Sorts numeric parameters numerically."""
    return (0, int(param)) if param.isdigit() else (1, param)


# The guest clocks, in the order their VMs run.
CLOCKS = ("wall", "icount")


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


class Stats:
    """Median, lower decile, min, max and count of one group of samples."""

    def __init__(self, values):
        ordered = sorted(values)
        self.n = len(ordered)
        self.median = statistics.median(ordered)
        self.p10 = ordered[(self.n - 1) // 10]
        self.min = ordered[0]
        self.max = ordered[-1]


def fmt(value, digits=1):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def spread(s, digits=1):
    return f"{fmt(s.median, digits)} ({fmt(s.min, digits)}–{fmt(s.max, digits)})"


def verdict(ratio, target):
    if ratio is None:
        return "-"
    return "yes" if ratio <= target else "**no**"


class Report:
    def __init__(self, groups, by_rep, units, clocks):
        self.stats = {key: Stats(values) for key, values in groups.items()}
        self.by_rep = by_rep
        self.units = units
        self.clocks = clocks

    def clock(self, section):
        return self.clocks.get(section)

    def has_load_times(self, section):
        """Whether the times from insmod on (module load and init) mean
        something in SECTION: only on the host's clock. On the instruction
        clock they include the waits for the host's 9p I/O, during which an
        idle guest skips ahead by whole timer periods."""
        return self.clock(section) == "wall"

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

    def write_csv(self, path):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["section", "metric", "variant", "param", "clock", "n", "median",
                        "p10", "min", "max", "unit"])
            for key, s in self.stats.items():
                w.writerow([*key, self.clock(key[0]), s.n, f"{s.median:.3f}", f"{s.p10:.3f}",
                            f"{s.min:.3f}", f"{s.max:.3f}", self.units[key]])


# How the tables name the guest clocks.
CLOCK_NAMES = {"wall": "host", "icount": "instructions"}

# The latency sections of the headline table, and their row labels.
LATENCY_SECTIONS = (
    ("transition_sleep", "{} → transition 0, {} sleeping tasks"),
    ("transition_busy", "{} → transition 0, {} busy tasks"),
    ("replace", "{} → transition 0, replacing a {}-function patch"),
    ("transition2_sleep", "2 CPUs: {} → transition 0, {} sleeping tasks"),
)


def ratio_rows(r):
    """(what, clock, C cell, Rust cell, ratio, ratio note, target) for the headline table."""
    rows = []
    for kind, label in (("patched", "patched call, cost relative to an unpatched call"),
                        ("transition", "call during a transition, relative cost")):
        c = r.get("calls", "relative_cost", f"{kind}_c")
        rs = r.get("calls", "relative_cost", f"{kind}_rs")
        rows.append((label, CLOCK_NAMES.get(r.clock("calls"), "-"),
                     spread(c, 2) if c else "-", spread(rs, 2) if rs else "-",
                     r.ratio(rs, c), "of the medians", CALL_TARGET))
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


def markdown(r, args, load):
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
    w("Two boots of the VM, one per clock (`clock` column). On the **host** clock"
      " the guest's time follows the host's, as QEMU normally runs: the"
      " patched-call cost and the footprint are measured there. On the"
      " **instructions** clock (QEMU `-icount shift=0,sleep=off`) the guest's"
      " time advances by 1 ns per executed guest instruction, and an idle guest"
      " skips to its next timer: the transition latencies are measured there,"
      " because on the host clock the speed of the emulator changed from one"
      " `insmod` to the next by up to 50%, on all of a transition's steps at"
      " once, which made a 15 ms latency differ by ±30% between two runs of the"
      " same patch. On the instruction clock a latency is the work the guest"
      " did, the same from one run to the next to within 0.5%."
      " `Documentation/bench/method.md` has the measurements behind this.")
    w("")
    if args.quick == "1":
        w("> This is a **quick run** (`KLP_BENCH_QUICK=1`): fewer repetitions, smaller N and K.")
        w("")
    w("## Ratios (Rust / C)")
    w("")
    w("Medians, in brackets min–max over the repetitions. The call cost is"
      " relative to an unpatched call made right next to it (see below). A"
      " latency ratio is the median over the repetitions of the Rust run over"
      " the C run next to it (in brackets: the lowest and highest such pair).")
    w("")
    w("Transition latency is `enable → transition 0`: from the core's"
      " `enabling patch` line, in `klp_enable_patch()`, to its `patching"
      " complete` line, when `transition` reads 0 (printk timestamps). What"
      " comes before it, loading the module, is where a Rust and a C module"
      " differ: see the insmod times under Footprint.")
    w("")
    w("| measure | clock | C | Rust | Rust/C | target | met |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for what, clock, c, rs, ratio, note, target in ratio_rows(r):
        shown = fmt(ratio, 3) if ratio is not None else "-"
        if note and ratio is not None:
            shown += f" ({note})"
        w(f"| {what} | {clock} | {c} | {rs} | {shown} | ≤ {target:g} |"
          f" {verdict(ratio, target)} |")
    w("")

    w("## Patched-call cost")
    w("")
    w("`klp_bench_target_fn()` called in a tight loop from the harness module,"
      " in short repetitions (a few ms each), each paired with the same loop over"
      " `klp_bench_ref_fn()`, an identical function that is never patched."
      " `relative` is the per-repetition quotient of the two, and the figure"
      " compared: the emulated CPU's speed changed from one module load to the"
      " next (it shows in the reference loop, which is the same for every"
      " variant), which moves the ns per call of whole rounds but not their"
      " quotient.")
    w("")
    w("| variant | ns per call, median (min–max) | reference ns, median | relative, median (min–max) | samples | returns |")
    w("| --- | --- | --- | --- | --- | --- |")
    names = {
        "unpatched": "unpatched",
        "patched_c": "patched by the C live patch",
        "patched_rs": "patched by the Rust live patch",
        "transition_c": "C patch, transition held open",
        "transition_rs": "Rust patch, transition held open",
    }
    for variant, label in names.items():
        s = r.get("calls", "ns_per_call", variant)
        ref = r.get("calls", "ref_ns_per_call", variant)
        rel = r.get("calls", "relative_cost", variant)
        ret = r.get("calls", "returns", variant)
        if s:
            w(f"| {label} | {spread(s, 1)} | {fmt(ref.median, 1) if ref else '-'} | "
              f"{spread(rel, 2) if rel else '-'} | {s.n} | {fmt(ret.median, 0) if ret else '-'} |")
    w("")
    w("`returns` is what one call returned: 1 for the original function, 2 for"
      " the replacement. During a transition the calling task may already be"
      " switched to the new code, or not.")
    w("")

    w("## Transition latency")
    w("")
    w("From the core's `enabling patch` line to its `patching complete` line"
      " (when `transition` reads 0), printk timestamps, on the clock in the"
      " `clock` column. The code timed is the livepatch core's, the same for"
      " both patches: what a patch brings to it is its `klp_patch`,"
      " `klp_object` and `klp_func` structures.")
    w("")
    w("All but the last rows run with CPU 1 offline. The core tries to switch"
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
    cases = (("transition_sleep", "N sleeping"), ("transition_busy", "N busy (SCHED_IDLE)"),
             ("replace", "replace, K NOPs"), ("patch_k", "K-function patch"),
             ("transition2_sleep", "2 CPUs, N sleeping"))
    with_load = any(r.has_load_times(section) for section, _ in cases)
    w("| case | param | clock | C enable → 0, ms | Rust enable → 0, ms | Rust/C (pairs) |"
      + (" C insmod → enable, ms | Rust insmod → enable, ms |" if with_load else ""))
    w("| --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if with_load else ""))
    for section, label in cases:
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
    if not all(r.has_load_times(section) for section, _ in cases if r.clock(section)):
        w("`insmod → enable` (module load and init) is not given on the"
          " instruction clock: it waits for the host to read the module over 9p,"
          " and an idle guest skips ahead by whole timer periods while it does,"
          " so that time follows the host. The wall-clock insmod times are"
          " under Footprint.")
        w("")
    w("![transition latency against N and K](latency.png)")
    w("")

    w("## Footprint")
    w("")
    w("Resident size is the `/proc/modules` size column (all the module's"
      " allocated sections, symbol table included); `.ko` sizes are `size`'s text,"
      " data and bss. Load time is the wall time of `insmod` (median of the repetitions).")
    w("")
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

    w("## The run")
    w("")
    if args.wall_seconds:
        m, s = divmod(int(args.wall_seconds), 60)
        w(f"- `make bench` wall time: {m}:{s:02d} (build, boot, measurements and report).")
    for clock, samples in load.items():
        if samples:
            w(f"- Host load average (1 min) during the {CLOCK_NAMES.get(clock, clock)}-clock"
              f" VM's run: mean {statistics.mean(samples):.1f}, max {max(samples):.1f},"
              f" over {len(samples)} samples (2 cores: above 2 means the VM shared the"
              " CPUs with other work).")
    w("- Guest: the klp-rs test kernel (Linux 6.12, `PREEMPT_NONE`, HZ=250), 2 vCPUs, 1 GiB;"
      " on the instruction clock QEMU runs both vCPUs in one host thread.")
    w("- Method: `bench/bench-guest.sh`; the modules: `bench/`.")
    w("")
    return "\n".join(out)


def plot(r, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib is not installed; no plot", file=sys.stderr)
        return False

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
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
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle("klp-rs: Rust vs C live patch transition latency (QEMU TCG guest)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--wall-seconds", type=int)
    ap.add_argument("--quick", default="0")
    args = ap.parse_args()

    groups, by_rep, units, clocks = load(args.results)
    if not groups:
        sys.exit(f"report: no samples in {args.results}/{{{','.join(CLOCKS)}}}/raw.csv")
    r = Report(groups, by_rep, units, clocks)
    load_samples = host_load(args.results)

    os.makedirs(args.out, exist_ok=True)
    r.write_csv(os.path.join(args.out, "results.csv"))
    plotted = plot(r, os.path.join(args.out, "latency.png"))
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown(r, args, load_samples))
    written = "results.csv, results.md" + (" and latency.png" if plotted else "")
    print(f"report: wrote {written} into {args.out}")


if __name__ == "__main__":
    main()
