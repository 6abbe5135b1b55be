"""dinofeat.kmeans against the scikit-learn fixtures."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "kmeans")


class KMeansTest(unittest.TestCase):
    def test_recovers_planted_clusters_and_matches_sklearn(self):
        points = np.fromfile(os.path.join(FIXTURES, "separated.f32"), "<f4").reshape(1500, 8)
        planted = np.fromfile(os.path.join(FIXTURES, "separated.labels.i32"), "<i4")
        labels, centroids, inertia = dinofeat.kmeans(points, 6)
        self.assertEqual(centroids.shape, (6, 8))
        self.assertEqual(labels.dtype, np.int64)
        pairs = set(zip(labels.tolist(), planted.tolist()))
        self.assertEqual(len(pairs), 6)  # one to one
        self.assertLessEqual(inertia, 1.01 * 2995.61694)

    def test_settings_and_errors(self):
        points = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
        model = dinofeat.KMeans(5, metric="cosine", seed=3, inits=2).fit(points)
        again = dinofeat.KMeans(5, metric="cosine", seed=3, inits=2).fit(points)
        np.testing.assert_array_equal(model.centroids, again.centroids)
        self.assertGreaterEqual(model.iterations, 1)
        with self.assertRaises(dinofeat.Error):
            dinofeat.KMeans(500).fit(points)
        with self.assertRaises(ValueError):
            dinofeat.KMeans(3).predict(points)
        with self.assertRaises(dinofeat.Error):
            model.predict(points[:, :3])


class LinkageTest(unittest.TestCase):
    def test_matches_scipy(self):
        folder = os.path.join(FIXTURES, "..", "linkage")
        points = np.fromfile(os.path.join(folder, "centroids.f32"), "<f4").reshape(80, 16)
        line = [l.split() for l in open(os.path.join(folder, "manifest.txt")) if l.startswith("cut centroids")][1]
        theirs = np.fromfile(os.path.join(folder, line[4]), "<i4")
        labels, count = dinofeat.agglomerate_complete(points, float(line[2]))
        self.assertEqual(count, int(line[3]))
        self.assertEqual(len(set(zip(labels.tolist(), theirs.tolist()))), count)


if __name__ == "__main__":
    unittest.main()
