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

    def test_pca_fit_equals_numpy_eigh(self):
        rng = np.random.default_rng(1)
        points = (rng.normal(size=(500, 6)) * [5, 4, 3, 2, 1, 0.5] @ np.linalg.qr(rng.normal(size=(6, 6)))[0]
                  + 7).astype(np.float32)
        mean, basis = dinofeat.pca_fit(points, 3)
        centred = points.astype(np.float64) - points.astype(np.float64).mean(0)
        values, vectors = np.linalg.eigh(centred.T @ centred)
        expected = vectors[:, ::-1][:, :3].T
        expected *= np.sign(expected[np.arange(3), np.abs(expected).argmax(1)])[:, None]
        # float32 outputs of well-separated axes (eigenvalue gaps of a fifth or more): 1e-5
        np.testing.assert_allclose(mean, points.astype(np.float64).mean(0), atol=1e-5)
        np.testing.assert_allclose(basis, expected, atol=1e-5)
        with self.assertRaises(dinofeat.Error):
            dinofeat.pca_fit(points, 7)

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
        with open(os.path.join(folder, "manifest.txt")) as f:
            line = [l.split() for l in f if l.startswith("cut centroids")][1]
        theirs = np.fromfile(os.path.join(folder, line[4]), "<i4")
        labels, count = dinofeat.agglomerate_complete(points, float(line[2]))
        self.assertEqual(count, int(line[3]))
        self.assertEqual(len(set(zip(labels.tolist(), theirs.tolist()))), count)


if __name__ == "__main__":
    unittest.main()
