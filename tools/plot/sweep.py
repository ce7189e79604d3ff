#!/usr/bin/python3
"""Plot a sweep from its index file (`ecramsim sweep`): a metric against an axis.

Usage: /usr/bin/python3 tools/plot/sweep.py SWEEP_DIR_OR_INDEX [--x AXIS] [--y METRIC ...]
           [--series AXIS] [--logx] [--logy] [-o PNG] [--quiet]

--x       the axis on the horizontal (default: the first axis)
--y       metrics to plot, one panel each (default: every metric of the index)
--series  an axis whose values become separate lines (default: the second axis of a grid;
          "none" for one line); other axes are averaged over, spread shown as error bars
-o        the PNG to write (default: <index folder>/sweep.png)

Only complete points are plotted; failed ones are counted in the title. Reads /params/<axis>,
/metrics/<name> and /points/status of the index (README.md, "Sweeps"). Needs Debian's
python3-h5py, -numpy, -matplotlib.
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _text(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "index.h5")
    with h5py.File(path, "r") as f:
        mode = f["sweep"].attrs["mode"]
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        status = np.array(_text(f["points/status"][()]))
        params, units = {}, {}
        # HDF5 lists /params alphabetically; the spec text gives the axes' order.
        for name in f["params"]:
            d = f["params"][name]
            params[name] = d[()] if d.dtype.kind == "f" else np.array(_text(d[()]))
            u = d.attrs.get("units", "")
            units[name] = u.decode() if isinstance(u, bytes) else str(u)
        metrics = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                metrics[name] = obj[()]
                u = obj.attrs.get("units", "")
                units["metric:" + name] = u.decode() if isinstance(u, bytes) else str(u)

        f["metrics"].visititems(visit)
        text = f["sweep/spec_text"][()]
        text = text.decode() if isinstance(text, bytes) else str(text)
    order = [line.split("=", 1)[1].strip().strip("\"'") for line in text.splitlines()
             if line.strip().startswith("name") and "=" in line]
    axes = [a for a in order if a in params] + [a for a in params if a not in order]
    return path, mode, status, axes, params, metrics, units


def label(name, unit):
    return name if unit in ("", "1", "unspecified") else "%s (%s)" % (name, unit)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index")
    ap.add_argument("--x")
    ap.add_argument("--y", action="append")
    ap.add_argument("--series")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--logy", action="store_true")
    ap.add_argument("-o", "--out")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    path, mode, status, axes, params, metrics, units = load(a.index)
    if not axes:
        sys.exit("sweep.py: the index has no axes")
    x_name = a.x or axes[0]
    if x_name not in params:
        sys.exit("sweep.py: no axis %r (axes: %s)" % (x_name, ", ".join(axes)))
    ys = a.y or list(metrics)
    for y in ys:
        if y not in metrics:
            sys.exit("sweep.py: no metric %r (metrics: %s)" % (y, ", ".join(metrics)))
    series = None if a.series == "none" else a.series
    if series is not None and series not in params:
        sys.exit("sweep.py: no axis %r (axes: %s)" % (series, ", ".join(axes)))
    if a.series is None and mode == "grid":
        series = next((n for n in axes if n != x_name), None)
    ok = status == "complete"

    fig, panels = plt.subplots(len(ys), 1, figsize=(6.5, 3.2 * len(ys)), squeeze=False)
    x_all = params[x_name]
    for ax, y in zip(panels[:, 0], ys):
        v = np.asarray(metrics[y], dtype=float)
        if mode == "random":
            sc = ax.scatter(x_all[ok], v[ok], s=12,
                            c=params[series][ok] if series and params[series].dtype.kind == "f" else None)
            if series and params[series].dtype.kind == "f":
                fig.colorbar(sc, ax=ax, label=label(series, units.get(series, "")))
        else:
            groups = np.unique(params[series]) if series else [None]
            for g in groups:
                sel = ok & ((params[series] == g) if series else True)
                xs = np.unique(x_all[sel])
                mean = [np.nanmean(v[sel & (x_all == xv)]) for xv in xs]
                spread = [np.nanstd(v[sel & (x_all == xv)]) for xv in xs]
                name = None if g is None else "%s = %s" % (series, g)
                if any(s > 0 for s in spread):
                    ax.errorbar(xs, mean, yerr=spread, marker="o", ms=4, capsize=3, label=name)
                else:
                    ax.plot(xs, mean, "o-", ms=4, label=name)
            if series:
                ax.legend(fontsize=7)
        ax.set_xlabel(label(x_name, units.get(x_name, "")))
        ax.set_ylabel(label(y, units.get("metric:" + y, "")))
        if a.logx:
            ax.set_xscale("log")
        if a.logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    failed = int(np.sum(status == "failed"))
    panels[0, 0].set_title("%s: %d points, %d complete%s" % (
        os.path.basename(os.path.dirname(os.path.abspath(path))), status.size, int(ok.sum()),
        ", %d failed" % failed if failed else ""))
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(path)), "sweep.png")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    if not a.quiet:
        print("figure", out, file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
