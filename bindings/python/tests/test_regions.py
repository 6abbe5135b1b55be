"""dinofeat.regions against the scipy fixtures (test/fixtures/components)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "components")


class RegionsTest(unittest.TestCase):
    def test_matches_scipy(self):
        mask = np.fromfile(os.path.join(FIXTURES, "dense.mask.u8"), np.uint8).reshape(48, 64)
        components, count = dinofeat.regions.connected_components(mask, connectivity=4)
        expected = np.fromfile(os.path.join(FIXTURES, "dense.4.i32"), "<i4").reshape(48, 64)
        np.testing.assert_array_equal(components, expected)
        boxes, areas = dinofeat.regions.component_boxes(components, count)
        reference = np.fromfile(os.path.join(FIXTURES, "dense.4.boxes.i32"), "<i4").reshape(-1, 5)
        np.testing.assert_array_equal(boxes, reference[:, :4])
        np.testing.assert_array_equal(areas, reference[:, 4])
        self.assertAlmostEqual(dinofeat.regions.box_iou([0, 0, 10, 10], [5, 5, 15, 15]), 25 / 175)
        with self.assertRaises(dinofeat.Error):
            dinofeat.regions.connected_components(mask, connectivity=6)


if __name__ == "__main__":
    unittest.main()
