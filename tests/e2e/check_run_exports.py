#!/usr/bin/python3
"""Issue 17 on an `ecramsim run` file (netlists/cell_bench.cir, under a second):
A. every array group opens in xarray (h5netcdf) with dimensions time, node, source, cell, their
   coordinates, and h5py's values (and those of a 3-point sweep index, along point);
B. `export --format raw` (ASCII and binary) loads in `ngspice -b`, which prints a node voltage
   and a cell state at a time point equal to the HDF5 values within 1e-12 relative; the CSV
   export reads back through numpy equal to the HDF5 values;
C. `--help` of every subcommand prints no number with more than 15 significant digits;
and the README's "Reading the results" examples (python and sh blocks) run.
Usage: check_run_exports.py ECRAMSIM_BINARY SOURCE_DIR SCRATCH_DIR"""
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readable  # noqa: E402


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def ngspice_values(raw, names, index, scratch):
    """The values ngspice prints for `name[index]` after `load raw`."""
    ctl = os.path.join(scratch, "load.cir")
    with open(ctl, "w") as f:
        f.write("* load an ecramsim raw file\n.control\nload %s\nset numdgt=17\n" % raw)
        for n in names:
            f.write("print %s[%d]\n" % (n, index))
        f.write(".endc\n.end\n")
    out = subprocess.run(["ngspice", "-b", ctl], capture_output=True, text=True, cwd=scratch)
    values = {}
    for n in names:
        m = re.search(re.escape("%s[%d]" % (n, index)) + r"\s*=\s*(\S+)", out.stdout)
        values[n] = float(m.group(1)) if m else None
    return values, out.stdout + out.stderr


def help_texts(binary, path=()):
    """(command, --help text) of the program and every subcommand, recursively."""
    text = run([binary, *path, "--help"])
    found = [(" ".join(path) or "ecramsim", text)]
    section = re.split(r"(?i)subcommands:", text, maxsplit=1)
    if len(section) == 2:
        for line in section[1].splitlines():
            m = re.match(r"^  (\w[\w-]*)\s", line)
            if m:
                found += help_texts(binary, path + (m.group(1),))
    return found


def readme_blocks(source):
    """The python and sh code blocks of README.md's section "Reading the results"."""
    with open(os.path.join(source, "README.md")) as f:
        text = f.read()
    section = text.split("## Reading the results", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(python|sh)\n(.*?)```", section, re.S)


def main(binary, source, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    problems = []
    h5 = os.path.join(scratch, "run.h5")
    run([binary, "run", os.path.join(source, "netlists", "cell_bench.cir"), "-o", h5, "--quiet"])

    # A
    found, groups, _ = readable.check_netcdf(h5, ("time", "node", "source", "cell"))
    problems += found
    print("A: xarray opened %d array groups of run.h5: %d problems" % (groups, len(found)))
    # ... and a sweep index (3 points of a shipped spec), whose columns lie along `point`
    sweep = os.path.join(scratch, "sweep")
    run([binary, "sweep", os.path.join(source, "examples", "sweeps", "gate_iv_margin.toml"),
         "--shard", "1/6", "-o", sweep, "--quiet"])
    index = os.path.join(sweep, "index.shard-1-of-6.h5")
    found, groups, _ = readable.check_netcdf(index, ("point",))
    problems += found
    print("A: xarray opened %d array groups of a sweep index: %d problems" % (groups, len(found)))

    with h5py.File(h5, "r") as f:
        time = f["/waveforms/time_s"][()]
        nodes = [n.decode() for n in f["/waveforms/node_names"][()]]
        node_v = f["/waveforms/node_v"][()]
        cells = [n.decode() for n in f["/waveforms/cell_names"][()]]
        cell_x = f["/waveforms/cell_x"][()]

    # B: raw files through ngspice
    # a point in the second pulse, every node voltage, the state of the cell and the time
    k = int(np.searchsorted(time, 0.26))
    names = ["v(%s)" % n for n in nodes] + ["x(%s)" % cells[0], "time"]
    expect = list(node_v[k]) + [cell_x[k, 0], time[k]]
    for fmt in ([], ["--binary"]):
        raw = os.path.join(scratch, "run%s.raw" % ("_bin" if fmt else ""))
        run([binary, "export", h5, "--format", "raw", *fmt, "-o", raw])
        got, log = ngspice_values(raw, names, k, scratch)
        worst = 0.0
        for n, e in zip(names, expect):
            g = got[n]
            if g is None or abs(g - e) > 1e-12 * abs(e):
                problems.append("B: %s %s[%d]: ngspice %s, HDF5 %r\n%s" % (raw, n, k, g, e, log))
            elif e != 0:
                worst = max(worst, abs(g - e) / abs(e))
        print("B: ngspice load %s: %s at point %d (t = %g s), e.g. x(%s) = %r (HDF5 %r); "
              "worst relative difference %.3g" % (os.path.basename(raw), ", ".join(names), k,
                                                  time[k], cells[0], got[names[-2]], expect[-2],
                                                  worst))

    # B: CSV through numpy
    csv = os.path.join(scratch, "run.csv")
    run([binary, "export", h5, "--format", "csv", "--group", "/waveforms", "-o", csv, "--quiet"])
    with open(csv) as f:
        header = f.readline().rstrip("\n").split(",")
    table = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
    if header[0] != "time [s]" or not np.array_equal(table[:, 0], time):
        problems.append("B: CSV time column differs: %s" % header[0])
    for c, n in enumerate(nodes):
        col = header.index("node_v.%s [V]" % n) if "node_v.%s [V]" % n in header else None
        if col is None or not np.array_equal(table[:, col], node_v[:, c]):
            problems.append("B: CSV column node_v.%s differs or is missing" % n)
    print("B: CSV %d rows x %d columns read back through numpy" % table.shape)

    # B: CSV of another kind of file (a device protocol), and raw refused on it (exit 2, named)
    dev = os.path.join(scratch, "gate_iv.h5")
    run([binary, "device", "gate-iv", "--points", "11", "-o", dev, "--quiet"])
    text = run([binary, "export", dev, "--format", "csv", "--group", "/gate_iv"])
    header = text.splitlines()[0].split(",")
    table = np.loadtxt(text.splitlines()[1:], delimiter=",", ndmin=2)
    with h5py.File(dev, "r") as f:
        for c, name in enumerate(header):
            path = "/gate_iv/" + name.split(" [")[0]
            if not np.array_equal(table[:, c], f[path][()]):
                problems.append("B: CSV of %s: column %s differs" % (dev, name))
    refused = subprocess.run([binary, "export", dev, "--format", "raw"], capture_output=True,
                             text=True)
    if refused.returncode != 2 or dev not in refused.stderr or "time_s" not in refused.stderr:
        problems.append("B: raw export of a device file: status %d, %s"
                        % (refused.returncode, refused.stderr))
    print("B: CSV of /gate_iv (%s) read back; raw of a device file refused: %s"
          % (", ".join(header), refused.stderr.strip()))

    # C: help texts
    helps = help_texts(binary)
    for cmd, text in helps:
        for number in readable.long_numbers(text):
            problems.append("C: `%s --help` prints %s" % (cmd, number))
    print("C: %d help texts scanned" % len(helps))

    # README examples, run where run.h5 lies
    blocks = readme_blocks(source)
    env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(binary)) + ":" + os.environ["PATH"])
    for lang, code in blocks:
        cmd = [sys.executable, "-c", code] if lang == "python" else ["sh", "-ec", code]
        r = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            problems.append("README %s example failed:\n%s\n%s" % (lang, code, r.stderr))
    print("README: %d examples run" % len(blocks))

    for p in problems:
        print(p)
    print("%d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
