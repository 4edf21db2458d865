#!/usr/bin/env python3
"""
Write DIR/dynamo_decode_grids.json: the 100 x 100 decode grids NVIDIA Dynamo's planner builds from a profile
(perf_interpolation.py DecodeInterpolator, ai-dynamo/dynamo, Apache-2.0): scipy.interpolate.griddata cubic over the
(x_kv_usage, y_context_length) points, NaN cells filled by griddata nearest, on kv = linspace(0, 1, 100) x
context = linspace(0, max context, 100). pd-planner's `dynamo` baseline reads this file when it is next to a profile
and otherwise computes the grids with its own port (src/sim/dynamo-ships/interpolation.ts), which differs from
SciPy only where Qhull breaks ties between co-circular points its own way (docs/yardsticks.md).

usage: python3 scripts/dynamo-grids.py PROFILE_DIR     (needs numpy and scipy)
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.interpolate


def grid(x, y, z, X, Y):
    g = scipy.interpolate.griddata((x, y), z, (X, Y), method="cubic")
    nan = np.isnan(g)
    if np.any(nan):
        g[nan] = scipy.interpolate.griddata((x, y), z, (X, Y), method="nearest")[nan]
    return [float("%.15g" % v) for v in g.ravel()]


def main():
    d = sys.argv[1]
    data = json.load(open(os.path.join(d, "decode_raw_data.json")))
    x = np.array(data["x_kv_usage"])
    y = np.array(data["y_context_length"])
    res = 100
    X, Y = np.meshgrid(np.linspace(0, 1, res), np.linspace(0, max(y), res))
    out = {
        "about": "NVIDIA Dynamo's decode interpolation grids for this profile, computed by scripts/dynamo-grids.py with "
        "scipy %s (griddata cubic, NaN cells from griddata nearest); row-major, cell (iy, ix) at iy * 100 + ix" % scipy.__version__,
        "resolution": res,
        "maxContext": float(max(y)),
        "itlMs": grid(x, y, np.array(data["z_itl"]), X, Y),
        "thptPerGpu": grid(x, y, np.array(data["z_thpt_per_gpu"]), X, Y),
    }
    with open(os.path.join(d, "dynamo_decode_grids.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
