#!/usr/bin/python3
"""Acceptance H: run `ecramsim paper` into a scratch folder, then read every HDF5 file it wrote
with h5py and require a `units` attribute on every numeric dataset, the root attributes of the
schema, and a PNG per file. Usage: check_paper_h5.py ECRAMSIM_BINARY SCRATCH_DIR"""
import glob
import os
import shutil
import subprocess
import sys

import h5py

ROOT_ATTRS = ("tool_version", "schema_version", "command_line", "seed", "start_time", "status")


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
    if len(glob.glob(os.path.join(scratch, "*.png"))) < len(files):
        problems.append("fewer PNG figures than result files")
    for p in problems:
        print(p)
    print("checked %d numeric datasets in %d files: %d problems" % (checked, len(files), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
