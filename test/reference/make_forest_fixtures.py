#!/usr/bin/python3
"""Random forest fixtures: imbalanced 3-class data with non-linear boundaries, and the held-out
accuracy of scikit-learn's RandomForestClassifier(200, max_features=2, class_weight='balanced'),
averaged over 5 seeds.

  forest FEATURES CLASSES TRAIN TEST ACCURACY   files train_x.f32 train_y.i32 test_x.f32 test_y.i32
"""
import os
import sys

import numpy as np
from sklearn.ensemble import RandomForestClassifier

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/forest"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(41)


def sample(n):
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    r = np.hypot(x[:, 0], x[:, 1])
    y = np.where(r < 0.8, 2, np.where(x[:, 2] + 0.5 * np.sin(3 * x[:, 3]) > 0.6, 1, 0))
    flip = rng.random(n) < 0.05  # label noise
    y[flip] = rng.integers(0, 3, flip.sum())
    return x, y.astype(np.int32)


train_x, train_y = sample(900)
test_x, test_y = sample(600)
accuracies = [(RandomForestClassifier(200, max_features=2, class_weight="balanced", random_state=seed)
               .fit(train_x, train_y).predict(test_x) == test_y).mean() for seed in range(5)]
for name, array in (("train_x", train_x), ("train_y", train_y), ("test_x", test_x), ("test_y", test_y)):
    array.tofile(os.path.join(OUT, f"{name}.raw"))
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write(f"forest 6 3 900 600 {np.mean(accuracies):.6f}\n")
print("class counts", np.bincount(train_y), "scikit-learn accuracy", np.mean(accuracies), accuracies)
