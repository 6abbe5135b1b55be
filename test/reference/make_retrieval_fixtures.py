#!/usr/bin/python3
"""Dense nearest-neighbour retrieval fixtures (shared/specs/eval.md, Hummingbird protocol) with
numpy: cosine top-k over a labelled bank, votes weighted by similarity (T = 0) or by
softmax(similarity / T) over the neighbours.

  retrieval ID DIM CLASSES BANK QUERIES K T   files ID.bank.f32 ID.bank_labels.i32 ID.queries.f32
                                              ID.labels.i32 ID.scores.f32
  soft ID DIM CLASSES BANK QUERIES K T        the same with soft labels (Hummingbird's memory):
                                              the first half of the bank with class labels, the
                                              rest with ID.bank_soft.f32 (BANK x CLASSES, pixel-
                                              class fractions); a neighbour's vote is its weight
                                              times its distribution (one-hot for class labels)
"""
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/retrieval"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(17)
manifest = []


def case(case_id, dim, classes, bank_size, queries, k, temperature):
    centres = rng.normal(0, 1, (classes, dim))
    bank_labels = rng.integers(0, classes, bank_size).astype(np.int32)
    bank = (centres[bank_labels] + rng.normal(0, 1.2, (bank_size, dim))).astype(np.float32)
    bank_labels[rng.random(bank_size) < 0.05] = 255  # ignored
    query_labels = rng.integers(0, classes, queries)
    query = (centres[query_labels] + rng.normal(0, 1.2, (queries, dim))).astype(np.float32)
    kept = bank_labels != 255
    b = bank[kept].astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q = query.astype(np.float64) / np.linalg.norm(query, axis=1, keepdims=True)
    sims = q @ b.T
    order = np.argsort(-sims, axis=1)[:, :k]
    top = np.take_along_axis(sims, order, 1)
    if temperature > 0:
        weights = np.exp((top - top[:, :1]) / temperature)
        weights /= weights.sum(1, keepdims=True)
    else:
        weights = top
    scores = np.zeros((queries, classes))
    for i in range(queries):
        np.add.at(scores[i], bank_labels[kept][order[i]], weights[i])
    for name, array in (("bank", bank), ("bank_labels", bank_labels), ("queries", query),
                        ("labels", scores.argmax(1).astype(np.int32)), ("scores", scores.astype(np.float32))):
        array.tofile(os.path.join(OUT, f"{case_id}.{name}.raw"))
    manifest.append(f"retrieval {case_id} {dim} {classes} {bank_size} {queries} {k} {temperature}")


def soft_case(case_id, dim, classes, bank_size, queries, k, temperature):
    centres = rng.normal(0, 1, (classes, dim))
    bank_labels = rng.integers(0, classes, bank_size).astype(np.int32)
    bank = (centres[bank_labels] + rng.normal(0, 1.2, (bank_size, dim))).astype(np.float32)
    # a patch's pixel fractions: mostly its class, the rest spread over two others
    soft = np.zeros((bank_size, classes), np.float32)
    share = rng.integers(1, 197, bank_size) / np.float32(196)
    others = rng.integers(0, classes, (bank_size, 2))
    for i in range(bank_size):
        soft[i, bank_labels[i]] += share[i]
        soft[i, others[i, 0]] += (1 - share[i]) * 0.75
        soft[i, others[i, 1]] += (1 - share[i]) * 0.25
    half = bank_size // 2
    rows = np.vstack([np.eye(classes, dtype=np.float32)[bank_labels[:half]], soft[half:]])
    query_labels = rng.integers(0, classes, queries)
    query = (centres[query_labels] + rng.normal(0, 1.2, (queries, dim))).astype(np.float32)
    b = bank.astype(np.float64)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    q = query.astype(np.float64) / np.linalg.norm(query, axis=1, keepdims=True)
    sims = q @ b.T
    order = np.argsort(-sims, axis=1)[:, :k]
    top = np.take_along_axis(sims, order, 1)
    weights = np.exp((top - top[:, :1]) / temperature) if temperature > 0 else top
    if temperature > 0:
        weights /= weights.sum(1, keepdims=True)
    scores = np.einsum("qk,qkc->qc", weights, rows.astype(np.float64)[order])
    for name, array in (("bank", bank), ("bank_labels", bank_labels), ("bank_soft", soft), ("queries", query),
                        ("labels", scores.argmax(1).astype(np.int32)), ("scores", scores.astype(np.float32))):
        array.tofile(os.path.join(OUT, f"{case_id}.{name}.raw"))
    manifest.append(f"soft {case_id} {dim} {classes} {bank_size} {queries} {k} {temperature}")


case("similarity", 16, 6, 700, 80, 30, 0.0)
case("softmax", 24, 9, 900, 64, 30, 0.02)
case("few", 8, 3, 40, 10, 5, 0.1)
soft_case("hummingbird", 24, 7, 800, 60, 30, 0.02)
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
