#!/usr/bin/python3
"""Overlay of an `ecramsim fit` result: data against the fitted card.

Usage: /usr/bin/python3 tools/plot/fit.py FIT.h5 [OUT.png] [--quiet]

Per branch (up = set, down = reset): every measured ramp (thin grey), the mean of the ramps,
the fitted card's mean (noise-free, every ramp simulated from its first reading) and its +-1
sigma band (noisy simulations with the fitted dg_c2c); then dG against G (data binned, model at
the bin centres) and the binned step residuals with their standard errors (the trend
diagnostic). CrossSim tables: median row against the model's step. Needs Debian's python3-h5py,
-numpy and -matplotlib.
"""
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

US = 1e6


def metric(f, name):
    key = "metrics/" + name
    return float(f[key][()]) if key in f else float("nan")


def main(argv):
    args = [a for a in argv[1:] if a != "--quiet"]
    if not args:
        sys.stderr.write(__doc__)
        return 2
    src = args[0]
    out = args[1] if len(args) > 1 else src.rsplit(".", 1)[0] + ".png"
    with h5py.File(src, "r") as f:
        branches = [b for b in ("up", "down") if "branches/" + b in f]
        tables = [b for b in ("up", "down") if "tables/" + b in f]
        rows = max(len(branches), 1) if branches else 0
        nrows = rows + (1 if tables else 0)
        fig, axes = plt.subplots(nrows, 3, figsize=(15, 4.2 * nrows), squeeze=False)
        status = f["fit"].attrs.get("status", b"")
        status = status.decode() if isinstance(status, bytes) else str(status)
        if "data/g_s" in f:
            g = f["data/g_s"][()]
            ramp = f["data/ramp"][()]
            pulse = f["data/pulse"][()]
            pol = f["data/polarity"][()]
        for row, b in zip(axes, branches):
            grp = f["branches/" + b]
            a1, a2, a3 = row
            sign = 1 if b == "up" else -1
            for r in np.unique(ramp[pol == sign]):
                m = ramp == r
                a1.plot(pulse[m], g[m] * US, color="0.75", lw=0.5)
            k = grp["pulse"][()]
            md, mm, sm = grp["mean_data_s"][()], grp["mean_model_s"][()], grp["sigma_model_s"][()]
            a1.plot(k, md * US, "k", lw=1.5, label="mean of the ramps")
            a1.plot(k, mm * US, "C3", lw=1.5, label="fitted card, mean")
            a1.fill_between(k, (mm - sm) * US, (mm + sm) * US, color="C3", alpha=0.25,
                            label="fitted card, +-1 sigma")
            mis = metric(f, "mismatch_" + b) > 0.5
            a1.set_title("%s (%s): RMSE %.2f%% of span, R^2 %.4f%s" % (
                "set" if b == "up" else "reset", b, metric(f, "rmse_%s_pct" % b),
                metric(f, "r2_" + b), ", MISMATCH" if mis else ""))
            a1.set_xlabel("pulse")
            a1.set_ylabel("G (uS)")
            a1.legend(fontsize=8)
            a2.plot(grp["dg_g_s"][()] * US, grp["dg_data_s"][()] * US, "ko", ms=3, label="data")
            a2.plot(grp["dg_g_s"][()] * US, grp["dg_model_s"][()] * US, "C3", label="fitted card")
            a2.set_xlabel("G before the pulse (uS)")
            a2.set_ylabel("dG per pulse (uS)")
            a2.set_title("step against G")
            a2.legend(fontsize=8)
            a3.errorbar(grp["trend_g_s"][()] * US, grp["trend_residual_s"][()] * US,
                        yerr=grp["trend_se_s"][()] * US, fmt="o", color="C0")
            a3.axhline(0.0, color="0.5", lw=0.8)
            a3.set_xlabel("G (uS)")
            a3.set_ylabel("step residual, bin mean (uS)")
            a3.set_title("trend: chi2/bin %.3g, size %.2f of the mean step" % (
                metric(f, "trend_chi2_" + b), metric(f, "trend_size_" + b)))
        if tables:
            row = axes[-1]
            for b, color in zip(tables, ("C0", "C1")):
                t = f["tables/" + b]
                row[0].plot(t["g_s"][()] * US, t["median_dg_s"][()] * US, "o", color=color, ms=3,
                            label="table median (%s)" % b)
                row[0].plot(t["g_s"][()] * US, t["model_dg_s"][()] * US, "-", color=color,
                            label="fitted card (%s): max error %.2f%%" % (
                                b, metric(f, "table_dg_error_%s_pct" % b)))
            row[0].set_xlabel("G (uS)")
            row[0].set_ylabel("dG per pulse (uS)")
            row[0].legend(fontsize=8)
            row[1].axis("off")
            row[2].axis("off")
        fig.suptitle("ecramsim fit: %s (status: %s, dg_c2c = %.3g)" % (src, status,
                                                                      metric(f, "dg_c2c")))
        fig.tight_layout()
        fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
