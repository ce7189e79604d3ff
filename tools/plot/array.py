#!/usr/bin/python3
"""Figures of co-simulated arrays (ngspice + ECRAM cells).

Usage: /usr/bin/python3 tools/plot/array.py FILE.h5 [OUT.png]

FILE.h5 is either `array_program.h5` of `ecramsim paper` (groups /v2 and /v3: one programming
pulse on cell (5,5) of the 10x10 array under V/2 and V/3) or the file of an `ecramsim run`
(/waveforms). OUT.png defaults to FILE with the extension .png. Needs Debian's python3-h5py,
-numpy and -matplotlib.
"""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TRACES = (("selected", "C3"), ("row", "C0"), ("col", "C2"), ("other", "0.5"))


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def plot_program(f, out_png):
    """Per scheme: gate-channel voltages, |delta G| of the traced cells, |delta G| map."""
    schemes = [s for s in ("v2", "v3") if s in f]
    fig, axes = plt.subplots(len(schemes), 3, figsize=(13, 3.6 * len(schemes)), squeeze=False)
    for row, s in zip(axes, schemes):
        g = f[s]
        t = g["time_s"][()] * 1e3
        label = {"v2": "V/2", "v3": "V/3"}[s]
        a1, a2, a3 = row
        for name, color in TRACES:
            tr = g["traces/" + name]
            cell = _text(tr.attrs["cell"])
            a1.plot(t, tr["v_gd_v"][()], color=color, lw=1.0, label="%s %s gate-drain" % (name, cell))
            a1.plot(t, tr["v_gs_v"][()], color=color, lw=1.0, ls="--", label="gate-source")
            dg = np.abs(tr["g_s"][()] - tr["g_s"][0])
            a2.semilogy(t, np.maximum(dg, 1e-20), color=color, lw=1.0, label="%s %s" % (name, cell))
        a1.set_xlabel("time (ms)")
        a1.set_ylabel("gate-channel voltage (V)")
        a1.set_title("%s: gate-channel voltages" % label)
        a1.legend(fontsize=6, ncol=2)
        a2.set_xlabel("time (ms)")
        a2.set_ylabel("|G(t) - G(0)| (S)")
        a2.set_title("%s: selected vs half-selected" % label)
        a2.legend(fontsize=6)
        dgmap = np.abs(g["dg_s"][()])
        im = a3.imshow(np.log10(np.maximum(dgmap, 1e-20)), cmap="viridis", origin="upper")
        fig.colorbar(im, ax=a3, label="log10 |delta G| (S)")
        a3.set_xlabel("column")
        a3.set_ylabel("row")
        sel = f["/metrics/%s/selectivity" % s][()]
        a3.set_title("%s: disturb map, selectivity %.3g" % (label, sel))
    fig.suptitle("One +5 V / 100 ms pulse on cell (5,5) of the 10x10 array, co-simulated with ngspice")
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)


def plot_run(f, out_png):
    """An `ecramsim run` file: every cell's G(t) and the gate-channel voltages."""
    w = f["/waveforms"]
    t = w["time_s"][()]
    names = [_text(n) for n in w["cell_names"][()]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    g = w["cell_g_s"][()]
    for k, name in enumerate(names[:50]):
        a1.plot(t, g[:, k] * 1e6, lw=0.8, label=name if k < 10 else None)
        a2.plot(t, w["cell_v_gd_v"][()][:, k], lw=0.8)
    a1.set_xlabel("time (s)")
    a1.set_ylabel("G (uS)")
    if names:
        a1.legend(fontsize=6)
    a2.set_xlabel("time (s)")
    a2.set_ylabel("gate-drain voltage (V)")
    fig.suptitle(_text(f["/"].attrs.get("command_line", "ecramsim run")))
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)


def plot_file(path, out_png):
    with h5py.File(path, "r") as f:
        if "v2" in f or "v3" in f:
            plot_program(f, out_png)
        elif "waveforms" in f:
            plot_run(f, out_png)
        else:
            raise SystemExit("array.py: %s holds neither /v2 nor /waveforms" % path)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[2] if len(argv) == 3 else os.path.splitext(argv[1])[0] + ".png"
    plot_file(argv[1], out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
