"""The Python enums against the C headers they mirror: every member of a C enum exists in Python with
its value, and no Python member lacks a C one, so neither side drifts."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402
from dinofeat import image, model, tensor  # noqa: E402

HEADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include", "dinofeat")

# Python enum, C enum, the prefix of the C names (the rest is the Python name)
MIRRORS = [
    (dinofeat.Status, "df_status", "DF_"),
    (dinofeat.Param, "df_param", "DF_PARAM_"),
    (dinofeat.ParamType, "df_param_type", "DF_PARAM_TYPE_"),
    (dinofeat.LogLevel, "df_log_level", "DF_LOG_"),
    (image.ResizeFilter, "df_resize_filter", "DF_RESIZE_"),
    (model.PosInterp, "df_pos_interp", "DF_POS_INTERP_"),
    (model.Cover, "df_cover", "DF_COVER_"),
    (model.Output, "df_output", "DF_OUTPUT_"),
    (tensor.DType, "df_dtype", "DF_DTYPE_"),
]


def c_enums():
    """{enum name: {member: value}} of every typedef enum in the public headers."""
    enums, known = {}, {}
    for name in sorted(os.listdir(HEADERS)):
        with open(os.path.join(HEADERS, name)) as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        for enum, body in re.findall(r"typedef enum (\w+) \{(.*?)\}", text, flags=re.S):
            members = {}
            for member, value in re.findall(r"(\w+)\s*=\s*(\w+)", body):
                members[member] = known[member] = known[value] if value in known else int(value, 0)
            enums[enum] = members
    return enums


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
