"""Checks shared by the end-to-end scripts: result files open as netCDF-4 in xarray (h5netcdf)
with named dimensions and coordinates and the values h5py reads, and text for people carries no
number with more than 15 significant digits."""
import re

import h5py
import numpy as np
import xarray as xr

NUMBER = re.compile(r"(?<![\w.])[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def long_numbers(text, limit=15):
    """The numbers in `text` written with more than `limit` significant digits."""
    found = []
    for m in NUMBER.finditer(text):
        digits = m.group(1).replace(".", "").lstrip("0")
        if len(digits) > limit:
            found.append(m.group(0))
    return found


def array_groups(path):
    """Every group of the file that directly holds a dataset of rank 1 or more."""
    groups = set()
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.ndim > 0:
                groups.add("/" + name.rsplit("/", 1)[0] if "/" in name else "/")
        f.visititems(visit)
    return sorted(groups)


def h5_values(obj):
    v = obj[()]
    if obj.dtype.kind == "O" or obj.dtype.kind == "S":
        return np.array([s.decode() if isinstance(s, bytes) else s for s in np.ravel(v)],
                        dtype=object).reshape(np.shape(v))
    return v


def coordinate_in_scope(f, group, dim):
    """True when `dim` is a 1-D dataset in `group` or a group above it (netCDF scoping)."""
    g = group
    while True:
        p = (g.rstrip("/") + "/" + dim)
        if p in f and isinstance(f[p], h5py.Dataset) and f[p].ndim == 1:
            return True
        if g in ("", "/"):
            return False
        g = g.rsplit("/", 1)[0] or "/"


def check_netcdf(path, expected_dims=()):
    """Problems found opening every array group of `path` with xarray + h5netcdf. Each name in
    `expected_dims` must be a dimension with coordinates somewhere in the file. Returns
    (problems, groups checked, dimension names seen)."""
    problems = []
    seen = set()
    groups = array_groups(path)
    with h5py.File(path, "r") as f:
        for g in groups:
            try:
                ds = xr.open_dataset(path, group=g, engine="h5netcdf")
            except Exception as e:  # noqa: BLE001 - report every failure with its file
                problems.append("%s %s: xarray cannot open the group: %s" % (path, g, e))
                continue
            with ds:
                for name, var in ds.variables.items():
                    for d in var.dims:
                        seen.add(d)
                        if d.startswith("phony_dim"):
                            problems.append("%s %s/%s: unnamed dimension %s" % (path, g, name, d))
                        elif not coordinate_in_scope(f, g, d):
                            problems.append("%s %s/%s: dimension %s has no coordinates"
                                            % (path, g, name, d))
                    h5 = h5_values(f[g.rstrip("/") + "/" + name])
                    xv = var.values
                    if xv.dtype.kind in "OUS":
                        same = h5.shape == xv.shape and all(
                            str(a) == str(b) for a, b in zip(np.ravel(h5), np.ravel(xv)))
                    else:
                        same = np.array_equal(h5, xv, equal_nan=True)
                    if not same:
                        problems.append("%s %s/%s: xarray values differ from h5py"
                                        % (path, g, name))
                    if "units" in f[g.rstrip("/") + "/" + name].attrs and "units" not in var.attrs:
                        problems.append("%s %s/%s: units lost" % (path, g, name))
    for d in expected_dims:
        if d not in seen:
            problems.append("%s: no dimension %s" % (path, d))
    return problems, len(groups), seen
