#!/usr/bin/python3
"""Figures of `ecramsim paper` from its HDF5 files.

Usage: /usr/bin/python3 tools/plot/paper.py RESULTS_DIR [--quiet]

Makes one PNG per experiment file found in RESULTS_DIR (files that are missing are skipped, so
a partial run still plots what it has). Needs Debian's python3-h5py, -numpy, -matplotlib.
"""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

UMHO = 1e6  # S -> uS for axis labels


def _save(fig, out_dir, name, quiet):
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    if not quiet:
        print("figure", path, file=sys.stderr)


def plot_pulses(f, out_dir, quiet):
    g = f["/pulses/g_s"][()] * UMHO
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(np.arange(g.size), g, ".-", ms=3, lw=0.6)
    p = f["/config/protocol"].attrs
    ax.set_xlabel("pulse number")
    ax.set_ylabel("G (uS)")
    ax.set_title("Fig. 1c: cycles of %s pulses, +-%g V / %g ms"
                 % (",".join(str(c) for c in f["/config/protocol/counts"][()]),
                    p["amplitude_v"], p["width_s"] * 1e3))
    _save(fig, out_dir, "fig1c_pulses.png", quiet)


def plot_windows(f, out_dir, quiet):
    names = sorted(f["/devices"].keys())
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.5))
    for ax, name in zip(axes.flat, names):
        g = f["/devices/%s/g_s" % name][()] * UMHO
        ax.plot(np.arange(g.size), g, ".", ms=2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pulse number")
        ax.set_ylabel("G (uS)")
    fig.suptitle("Fig. 2a: 100 up / 100 down pulses on six conductance windows")
    _save(fig, out_dir, "fig2a_windows.png", quiet)


def plot_uniformity(f, out_dir, quiet):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name in sorted(f["/devices"].keys(), key=lambda s: int(s.split("_")[-1])):
        g = f["/devices/%s/g_s" % name][()] * UMHO
        ax.plot(np.arange(g.size), g, lw=0.6, label=name)
    ax.set_xlabel("pulse number")
    ax.set_ylabel("G (uS)")
    ax.set_title("Fig. 2b: devices with device-to-device spread, 5 cycles each")
    ax.legend(fontsize=6, ncol=5)
    _save(fig, out_dir, "fig2b_uniformity.png", quiet)


def plot_states(f, out_dir, quiet):
    g = f["/states/g_s"][()] * UMHO
    v = f["/states/iv_v"][()]
    i = f["/states/iv_i_a"][()]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(np.arange(g.size), g, ".", ms=2)
    a1.set_xlabel("state")
    a1.set_ylabel("G (uS)")
    a1.set_title("Fig. 2c: %d states" % g.size)
    for k in range(0, g.size, max(1, g.size // 16)):
        a2.plot(v, i[k] * 1e6, lw=0.7)
    a2.set_xlabel("V_ds (V)")
    a2.set_ylabel("I_ds (uA)")
    a2.set_title("read I-V of every %dth state" % max(1, g.size // 16))
    _save(fig, out_dir, "fig2c_states.png", quiet)


def plot_retention(f, out_dir, quiet):
    t = f["/retention/time_s"][()]
    g = f["/retention/g_s"][()] * UMHO
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for row in g:
        ax.semilogx(t, row, lw=0.8)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("G (uS)")
    ax.set_title("Fig. 2d: retention of %d states, gate %s"
                 % (g.shape[0], f["/config/protocol"].attrs["gate"]))
    _save(fig, out_dir, "fig2d_retention.png", quiet)


def plot_pwm(f, out_dir, quiet):
    w = f["/pwm/width_s"][()] * 1e3
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(w, f["/pwm/dg_up_s"][()] * 1e9, "o-", label="up (+V)")
    ax.plot(w, f["/pwm/dg_dn_s"][()] * 1e9, "s-", label="down (-V)")
    ax.set_xlabel("pulse width (ms)")
    ax.set_ylabel("delta G (nS)")
    ax.set_title("single PWM pulse")
    ax.legend()
    _save(fig, out_dir, "pwm.png", quiet)


def plot_gate_iv(f, out_dir, quiet):
    v = f["/gate_iv/v_gc_v"][()]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.semilogy(v, np.abs(f["/gate_iv/i_ion_a"][()]) + 1e-30, label="ionic")
    ax.semilogy(v, np.abs(f["/gate_iv/i_leak_a"][()]) + 1e-30, label="leakage")
    m = f["/metrics"]
    ax.set_ylim(1e-20, None)
    ax.set_xlabel("V_gc (V)")
    ax.set_ylabel("|I_gate| (A)")
    ax.set_title("gate current; rate V:V/2 = %.3g, V:V/3 = %.3g"
                 % (m["rate_ratio_v2"][()], m["rate_ratio_v3"][()]), fontsize=9)
    ax.legend()
    _save(fig, out_dir, "gate_iv.png", quiet)


def plot_program(f, out_dir, quiet):
    patterns = [p for p in ("letter_e", "letter_c", "letter_r", "letter_a", "letter_m") if p in f]
    schemes = ("pwm", "count", "verify")
    fig, axes = plt.subplots(len(patterns), 5, figsize=(11, 2.2 * len(patterns)), squeeze=False)
    for i, p in enumerate(patterns):
        tgt = f["/%s/pwm/target_s" % p][()] * UMHO
        lo, hi = tgt.min(), tgt.max()
        panels = [("target", tgt)] + [
            ("%s, RMSE %.2f%%" % (s, f["/metrics/%s/%s/rmse_pct" % (p, s)][()]),
             f["/%s/%s/after_s" % (p, s)][()] * UMHO) for s in schemes]
        for ax, (title, m) in zip(axes[i], panels):
            im = ax.imshow(m, cmap="viridis", vmin=lo, vmax=hi)
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        err = f["/%s/pwm/error_pct" % p][()]
        im = axes[i][4].imshow(err, cmap="RdBu_r", vmin=-10, vmax=10)
        axes[i][4].set_title("pwm error (% of window)", fontsize=8)
        axes[i][4].set_xticks([])
        axes[i][4].set_yticks([])
        fig.colorbar(im, ax=axes[i][4], fraction=0.046)
    fig.suptitle("Fig. 1d-e: patterns written open loop (pwm, count) and write-verify, G in uS")
    _save(fig, out_dir, "fig1de_program.png", quiet)


def plot_array_program(f, out_dir, quiet):
    """Issue 3: one pulse on cell (5,5) under V/2 and V/3 (tools/plot/array.py draws it)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "ecramsim_array_plot", os.path.join(os.path.dirname(os.path.abspath(__file__)), "array.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = os.path.join(out_dir, "array_program.png")
    mod.plot_program(f, path)
    if not quiet:
        print("figure", path, file=sys.stderr)


def _train_module():
    """tools/plot/train.py, which draws the training files."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "ecramsim_train_plot", os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def plot_train(f, out_dir, quiet):
    """Issue 6: in-situ training of the mushroom classifier (tools/plot/train.py draws it)."""
    mod = _train_module()
    fig = plt.figure(figsize=(15, 3.6))
    mod.draw(f, fig)
    _save(fig, out_dir, "train_mushroom.png", quiet)


def plot_vgg8(f, out_dir, quiet):
    """Issue 14: the short VGG-8 run beside --ideal (tools/plot/train.py draws it)."""
    mod = _train_module()
    fig = plt.figure(figsize=(15, 3.6))
    mod.draw_nn(f, fig)
    _save(fig, out_dir, "train_vgg8.png", quiet)


def plot_vmm(f, out_dir, quiet):
    """Issue 4: Fig. 2e (multiplication map of one cell) and Fig. 2f-g (VMM error histogram)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    v = f["/map/read_v"][()]
    g = f["/map/g_s"][()]
    cur = f["/map/current_a"][()]
    ax = axes[0]
    im = ax.pcolormesh(v * 1e3, g * UMHO, cur * 1e9, shading="nearest", cmap="viridis")
    fig.colorbar(im, ax=ax, label="I (nA)")
    ax.set_xlabel("read voltage (mV)")
    ax.set_ylabel("G (uS)")
    ax.set_title("Fig. 2e: I = G V, max dev %.3g%% FS" % f["/metrics/map_max_error_pct"][()],
                 fontsize=9)
    ax = axes[1]
    ideal = f["/vmm/ideal_a"][()].ravel()
    out = f["/vmm/outputs_a"][()].ravel()
    ax.plot(ideal * 1e6, out * 1e6, ".", ms=1.5, alpha=0.4)
    lim = [0, max(ideal.max(), out.max()) * 1e6]
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.set_xlabel("ideal sum G V (uA)")
    ax.set_ylabel("array output (uA)")
    ax.set_title("Fig. 2f: %d vectors" % int(f["/metrics/vectors"][()]), fontsize=9)
    ax = axes[2]
    edges = f["/vmm/hist_edges_pct_fs"][()]
    counts = f["/vmm/hist_counts"][()]
    ax.stairs(counts, edges, fill=True)
    m = f["/metrics"]
    ax.set_xlabel("output - ideal (% of full scale R gmax v_max)")
    ax.set_ylabel("outputs")
    ax.set_title("Fig. 2g: mean %.3g%%, sigma %.3g%%, max %.3g%%"
                 % (m["error_mean_pct"][()], m["error_sigma_pct"][()], m["error_max_pct"][()]),
                 fontsize=9)
    _save(fig, out_dir, "fig2efg_vmm.png", quiet)


def plot_wirings(f, out_dir, quiet):
    wirings = ["source-rows", "source-cols"]
    m = f["/metrics"]
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    x = np.arange(len(wirings))
    panels = [("pulse_step_pct", "selected step (% window)", False),
              ("selectivity", "step / largest disturb", True),
              ("pulse_energy_j", "energy per pulse (J)", True)]
    for ax, (name, label, log) in zip(axes, panels):
        for k, bias in enumerate(["v2", "v3"]):
            vals = [m["%s/%s/%s" % (w, bias, name)][()] for w in wirings]
            ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, label=bias.replace("v", "V/"))
        if log:
            ax.set_yscale("log")
        ax.set_xticks(x, wirings)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8)
    ax = axes[3]
    for k, scheme in enumerate(["pwm", "count"]):
        vals = [m["%s/v2/%s/rmse_mean_pct" % (w, scheme)][()] for w in wirings]
        ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, label=scheme)
    vmm = ["refused" if m["%s/vmm_refused" % w][()] else
           "%.3g%%" % m["%s/vmm_error_rms_pct" % w][()] for w in wirings]
    ax.set_xticks(x, wirings)
    ax.set_title("open-loop RMSE, 5 patterns (%% window)\nVMM RMS error: %s" % ", ".join(vmm),
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower center")
    fig.suptitle("array wirings, one 5 V / 100 ms pulse on (5,5) of the 10x10 array", fontsize=10)
    _save(fig, out_dir, "wirings.png", quiet)


PLOTS = {
    "device_pulses.h5": plot_pulses,
    "device_windows.h5": plot_windows,
    "device_uniformity.h5": plot_uniformity,
    "device_states.h5": plot_states,
    "device_retention.h5": plot_retention,
    "device_pwm.h5": plot_pwm,
    "device_gate_iv.h5": plot_gate_iv,
    "program_patterns.h5": plot_program,
    "array_program.h5": plot_array_program,
    "train_mushroom.h5": plot_train,
    "train_vgg8.h5": plot_vgg8,
    "vmm.h5": plot_vmm,
    "wirings.h5": plot_wirings,
}


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    quiet = "--quiet" in argv
    if len(args) != 1 or not os.path.isdir(args[0]):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = args[0]
    made = 0
    for name, fn in PLOTS.items():
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            with h5py.File(path, "r") as f:
                fn(f, out_dir, quiet)
            made += 1
    if made == 0:
        print("paper.py: no ecramsim result files in %s" % out_dir, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
