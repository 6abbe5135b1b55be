"""dinofeat.metrics against the scipy / numpy fixtures (test/fixtures/eval)."""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "eval")


class MetricsTest(unittest.TestCase):
    def test_assignment(self):
        cost = np.fromfile(os.path.join(FIXTURES, "cost_60x40.f64"), "<f8").reshape(60, 40)
        pairs = np.fromfile(os.path.join(FIXTURES, "cost_60x40.pairs.i64"), "<i8").reshape(-1, 2)
        rows, cols = dinofeat.metrics.linear_sum_assignment(cost)
        np.testing.assert_array_equal(rows, pairs[:, 0])
        np.testing.assert_array_equal(cols, pairs[:, 1])

    def test_scores(self):
        pred = np.fromfile(os.path.join(FIXTURES, "over.pred.i32"), "<i4")
        gt = np.fromfile(os.path.join(FIXTURES, "over.gt.i32"), "<i4")
        confusion = dinofeat.metrics.Confusion(12, 5).add(pred, gt)
        self.assertEqual(confusion.counts.sum(), (gt != 255).sum())
        s = confusion.scores("hungarian")
        self.assertAlmostEqual(s["miou"], 0.35097959799898987, places=12)
        self.assertAlmostEqual(confusion.scores("many-to-one")["accuracy"], 0.76376811594202898, places=12)
        self.assertEqual((confusion.match("hungarian") >= 0).sum(), 5)
        # NeCo's one-to-one matching by IoU: cluster 0 (3 pixels of class 1) and cluster 1 (3 of
        # class 0, 7 of class 1) cross over, where the most matched pixels keep them straight
        small = dinofeat.metrics.Confusion(2, 2).add(np.array([0] * 3 + [1] * 10), np.array([1] * 3 + [0] * 3 + [1] * 7))
        np.testing.assert_array_equal(small.match("hungarian"), [0, 1])
        np.testing.assert_array_equal(small.match("hungarian-iou"), [1, 0])
        self.assertAlmostEqual(small.scores("hungarian-iou")["miou"], 0.3, places=12)
        np.testing.assert_array_equal(small.match("none"), [0, 1])
        with self.assertRaises(dinofeat.Error):
            confusion.add(np.array([12]), np.array([0]))


class SaliencyTest(unittest.TestCase):
    def test_matches_numpy(self):
        folder = os.path.join(FIXTURES, "..", "saliency")
        saliency = dinofeat.metrics.Saliency()
        expected = None
        with open(os.path.join(folder, "manifest.txt")) as manifest:
            lines = [line.split() for line in manifest]
        for parts in lines:
            if parts[0] == "image":
                pred = np.fromfile(os.path.join(folder, parts[4]), np.uint8)
                gt = np.fromfile(os.path.join(folder, parts[5]), np.uint8)
                saliency.add(pred, gt)
            elif parts[0] == "saliency":
                expected = [float(v) for v in parts[2:5]]
        s = saliency.scores()
        np.testing.assert_allclose([s["iou"], s["accuracy"], s["max_f_beta"]], expected, rtol=0, atol=1e-12)
        self.assertTrue(dinofeat.metrics.corloc_hit([[0, 0, 10, 10]], [[1, 1, 10, 10], [50, 50, 60, 60]]))
        self.assertFalse(dinofeat.metrics.corloc_hit([], [[1, 1, 10, 10]]))

    def test_load_boxes(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "a.json"), "w") as f:
                f.write('{"boxes": [{"box": [1, 2, 3, 4]}, {"box": [5, 6, 7, 8]}]}')
            with open(os.path.join(d, "b.txt"), "w") as f:
                f.write("# none yet\n")
            with open(os.path.join(d, "c.txt"), "w") as f:
                f.write("1 2 3 4\n5 6\n")
            np.testing.assert_array_equal(dinofeat.metrics.load_boxes(os.path.join(d, "a.json")),
                                          [[1, 2, 3, 4], [5, 6, 7, 8]])
            self.assertEqual(dinofeat.metrics.load_boxes(os.path.join(d, "b.txt")).shape, (0, 4))
            with self.assertRaisesRegex(dinofeat.Error, "c.txt:2"):
                dinofeat.metrics.load_boxes(os.path.join(d, "c.txt"))


class RetrievalTest(unittest.TestCase):
    def test_matches_numpy(self):
        d = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "retrieval")
        bank = np.fromfile(os.path.join(d, "softmax.bank.raw"), "<f4").reshape(900, 24)
        bank_labels = np.fromfile(os.path.join(d, "softmax.bank_labels.raw"), "<i4")
        queries = np.fromfile(os.path.join(d, "softmax.queries.raw"), "<f4").reshape(64, 24)
        retrieval = dinofeat.metrics.Retrieval(24, 9, k=30, temperature=0.02)
        retrieval.add(bank, bank_labels)
        self.assertEqual(len(retrieval), int((bank_labels != 255).sum()))
        labels, scores = retrieval.predict(queries)
        np.testing.assert_array_equal(labels, np.fromfile(os.path.join(d, "softmax.labels.raw"), "<i4"))
        np.testing.assert_allclose(scores, np.fromfile(os.path.join(d, "softmax.scores.raw"), "<f4").reshape(64, 9),
                                   atol=1e-4)
        with self.assertRaises(dinofeat.Error):
            retrieval.add(bank[:2], [0, 9])

    def test_soft_labels_match_numpy(self):
        d = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "retrieval")
        bank = np.fromfile(os.path.join(d, "hummingbird.bank.raw"), "<f4").reshape(800, 24)
        bank_labels = np.fromfile(os.path.join(d, "hummingbird.bank_labels.raw"), "<i4")
        soft = np.fromfile(os.path.join(d, "hummingbird.bank_soft.raw"), "<f4").reshape(800, 7)
        queries = np.fromfile(os.path.join(d, "hummingbird.queries.raw"), "<f4").reshape(60, 24)
        retrieval = dinofeat.metrics.Retrieval(24, 7, k=30, temperature=0.02)
        retrieval.add(bank[:400], bank_labels[:400])
        retrieval.add_soft(bank[400:], soft[400:])
        labels, scores = retrieval.predict(queries)
        np.testing.assert_array_equal(labels, np.fromfile(os.path.join(d, "hummingbird.labels.raw"), "<i4"))
        np.testing.assert_allclose(scores, np.fromfile(os.path.join(d, "hummingbird.scores.raw"), "<f4").reshape(60, 7),
                                   atol=1e-4)
        with self.assertRaises(ValueError):
            retrieval.add_soft(bank[:2], soft[:3])
        with self.assertRaises(dinofeat.Error):
            retrieval.add_soft(bank[:1], -soft[:1])


class LinearProbeTest(unittest.TestCase):
    """The "plain" case of test/fixtures/linear_probe: 2 epochs of 3 SGD steps, then predictions."""

    def test_matches_pytorch_and_resumes(self):
        d = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "linear_probe")
        features = np.fromfile(os.path.join(d, "plain.features.raw"), "<f4").reshape(6, 2, 5, 7, 16)
        labels = np.fromfile(os.path.join(d, "plain.labels.raw"), "u1").reshape(6, 2, 10, 14)
        losses = np.fromfile(os.path.join(d, "plain.losses.raw"), "<f8")
        probe = dinofeat.metrics.LinearProbe(16, 3, lr=0.5, momentum=0.0, weight_decay=0.0, drop_at=1, gamma=0.5)
        got = []
        for epoch in range(2):
            got += [probe.step(features[3 * epoch + s], labels[3 * epoch + s]) for s in range(3)]
            probe.end_epoch()
        np.testing.assert_allclose(got, losses, rtol=1e-4)
        self.assertEqual((probe.epochs, probe.steps), (2, 6))
        query = np.fromfile(os.path.join(d, "plain.query.raw"), "<f4").reshape(2, 5, 7, 16)
        want = np.fromfile(os.path.join(d, "plain.predicted.raw"), "u1").reshape(2, 5, 7)
        predicted = probe.predict(query, 5, 7)
        np.testing.assert_array_equal(predicted[want != 255], want[want != 255])
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "probe.dfprobe")
            probe.save(path)
            with dinofeat.metrics.LinearProbe.load(path) as loaded:
                self.assertEqual((loaded.epochs, loaded.steps), (2, 6))
                np.testing.assert_array_equal(loaded.predict(query, 5, 7), predicted)
        with self.assertRaisesRegex(dinofeat.Error, r"features must be \(B, h, w, 16\)"):
            probe.step(features[0][..., :8], labels[0])
        with self.assertRaises(ValueError):
            probe.step(features[0], labels[0][0])
        probe.close()


if __name__ == "__main__":
    unittest.main()
