#!/usr/bin/python3
"""Logistic regression fixtures: scikit-learn's LogisticRegression(C, class_weight='balanced'),
fitted to convergence (lbfgs, tol 1e-12), and its probabilities on held-out points.

  logreg ID FEATURES CLASSES TRAIN TEST C   files ID.train_x.raw ID.train_y.raw ID.test_x.raw ID.proba.raw
"""
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/logreg"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(53)
manifest = []


def case(case_id, features, classes, counts, test, c):
    centres = rng.normal(0, 1.5, (classes, features))
    y = np.concatenate([np.full(k, i) for i, k in enumerate(counts)]).astype(np.int32)
    x = (centres[y] + rng.normal(0, 1.2, (len(y), features))).astype(np.float32)
    tx = (centres[rng.integers(0, classes, test)] + rng.normal(0, 1.2, (test, features))).astype(np.float32)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=10000, tol=1e-12).fit(x, y)
    for name, array in (("train_x", x), ("train_y", y), ("test_x", tx),
                        ("proba", model.predict_proba(tx).astype(np.float32))):
        array.tofile(os.path.join(OUT, f"{case_id}.{name}.raw"))
    manifest.append(f"logreg {case_id} {features} {classes} {len(y)} {test} {c}")


case("multinomial", 8, 4, (300, 120, 60, 200), 150, 1.0)
case("binary", 5, 2, (400, 90), 100, 1.0)
case("strong_penalty", 12, 3, (150, 150, 40), 80, 0.05)
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
