"""The Python enums against the C headers they mirror: every member of a C enum exists in Python with
its value, and no Python member lacks a C one, so neither side drifts."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402
from dinofeat import dataset, image, model, tensor  # noqa: E402

HEADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include", "dinofeat")

# Python enum, C enum, the prefix of the C names (the rest is the Python name)
MIRRORS = [
    (dinofeat.Status, "df_status", "DF_"),
    (dinofeat.Param, "df_param", "DF_PARAM_"),
    (dinofeat.ParamType, "df_param_type", "DF_PARAM_TYPE_"),
    (dinofeat.LogLevel, "df_log_level", "DF_LOG_"),
    (image.ResizeFilter, "df_resize_filter", "DF_RESIZE_"),
    (image.Adjustment, "df_image_adjustment", "DF_ADJUST_"),
    (model.PosInterp, "df_pos_interp", "DF_POS_INTERP_"),
    (model.Cover, "df_cover", "DF_COVER_"),
    (model.Output, "df_output", "DF_OUTPUT_"),
    (tensor.DType, "df_dtype", "DF_DTYPE_"),
    (dataset.Layout, "df_dataset_layout", "DF_DATASET_LAYOUT_"),
]


def c_enums():
    """{enum name: {member: value}} of every typedef enum in the public headers (the parser that
    writes lib/param_meta.h)."""
    sys.path.insert(0, os.path.join(HEADERS, "..", "..", "tools"))
    from gen_params import enums
    return {name: dict(members) for name, members in enums().items()}


class EnumDriftTest(unittest.TestCase):
    def test_python_enums_equal_the_headers(self):
        enums = c_enums()
        for python, c_name, prefix in MIRRORS:
            with self.subTest(enum=c_name):
                c_members = {member[len(prefix):].replace("E_", "", 1) if python is dinofeat.Status else
                             member[len(prefix):]: value for member, value in enums[c_name].items()}
                self.assertEqual({name: int(m.value) for name, m in python.__members__.items()}, c_members)


class DefaultDriftTest(unittest.TestCase):
    def test_upsample_defaults_are_the_librarys(self):
        """Model.upsample's keyword defaults set each option to the value a fresh df_options holds."""
        import inspect
        defaults = {name: p.default for name, p in inspect.signature(dinofeat.Model.upsample).parameters.items()}
        with dinofeat.Options() as fresh:
            library = {key: fresh[key] for key in (dinofeat.Param.UPS_STRIDE, dinofeat.Param.UPS_SHIFTS,
                                                         dinofeat.Param.UPS_FLIPS, dinofeat.Param.UPS_NEIGHBOURHOOD,
                                                         dinofeat.Param.UPS_BORDER, dinofeat.Param.UPS_INTERP,
                                                         dinofeat.Param.UPS_ATTENTION, dinofeat.Param.UPS_BATCH,
                                                         dinofeat.Param.UPS_PAD)}
        self.assertEqual(defaults["stride"], library[dinofeat.Param.UPS_STRIDE])
        self.assertEqual(",".join(map(str, defaults["shifts"])), library[dinofeat.Param.UPS_SHIFTS])
        self.assertEqual(model._FLIPS[defaults["flips"]], library[dinofeat.Param.UPS_FLIPS])
        self.assertEqual(model._NEIGHBOURHOODS[defaults["neighbourhood"]], library[dinofeat.Param.UPS_NEIGHBOURHOOD])
        self.assertEqual(model._BORDERS[defaults["border"]], library[dinofeat.Param.UPS_BORDER])
        self.assertEqual(model._INTERPS[defaults["interp"]], library[dinofeat.Param.UPS_INTERP])
        self.assertEqual(model._ATTENTIONS[defaults["attention"]], library[dinofeat.Param.UPS_ATTENTION])
        self.assertEqual(defaults["batch"], library[dinofeat.Param.UPS_BATCH])
        self.assertEqual(int(defaults["pad"]), library[dinofeat.Param.UPS_PAD])


if __name__ == "__main__":
    unittest.main()


class KeywordDefaultDriftTest(unittest.TestCase):
    # (callable, keyword, Param): the keyword's default is the library's default for the Param
    MIRRORS = [
        (dinofeat.KMeans, "k", "KMEANS_K"), (dinofeat.KMeans, "metric", "KMEANS_METRIC"),
        (dinofeat.KMeans, "inits", "KMEANS_INITS"), (dinofeat.KMeans, "max_iter", "KMEANS_MAX_ITER"),
        (dinofeat.KMeans, "tol", "KMEANS_TOL"), (dinofeat.KMeans, "seed", "KMEANS_SEED"),
        (dinofeat.KMeans, "sample", "KMEANS_SAMPLE"), (dinofeat.KMeans, "batch", "KMEANS_BATCH"),
        (dinofeat.weak.RandomForest, "trees", "FOREST_TREES"),
        (dinofeat.weak.RandomForest, "max_features", "FOREST_MAX_FEATURES"),
        (dinofeat.weak.RandomForest, "max_depth", "FOREST_MAX_DEPTH"),
        (dinofeat.weak.RandomForest, "seed", "FOREST_SEED"),
        (dinofeat.weak.LogisticRegression, "C", "LOGREG_C"),
        (dinofeat.weak.LogisticRegression, "max_iter", "LOGREG_MAX_ITER"),
        (dinofeat.weak.LogisticRegression, "tol", "LOGREG_TOL"),
        (dinofeat.weak.train, "trees", "FOREST_TREES"), (dinofeat.weak.train, "seed", "FOREST_SEED"),
        (dinofeat.weak.train, "C", "LOGREG_C"), (dinofeat.weak.train, "stride", "UPS_STRIDE"),
        (dinofeat.weak.train, "shifts", "UPS_SHIFTS"), (dinofeat.weak.train, "max_size", "WEAK_MAX_SIZE"),
        (dinofeat.weak.Live, "trees", "WEAK_LIVE_TREES"), (dinofeat.weak.Live, "full_trees", "FOREST_TREES"),
        (dinofeat.weak.Live, "seed", "FOREST_SEED"),
        (dinofeat.upsample_view_count, "shifts", "UPS_SHIFTS"),
        (dinofeat.upsample_view_count, "neighbourhood", "UPS_NEIGHBOURHOOD"),
        (dinofeat.metrics.Retrieval, "k", "RETRIEVAL_K"),
        (dinofeat.metrics.Retrieval, "temperature", "RETRIEVAL_TEMPERATURE"),
        (dinofeat.metrics.Retrieval, "bank", "RETRIEVAL_BANK"),
        (dinofeat.metrics.Retrieval, "seed", "RETRIEVAL_SEED"),
        (dinofeat.metrics.LinearProbe, "lr", "PROBE_LR"),
        (dinofeat.metrics.LinearProbe, "momentum", "PROBE_MOMENTUM"),
        (dinofeat.metrics.LinearProbe, "weight_decay", "PROBE_WEIGHT_DECAY"),
        (dinofeat.metrics.LinearProbe, "drop_at", "PROBE_DROP_AT"),
        (dinofeat.metrics.LinearProbe, "gamma", "PROBE_GAMMA"),
        (dinofeat.metrics.LinearProbe, "seed", "PROBE_SEED"),
        (dinofeat.stego.Trainer, "code_dim", "STEGO_CODE_DIM"), (dinofeat.stego.Trainer, "classes", "STEGO_CLASSES"),
        (dinofeat.crf, "normalization", "CRF_NORMALIZATION"),
    ]

    def test_python_keyword_defaults_are_the_librarys(self):
        import inspect
        for function, keyword, param in self.MIRRORS:
            with self.subTest(function=function.__qualname__, keyword=keyword):
                key = dinofeat.Param[param]
                default = inspect.signature(function).parameters[keyword].default
                library = dinofeat.param_default(key)
                if isinstance(default, tuple):
                    default = ",".join(str(v) for v in default)
                if isinstance(default, str) and isinstance(library, int):
                    library = dinofeat.param_value_names(key)[library]
                self.assertEqual(default, library)

    def test_every_param_described_and_settable(self):
        """Every parameter the library lists is a Param member, has help, and takes its default
        back through Options.set_from_string, by value name where it has one."""
        keys = dinofeat.params()
        self.assertEqual(set(keys), set(dinofeat.Param))
        with dinofeat.Options() as options:
            for key in keys:
                self.assertTrue(dinofeat.param_help(key))
                default = dinofeat.param_default(key)
                names = dinofeat.param_value_names(key)
                options.set_from_string(f"{dinofeat.param_name(key)}={names.get(default, default)}")
                self.assertEqual(options[key], default)
            with self.assertRaisesRegex(dinofeat.Error, "takes cls, o, q, k, v, none, not 'x'"):
                options.set_from_string("upsample.attention=x")

    def test_param_table_is_generated_from_the_header(self):
        import subprocess
        tool = os.path.join(HEADERS, "..", "..", "tools", "gen_params.py")
        result = subprocess.run([sys.executable, tool, "--check"], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
