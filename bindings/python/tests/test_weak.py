"""dinofeat.weak.classical_features against the reference of HR-Dv2's featuriser (test/fixtures/classical)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "classical")


class ClassicalTest(unittest.TestCase):
    def test_matches_reference(self):
        grey = np.fromfile(os.path.join(FIXTURES, "small.u8"), np.uint8).reshape(48, 64)
        expected = np.fromfile(os.path.join(FIXTURES, "small.f32"), "<f4").reshape(48, 64, 58)
        got = dinofeat.weak.classical_features(grey)
        flat = expected.reshape(-1, 58)
        spread = flat.max(0) - flat.min(0)
        self.assertLessEqual((np.abs(got - expected).reshape(-1, 58).max(0) / np.maximum(spread, 1e-30)).max(), 1e-5)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        np.testing.assert_array_equal(dinofeat.weak.classical_features(rgb), got)  # grey as RGB: the same
        self.assertEqual(dinofeat.weak.channel_names()[-1], "membrane_median")
        with self.assertRaises(ValueError):
            dinofeat.weak.classical_features(grey.astype(np.float32))
        with self.assertRaisesRegex(dinofeat.Error, "need at least 2 x 2"):
            dinofeat.weak.classical_features(grey[:1])

    def test_groups_and_settings(self):
        with open(os.path.join(FIXTURES, "manifest.txt")) as f:
            cases = [line.split() for line in f if line.startswith("settings")]
        self.assertEqual(len(cases), 4)
        for kind, name, h, w, groups, low, high, size, thickness, channels in cases:
            sixteen = kind == "settings16"
            grey = np.fromfile(os.path.join(FIXTURES, f"{name}.u16" if sixteen else f"{name}.u8"),
                               "<u2" if sixteen else np.uint8).reshape(int(h), int(w)).astype(
                                   np.uint16 if sixteen else np.uint8)
            expected = np.fromfile(os.path.join(FIXTURES, f"{name}.f32"), "<f4").reshape(int(h), int(w), int(channels))
            settings = dict(groups=groups.split(","), min_sigma=int(low), max_sigma=int(high), membrane_size=int(size),
                            membrane_thickness=int(thickness))
            got = dinofeat.weak.classical_features(grey, **settings)
            flat = expected.reshape(-1, int(channels))
            spread = flat.max(0) - flat.min(0)
            self.assertLessEqual((np.abs(got - expected).reshape(-1, int(channels)).max(0) /
                                  np.maximum(spread, 1e-30)).max(), 1e-5, name)
            self.assertEqual(len(dinofeat.weak.channel_names(**settings)), int(channels))
        self.assertEqual(dinofeat.weak.channel_names("mean,neighbours", 2, 4)[:2], ["mean_2", "neighbour_-1_-1_2"])
        with self.assertRaisesRegex(dinofeat.Error, "'laplacian' is not a group"):
            dinofeat.weak.classical_features(np.zeros((4, 4), np.uint8), groups="laplacian")



class RandomForestTest(unittest.TestCase):
    def test_accuracy_and_determinism(self):
        d = os.path.join(FIXTURES, "..", "forest")
        tx = np.fromfile(os.path.join(d, "train_x.raw"), "<f4").reshape(900, 6)
        ty = np.fromfile(os.path.join(d, "train_y.raw"), "<i4")
        vx = np.fromfile(os.path.join(d, "test_x.raw"), "<f4").reshape(600, 6)
        vy = np.fromfile(os.path.join(d, "test_y.raw"), "<i4")
        with open(os.path.join(d, "manifest.txt")) as manifest:
            sklearn = float(manifest.read().split()[5])
        forest = dinofeat.weak.RandomForest(trees=100, seed=3).fit(tx, ty)
        self.assertGreaterEqual((forest.predict(vx) == vy).mean(), sklearn - 0.03)
        again = dinofeat.weak.RandomForest(trees=100, seed=3).fit(tx, ty)
        np.testing.assert_array_equal(forest.predict_proba(vx), again.predict_proba(vx))
        with self.assertRaises(ValueError):
            dinofeat.weak.RandomForest().predict(vx)
        with self.assertRaises(dinofeat.Error):
            dinofeat.weak.RandomForest().fit(tx, ty, classes=2)


class TrainPredictTest(unittest.TestCase):
    def test_micrograph_and_file(self):
        d = os.path.join(FIXTURES, "..", "weak")
        classifier = dinofeat.weak.train(os.path.join(d, "micrograph.png"), os.path.join(d, "scribbles.png"), trees=50)
        self.assertEqual(classifier.classes, 3)
        self.assertEqual(classifier.features, "classical")
        labels, p = dinofeat.weak.predict(classifier, os.path.join(d, "micrograph.png"))
        truth = dinofeat.load_image(os.path.join(d, "truth.png"),
                                    dinofeat.Options(image_palette_indices=1)).numpy()[..., 0]
        miou = np.mean([((labels == k) & (truth == k)).sum() / ((labels == k) | (truth == k)).sum() for k in (1, 2, 3)])
        self.assertGreater(miou, 0.8)
        self.assertEqual(p.shape, (256, 256, 3))
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clf.dfclf")
            classifier.save(path)
            again = dinofeat.weak.load(path)
            np.testing.assert_array_equal(again.predict(os.path.join(d, "micrograph.png"))[1], p)
        with self.assertRaises(dinofeat.Error):
            dinofeat.weak.Classifier.load(os.path.join(d, "truth.png"))
        with self.assertRaises(ValueError):
            dinofeat.weak.train([os.path.join(d, "micrograph.png")], [], trees=5)


class LiveTest(unittest.TestCase):
    def test_live_loop_equals_full_retrain(self):
        d = os.path.join(FIXTURES, "..", "weak")
        image = os.path.join(d, "micrograph.png")
        scribbles = dinofeat.load_image(os.path.join(d, "scribbles.png"),
                                        dinofeat.Options(image_palette_indices=1)).numpy()[..., 0]
        with dinofeat.weak.Live(image, trees=10, full_trees=15, seed=2) as live:
            self.assertEqual(live.classes, 0)
            live.set_labels(np.where(scribbles > 0, scribbles, -1))
            live.stroke([(20, 30), (60, 30)], 2, radius=1.5)
            live.erase([(20, 30)], radius=1)
            labels = live.labels
            self.assertEqual(labels[30, 40], 2)
            self.assertEqual(labels[30, 20], 0)
            whole, p = live.predict()
            self.assertEqual(live.classes, 3)
            region, q = live.predict((10, 20, 30, 40))
            np.testing.assert_array_equal(region, whole[20:60, 10:40])
            np.testing.assert_array_equal(q, p[20:60, 10:40])
            full = dinofeat.weak.train(image, labels.astype(np.uint16), trees=10, seed=2)
            np.testing.assert_array_equal(full.predict(image)[1], p)
            exported = live.classifier()
            reference = dinofeat.weak.train(image, labels.astype(np.uint16), trees=15, seed=2)
            np.testing.assert_array_equal(exported.predict(image)[1], reference.predict(image)[1])
            with self.assertRaisesRegex(dinofeat.Error, "label 70000"):
                live.stroke([(1, 1)], 70000)
            with self.assertRaises(ValueError):
                live.set_labels(np.zeros(5))
        with self.assertRaisesRegex(ValueError, "used after close"):
            live.predict()
        with dinofeat.weak.Live(image, trees=5) as empty:
            with self.assertRaisesRegex(dinofeat.Error, "no pixel is labelled"):
                empty.predict()

    def test_sixteen_bits_and_settings(self):
        d = os.path.join(FIXTURES, "..", "weak")
        grey = dinofeat.load_image(os.path.join(d, "micrograph.png")).numpy()[..., 0]
        wide = grey.astype(np.uint16) * 257
        settings = dict(groups="gaussian,mean,neighbours", min_sigma=1, max_sigma=4)
        np.testing.assert_allclose(dinofeat.weak.classical_features(wide, **settings),
                                   dinofeat.weak.classical_features(grey, **settings), rtol=1e-6, atol=1e-6)
        scribbles = os.path.join(d, "scribbles.png")
        classifier = dinofeat.weak.train(wide, scribbles, trees=10, **settings)
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clf.dfclf")
            classifier.save(path)
            np.testing.assert_array_equal(dinofeat.weak.load(path).predict(wide)[1], classifier.predict(wide)[1])
        with self.assertRaises(ValueError):
            dinofeat.weak.classical_features(grey.astype(np.int32))


class LogisticRegressionTest(unittest.TestCase):
    def test_matches_sklearn(self):
        d = os.path.join(FIXTURES, "..", "logreg")
        x = np.fromfile(os.path.join(d, "multinomial.train_x.raw"), "<f4").reshape(680, 8)
        y = np.fromfile(os.path.join(d, "multinomial.train_y.raw"), "<i4")
        tx = np.fromfile(os.path.join(d, "multinomial.test_x.raw"), "<f4").reshape(150, 8)
        expected = np.fromfile(os.path.join(d, "multinomial.proba.raw"), "<f4").reshape(150, 4)
        model = dinofeat.weak.LogisticRegression(C=1.0).fit(x, y)
        np.testing.assert_allclose(model.predict_proba(tx), expected, atol=1e-3)
        self.assertGreater(model.n_iter, 0)


class DeepWeakTest(unittest.TestCase):
    def test_hybrid_with_a_model(self):
        d = os.path.join(FIXTURES, "..", "weak")
        model = dinofeat.Model(os.path.join(FIXTURES, "..", "models", "dinov2_s14.pth"), heads=2)
        classifier = dinofeat.weak.train(os.path.join(d, "micrograph.png"), os.path.join(d, "scribbles.png"),
                                         features="hybrid", model=model, stride=7, shifts=(1,), flips=False)
        labels, p = classifier.predict(os.path.join(d, "micrograph.png"), model=model)
        self.assertEqual(labels.shape, (256, 256))
        self.assertTrue(((labels >= 1) & (labels <= 3)).all())
        with self.assertRaises(dinofeat.Error):
            classifier.predict(os.path.join(d, "micrograph.png"))  # the model is needed


if __name__ == "__main__":
    unittest.main()
