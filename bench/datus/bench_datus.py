#!/usr/bin/python3
"""DatUS²: the per-image stage from patch keys to segments (the affinity graph A = K K^T > 0,
Louvain communities, 8-connected pieces, the validity threshold), dinofeat (igraph) vs the same
steps in numpy + networkx (louvain_communities) + scipy.ndimage.label, on 28 x 28 (224 px at
patch 8) and 40 x 40 (640 px at 16) grids of ViT-B-sized keys (768 dims) with planted regions.
Reports each side's time per image and the ratio (reference / ours), measured in one run."""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
import dinofeat  # noqa: E402


def planted_keys(side, dim, rng):
    """Keys of a side x side grid cut into 6 vertical and horizontal blocks, each around its own
    random direction plus a shared offset and noise, so affinities are mixed in sign."""
    regions = (np.arange(side)[:, None] * 2 // side) * 3 + np.arange(side)[None, :] * 3 // side
    prototypes = rng.standard_normal((6, dim)).astype(np.float32)
    keys = prototypes[regions] + 0.8 * rng.standard_normal((side, side, dim)).astype(np.float32)
    return keys


def reference_segments(keys, tau, seed):
    import networkx as nx
    from scipy import ndimage
    side = keys.shape[0]
    k = keys.reshape(side * side, -1)
    a = (k @ k.T) > 0
    np.fill_diagonal(a, False)
    graph = nx.from_numpy_array(a.astype(np.uint8))
    communities = np.empty(side * side, np.int32)
    for c, members in enumerate(nx.community.louvain_communities(graph, seed=seed)):
        communities[list(members)] = c
    communities = communities.reshape(side, side)
    segments, count = np.zeros((side, side), np.int32), 0
    for c in np.unique(communities):
        pieces, n = ndimage.label(communities == c, structure=np.ones((3, 3)))
        for p in range(1, n + 1):
            if (pieces == p).sum() > tau:
                count += 1
                segments[pieces == p] = count
    return segments, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10, help="images per grid size")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    dinofeat.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"DatUS² keys -> segments, 768-dim keys, {args.images} images per grid, {args.threads} threads")
    for side in (28, 40):
        batch = [planted_keys(side, 768, rng) for _ in range(args.images)]
        start = time.perf_counter()
        ours = [dinofeat.datus.segments_from_keys(k, tau=5, seed=i)[1] for i, k in enumerate(batch)]
        our_seconds = (time.perf_counter() - start) / args.images
        start = time.perf_counter()
        theirs = [reference_segments(k, 5, i)[1] for i, k in enumerate(batch)]
        reference_seconds = (time.perf_counter() - start) / args.images
        print(f"{side} x {side}: dinofeat {1000 * our_seconds:8.2f} ms/image ({np.mean(ours):.1f} segments), "
              f"numpy+networkx+scipy {1000 * reference_seconds:8.2f} ms/image ({np.mean(theirs):.1f} segments), "
              f"ratio {reference_seconds / our_seconds:.1f}x")


if __name__ == "__main__":
    main()
