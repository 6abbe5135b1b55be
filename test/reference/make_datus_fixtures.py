#!/usr/bin/python3
"""DatUS² fixtures: Louvain on planted-partition graphs with networkx's louvain_communities as the
reference modularity, and the split of community grids into valid 8-connected segments with
scipy.ndimage.label.

  graph ID N EDGES MODULARITY FILE          int64 edge pairs; networkx's modularity (best of 5 seeds)
  split ID GH GW TAU COUNT COMMUNITIES SEGMENTS   int32 grids; segments 1..COUNT in raster order, 0 noise
"""
import os
import sys

import networkx as nx
import numpy as np
from scipy import ndimage

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/datus"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(61)
manifest = []

for i, (groups, size, p_in, p_out) in enumerate(((4, 25, 0.5, 0.02), (8, 20, 0.3, 0.02), (6, 40, 0.2, 0.01))):
    g = nx.planted_partition_graph(groups, size, p_in, p_out, seed=int(rng.integers(1 << 30)))
    edges = np.array(sorted(g.edges()), dtype=np.int64).reshape(-1, 2)
    best = max(nx.community.modularity(g, nx.community.louvain_communities(g, seed=s)) for s in range(5))
    edges.tofile(os.path.join(OUT, f"graph{i}.i64"))
    manifest.append(f"graph graph{i} {g.number_of_nodes()} {len(edges)} {best:.17g} graph{i}.i64")


def split(communities, tau):
    pieces = []
    for c in np.unique(communities):
        labels, count = ndimage.label(communities == c, structure=np.ones((3, 3)))
        for k in range(1, count + 1):
            mask = labels == k
            if mask.sum() > tau:
                pieces.append((np.flatnonzero(mask)[0], mask))
    segments = np.zeros(communities.shape, np.int32)
    for number, (_, mask) in enumerate(sorted(pieces, key=lambda p: p[0]), 1):
        segments[mask] = number
    return segments, len(pieces)


for i, (gh, gw, communities_count, tau) in enumerate(((28, 28, 6, 5), (40, 40, 10, 5), (12, 20, 4, 2))):
    # blobby communities with scattered specks, so some pieces are noise
    seeds = rng.integers(0, [gh, gw], (communities_count * 2, 2))
    yy, xx = np.mgrid[0:gh, 0:gw]
    d = ((yy[None] - seeds[:, 0, None, None]) ** 2 + (xx[None] - seeds[:, 1, None, None]) ** 2)
    grid = (np.argmin(d, 0) % communities_count).astype(np.int32)
    specks = rng.random((gh, gw)) < 0.04
    grid[specks] = rng.integers(0, communities_count, specks.sum())
    segments, count = split(grid, tau)
    grid.tofile(os.path.join(OUT, f"split{i}.communities.i32"))
    segments.tofile(os.path.join(OUT, f"split{i}.segments.i32"))
    manifest.append(f"split split{i} {gh} {gw} {tau} {count} split{i}.communities.i32 split{i}.segments.i32")

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("\n".join(manifest))
