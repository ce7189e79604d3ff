#!/usr/bin/python3
"""Acceptance H: run `ecramsim paper` into a scratch folder, then read every HDF5 file it wrote
with h5py and require a `units` attribute on every numeric dataset, the root attributes of the
schema, and a PNG per file. Issue 17: every array group opens in xarray (h5netcdf) with named
dimensions and coordinates and h5py's values (A), and `ecramsim inspect` prints no number with
more than 15 significant digits (C). Usage: check_paper_h5.py ECRAMSIM_BINARY SCRATCH_DIR"""
import glob
import os
import shutil
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readable  # noqa: E402

ROOT_ATTRS = ("tool_version", "schema_version", "command_line", "seed", "start_time", "status")

# Dimensions each paper file must have (issue 17): the axes its arrays lie along.
EXPECTED_DIMS = {
    "array_program.h5": ("time", "cell", "row", "col"),
    "device_pulses.h5": ("pulse", "pulse_number"),
    "device_states.h5": ("state", "iv_v"),
    "device_retention.h5": ("state", "time_s"),
    "device_uniformity.h5": ("device", "pulse_number"),
    "program_patterns.h5": ("row", "col"),
    "train_mushroom.h5": ("epoch", "row", "col", "bin", "feature"),
    "train_vgg8.h5": ("epoch", "row", "col"),
    "vmm.h5": ("vector", "row", "col", "state"),
}


def main(binary, scratch):
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run([binary, "paper", "--out", scratch, "--quiet"], check=True)
    files = sorted(glob.glob(os.path.join(scratch, "*.h5")))
    if len(files) < 7:
        print("expected at least 7 result files, found %d" % len(files))
        return 1
    if glob.glob(os.path.join(scratch, "*.tmp*")):
        print("temporary files left behind")
        return 1
    problems = []
    checked = 0
    for path in files:
        with h5py.File(path, "r") as f:
            for a in ROOT_ATTRS:
                if a not in f.attrs:
                    problems.append("%s: root attribute %s missing" % (path, a))

            def visit(name, obj):
                nonlocal checked
                if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "fiu":
                    checked += 1
                    if "units" not in obj.attrs:
                        problems.append("%s: /%s has no units attribute" % (path, name))
            f.visititems(visit)
    groups = 0
    for path in files:
        found, n, dims = readable.check_netcdf(path, EXPECTED_DIMS.get(os.path.basename(path), ()))
        problems += found
        groups += n
        generic = [d for d in dims if "_dim" in d]
        if generic:
            problems.append("%s: axes without a declared name: %s" % (path, ", ".join(generic)))
        text = subprocess.run([binary, "inspect", path], check=True, capture_output=True,
                              text=True).stdout
        for number in readable.long_numbers(text):
            problems.append("%s: inspect prints %s (more than 15 significant digits)"
                            % (path, number))
    print("xarray opened %d array groups" % groups)
    if len(glob.glob(os.path.join(scratch, "*.png"))) < len(files):
        problems.append("fewer PNG figures than result files")
    for p in problems:
        print(p)
    print("checked %d numeric datasets in %d files: %d problems" % (checked, len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
