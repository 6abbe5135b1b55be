"""dinofeat.dataset.Dataset on a generated folder."""
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402


class DatasetTest(unittest.TestCase):
    def test_folder_items_and_passes(self):
        from PIL import Image
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "img", "sub"))
            os.makedirs(os.path.join(d, "lab", "sub"))
            for i, name in enumerate(("b", "a", "sub/c")):
                x = np.full((20, 30 + 10 * i, 3), i * 50, np.uint8)
                Image.fromarray(x).save(os.path.join(d, "img", name + ".jpg"))
                Image.fromarray(np.full((20, 30 + 10 * i), i, np.uint8)).save(os.path.join(d, "lab", name + ".png"))
            data = dinofeat.dataset.Dataset(os.path.join(d, "img"), os.path.join(d, "lab"), size=16)
            self.assertEqual(len(data), 3)
            self.assertEqual(data.name(2), ("sub/c.jpg", -1))
            image, labels = data[0]  # a.jpg
            self.assertEqual(image.shape, (16, 16, 3))
            np.testing.assert_array_equal(labels, np.ones((16, 16), np.uint8))
            with self.assertRaises(IndexError):
                data[3]
            # the whole image stretched to size x size, whatever its aspect, then cut to multiples of 5
            stretched = dinofeat.dataset.Dataset(os.path.join(d, "img"), os.path.join(d, "lab"), size=16, stretch=True)
            self.assertEqual(stretched[0][0].shape, (16, 16, 3))
            cut = dinofeat.dataset.Dataset(os.path.join(d, "img"), os.path.join(d, "lab"), size=17, stretch=True, multiple=5)
            self.assertEqual(cut[0][1].shape, (15, 15))
            stretched.close()
            cut.close()
            items = [item for item, _, _ in data.epoch()]
            self.assertEqual(items, [0, 1, 2])
            crops = dinofeat.dataset.Dataset(os.path.join(d, "img"), five_crop=True, shuffle=True, seed=3, workers=3)
            self.assertEqual(len(crops), 15)
            first = [item for item, image, labels in crops.epoch(1)]
            self.assertEqual(sorted(first), list(range(15)))
            self.assertEqual(first, [item for item, _, _ in crops.epoch(1)])
            self.assertIsNone(next(crops.epoch(2))[2])
            with self.assertRaises(dinofeat.Error):
                dinofeat.dataset.Dataset(os.path.join(d, "nothing"))
            data.close()
            crops.close()

    def test_skip_broken_lists_what_it_left_out(self):
        from PIL import Image
        with tempfile.TemporaryDirectory() as d:
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(os.path.join(d, "good.png"))
            with open(os.path.join(d, "bad.png"), "wb") as f:
                f.write(b"not a png")
            data = dinofeat.dataset.Dataset(d, skip_broken=True)
            self.assertEqual(len(data), 1)
            self.assertEqual(data.name(0), ("good.png", -1))
            (name, reason), = data.skipped
            self.assertEqual(name, "bad.png")
            self.assertIn("bad.png", reason)
            self.assertEqual(dinofeat.dataset.Dataset(d).skipped, [])
            self.assertEqual(len(dinofeat.dataset.Dataset(d)), 2)

    def test_cityscapes_as_distributed(self):
        """layout="cityscapes27": the split's *_leftImg8bit.png, labelIds 7..33 as classes 0..26,
        the void ids ignored (255)."""
        with tempfile.TemporaryDirectory() as root:
            for top in ("leftImg8bit", "gtFine"):
                os.makedirs(os.path.join(root, top, "val", "ulm"))
            dinofeat.Image.from_numpy(np.full((4, 6, 3), 90, np.uint8)).save_png(
                os.path.join(root, "leftImg8bit", "val", "ulm", "ulm_000000_000019_leftImg8bit.png"))
            ids = np.array([[0, 6, 7, 8, 33, 26]] * 4, np.uint8)
            dinofeat.Image.from_numpy(ids[..., None]).save_png(
                os.path.join(root, "gtFine", "val", "ulm", "ulm_000000_000019_gtFine_labelIds.png"))
            d = dinofeat.dataset.Dataset(root, layout="cityscapes27", split="val")
            self.assertEqual((len(d), d.name(0)[0]), (1, "ulm/ulm_000000_000019_leftImg8bit.png"))
            _, labels = d[0]
            np.testing.assert_array_equal(labels.reshape(4, 6)[0], [255, 255, 0, 1, 26, 19])
            d.close()
            with self.assertRaises(ValueError):
                dinofeat.dataset.Dataset(root, layout="imagenet")
            with self.assertRaisesRegex(dinofeat.Error, "Coco164kFull_Stuff_Coarse_7.txt"):
                dinofeat.dataset.Dataset(root, layout=dinofeat.dataset.Layout.COCOSTUFF27)
            with self.assertRaisesRegex(dinofeat.Error, "no boxes"):
                dinofeat.dataset.Dataset(os.path.join(root, "leftImg8bit"), layout="folder").boxes(0)

    def test_voc_boxes(self):
        with tempfile.TemporaryDirectory() as root:
            base = os.path.join(root, "VOCdevkit", "VOC2012")
            for folder in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
                os.makedirs(os.path.join(base, folder))
            dinofeat.Image.from_numpy(np.zeros((8, 8, 3), np.uint8)).save_png(
                os.path.join(base, "JPEGImages", "2008_000002.jpg"))
            with open(os.path.join(base, "ImageSets", "Main", "val.txt"), "w") as f:
                f.write("2008_000002\n")
            with open(os.path.join(base, "Annotations", "2008_000002.xml"), "w") as f:
                f.write("<annotation><object><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>8</xmax><ymax>7</ymax>"
                        "</bndbox></object></annotation>")
            d = dinofeat.dataset.Dataset(root, layout="voc12", split="val")
            np.testing.assert_array_equal(d.boxes(0), [[1, 2, 8, 7]])
            d.close()
            with open(os.path.join(base, "Annotations", "2008_000002.xml"), "w") as f:
                f.write("<annotation><object><difficult>1</difficult><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>8</xmax>"
                        "<ymax>7</ymax></bndbox></object></annotation>")
            with self.assertRaisesRegex(dinofeat.Error, "neither difficult nor truncated"):
                dinofeat.dataset.Dataset(root, layout="voc12", split="val", remove_hards=True)

    def test_suim(self):
        """suim reads SUIM's BMP colour masks (test/fixtures/bmp: pixel i coloured COLOURS[i % 10]
        of make_bmp_fixtures.py) as the six classes, TEST as the val split."""
        bmp = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "bmp", "rgb24.bmp")
        with tempfile.TemporaryDirectory() as root:
            for folder in ("images", "masks"):
                os.makedirs(os.path.join(root, "SUIM", "TEST", folder))
            dinofeat.Image.from_numpy(np.zeros((5, 7, 3), np.uint8)).save_png(
                os.path.join(root, "SUIM", "TEST", "images", "d_r_1_.jpg"))
            shutil.copyfile(bmp, os.path.join(root, "SUIM", "TEST", "masks", "d_r_1_.bmp"))
            d = dinofeat.dataset.Dataset(root, layout="suim", split="val")
            labels = d[0][1].reshape(5, 7)
            np.testing.assert_array_equal(labels[0], [5, 0, 5, 4, 1, 3, 2])
            np.testing.assert_array_equal(labels[1], [5, 3, 4, 5, 0, 5, 4])
            d.close()
            with self.assertRaisesRegex(dinofeat.Error, "train_val/images"):
                dinofeat.dataset.Dataset(root, layout=dinofeat.dataset.Layout.SUIM, split="train")

    def test_potsdam_and_coco20k(self):
        """potsdam3 reads the .mat files (test/fixtures/mat: labels 0..5 and 255 on every row,
        STEGO's three classes); coco20k the list's images and their non-crowd boxes."""
        mats = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "mat")
        with tempfile.TemporaryDirectory() as root:
            for folder in ("imgs", "gt"):
                os.makedirs(os.path.join(root, folder))
                with open(os.path.join(mats, ("img" if folder == "imgs" else folder) + ".mat"), "rb") as f:
                    data = f.read()
                with open(os.path.join(root, folder, "0_1_2.mat"), "wb") as f:
                    f.write(data)
            with open(os.path.join(root, "labelled_train.txt"), "w") as f:
                f.write("0_1_2\n")
            d = dinofeat.dataset.Dataset(root, layout=dinofeat.dataset.Layout.POTSDAM3, split="train")
            image, labels = d[0]
            self.assertEqual(image.shape, (5, 7, 3))
            self.assertEqual(int(image[1, 2, 0]), 28 + 8)
            np.testing.assert_array_equal(labels.reshape(5, 7)[3], [0, 1, 2, 2, 0, 1, 255])
            d.close()
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "train2014"))
            dinofeat.Image.from_numpy(np.zeros((8, 8, 3), np.uint8)).save_png(
                os.path.join(root, "train2014", "COCO_train2014_000000000042.jpg"))
            with open(os.path.join(root, "coco_20k_filenames.txt"), "w") as f:
                f.write("train2014/COCO_train2014_000000000042.jpg\n")
            with open(os.path.join(root, "instances_train2014_sel20k.json"), "w") as f:
                f.write('{"annotations": [{"image_id": 42, "bbox": [1.5, 2, 3, 4], "iscrowd": 0},'
                        ' {"image_id": 42, "bbox": [0, 0, 8, 8], "iscrowd": 1}]}')
            d = dinofeat.dataset.Dataset(root, layout="coco20k")
            np.testing.assert_array_equal(d.boxes(0), [[2, 2, 4, 6]])
            self.assertIsNone(d[0][1])
            d.close()

    def test_feature_cache_and_knn(self):
        from PIL import Image
        fixtures = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures")
        model = dinofeat.Model(os.path.join(fixtures, "models", "dino_s8.pth"), heads=2)
        rng = np.random.default_rng(0)
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "img"))
            for i in range(3):
                Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(os.path.join(d, "img", f"{i}.png"))
            data = dinofeat.dataset.Dataset(os.path.join(d, "img"), size=32, five_crop=True)
            calls = []
            with self.assertRaises(ZeroDivisionError):  # an exception in progress stops the build, then is raised
                dinofeat.dataset.build_feature_cache(model, data, os.path.join(d, "f"), batch=4,
                                                     progress=lambda done, total: calls.append(done) or 1 / 0)
            self.assertEqual(calls, [4])
            dinofeat.dataset.build_feature_cache(model, data, os.path.join(d, "f"), batch=4)
            cache = dinofeat.dataset.FeatureCache(os.path.join(d, "f"))
            self.assertEqual((len(cache), cache.shape), (15, (4, 4, 16)))
            image, _ = data[7]
            direct = model.forward(image, outputs=("patch",))["patch"][0]
            np.testing.assert_allclose(cache[7], direct, rtol=1e-5, atol=1e-6)
            cache.check_model(model)
            table = cache.knn(3)
            self.assertEqual(table.shape, (15, 3))
            np.testing.assert_array_equal(table[:, 0], np.arange(15))
            dinofeat.dataset.save_knn(os.path.join(d, "knn"), table)
            np.testing.assert_array_equal(dinofeat.dataset.load_knn(os.path.join(d, "knn")), table)
            cache.close()
            data.close()


if __name__ == "__main__":
    unittest.main()
