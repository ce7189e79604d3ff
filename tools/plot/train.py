#!/usr/bin/python3
"""Learning curves of `ecramsim train` from its HDF5 file.

Usage: /usr/bin/python3 tools/plot/train.py FILE.h5 [OUT.png] [--quiet]

`train mushroom`: four panels: loss and accuracies per epoch (in situ, and the software
baseline when the file has /ideal/training), pulses per epoch, and the conductance histograms
before and after training. `train mlp|vgg8` (files with /training/train_loss): two panels, train
and test loss, train and test accuracy. Needs Debian's python3-h5py, -numpy, -matplotlib.
"""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def draw(f, fig):
    """Draws the training figure of open file `f` into `fig` (4 axes)."""
    axes = fig.subplots(1, 4)
    t = f["/training"]
    ep = t["epoch"][()]
    ideal = f["/ideal/training"] if "/ideal/training" in f else None
    ax = axes[0]
    ax.plot(ep, t["loss"][()], "o-", label="in situ")
    if ideal is not None:
        ax.plot(ideal["epoch"][()], ideal["loss"][()], "s--", label="software")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(ep, 100 * t["train_accuracy"][()], "o-", label="train, in situ")
    ax.plot(ep, 100 * t["test_accuracy"][()], "o-", label="test, in situ")
    if ideal is not None:
        ax.plot(ideal["epoch"][()], 100 * ideal["test_accuracy"][()], "s--", label="test, software")
    ax.axhline(99.4, color="gray", lw=0.8, ls=":", label="paper 99.4%")
    ax.set_ylim(90, 100.5)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[2]
    ax.bar(ep[1:], t["pulses"][()][1:], color="C2")
    ax.set_xlabel("epoch")
    ax.set_ylabel("write pulses")
    ax.set_title("pulses per epoch", fontsize=9)
    ax = axes[3]
    h = f["/devices/g_hist"]
    edges = h["edges_s"][()] * 1e6
    centers = 0.5 * (edges[1:] + edges[:-1])
    width = edges[1] - edges[0]
    ax.bar(centers, h["before"][()], width=width, alpha=0.6, label="before")
    ax.bar(centers, h["after"][()], width=width, alpha=0.6, label="after")
    ax.set_xlabel("G (uS)")
    ax.set_ylabel("cells")
    ax.legend(fontsize=8)
    m = f["/metrics"]
    title = "in situ test accuracy %.2f%%" % (100 * m["test_accuracy"][()])
    if "ideal_test_accuracy" in m:
        title += ", software %.2f%%" % (100 * m["ideal_test_accuracy"][()])
    title += "; %d pulses, %.3g J" % (m["pulses_total"][()], m["energy_j"][()])
    fig.suptitle(title, fontsize=10)


def draw_nn(f, fig):
    """Draws the learning curves of a `train mlp|vgg8` file `f` into `fig` (2 axes; a third with
    the cells' conductance histograms, all layers together, when the file has /layers)."""
    layers = "/layers" in f
    axes = fig.subplots(1, 3 if layers else 2)
    a0, a1 = axes[0], axes[1]
    t = f["/training"]
    ep = t["epoch"][()]
    cfg = f["/config"].attrs
    a0.plot(ep, t["train_loss"][()], "o-", label="train")
    a0.plot(ep, t["test_loss"][()], "s--", label="test")
    a0.set_xlabel("epoch")
    a0.set_ylabel("loss (cross-entropy)")
    a0.legend(fontsize=8)
    a1.plot(ep, 100 * t["train_accuracy"][()], "o-", label="train")
    a1.plot(ep, 100 * t["test_accuracy"][()], "s--", label="test")
    if "/ideal" in f:
        a1.plot(f["/ideal/epoch"][()], 100 * f["/ideal/test_accuracy"][()], "^:",
                label="test, --ideal")
    a1.set_xlabel("epoch")
    a1.set_ylabel("accuracy (%)")
    a1.legend(fontsize=8, loc="lower right")
    if layers:
        a2 = axes[2]
        for when, style in (("before", "-"), ("after", "--")):
            counts, edges = None, None
            for name in f["/layers"]:
                g = f["/layers"][name]
                c = g["conductance_%s_counts" % when][()]
                counts = c if counts is None else counts + c
                edges = g["conductance_%s_edges" % when][()]
            a2.stairs(counts, edges * 1e6, linestyle=style, label=when)
        a2.set_xlabel("conductance (uS)")
        a2.set_ylabel("cells")
        a2.set_yscale("log")
        a2.legend(fontsize=8)
    fig.suptitle("%s on %s, %s weights: test accuracy %.2f%%"
                 % (cfg["network"], cfg["dataset"], cfg["weights"],
                    100 * t["test_accuracy"][()][-1]), fontsize=10)


def main(argv):
    quiet = "--quiet" in argv
    args = [a for a in argv if a != "--quiet"]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    src = args[0]
    out = args[1] if len(args) > 1 else os.path.splitext(src)[0] + ".png"
    with h5py.File(src, "r") as f:
        nn = "train_loss" in f["/training"]
        fig = plt.figure(figsize=((15 if "/layers" in f else 10), 3.6) if nn else (15, 3.6))
        (draw_nn if nn else draw)(f, fig)
        fig.tight_layout()
        fig.savefig(out, dpi=110)
        plt.close(fig)
    if not quiet:
        print("figure", out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
