#!/usr/bin/python3
"""Tiny random DINO / DINOv2 models written in every checkpoint layout df_model_open reads, the
reference outputs of vit_reference.py for them, and malformed checkpoints. Writes manifest.txt:

  model NAME HEADS                       a model (its weights are in NAME.pth, official layout)
  layout NAME FILE                       FILE holds NAME's weights in another layout
  case ID NAME B H W STRIDE VARIANT COVER input: pixel n of batch b is input_value(n, b)
  out ID OUTPUT FILE NDIM D0 D1 ...      expected float32 output of case ID
  bad FILE STATUS                        df_model_open must fail with STATUS (a df_status name)

Inputs need no files: input_value(n) = ((n * 7919 + b * 104729) % 2001) / 1000 - 1 in float32,
which C computes bit for bit. Run with Debian's /usr/bin/python3 (torch 1.13).
"""
import argparse
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import model_inputs  # noqa: E402
import vit_reference as ref  # noqa: E402
from model_inputs import input_images  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/models"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261122)
manifest = []


def path(name):
    return os.path.join(OUT, name)


def perturbed(*shape, scale=0.3, center=0.0):
    return (center + scale * torch.randn(*shape)).float()


def make_state(patch, dim, depth, registers=0, layerscale=True, swiglu=False, grid=4, mask_token=True):
    """An official-layout state dict with every parameter random, so each one matters."""
    s = {"cls_token": perturbed(1, 1, dim, scale=1.0), "pos_embed": perturbed(1, 1 + grid * grid, dim, scale=1.0),
         "patch_embed.proj.weight": perturbed(dim, 3, patch, patch, scale=0.1),
         "patch_embed.proj.bias": perturbed(dim, scale=0.1)}
    if registers:
        s["register_tokens"] = perturbed(1, registers, dim, scale=1.0)
    if mask_token:
        s["mask_token"] = perturbed(1, dim)
    hidden = ((int(4 * dim * 2 / 3) + 7) // 8) * 8 if swiglu else 4 * dim
    for i in range(depth):
        p = f"blocks.{i}."
        s[p + "norm1.weight"], s[p + "norm1.bias"] = perturbed(dim, center=1.0), perturbed(dim, scale=0.1)
        s[p + "attn.qkv.weight"], s[p + "attn.qkv.bias"] = perturbed(3 * dim, dim), perturbed(3 * dim, scale=0.2)
        s[p + "attn.proj.weight"], s[p + "attn.proj.bias"] = perturbed(dim, dim), perturbed(dim, scale=0.1)
        s[p + "norm2.weight"], s[p + "norm2.bias"] = perturbed(dim, center=1.0), perturbed(dim, scale=0.1)
        if swiglu:
            s[p + "mlp.w12.weight"], s[p + "mlp.w12.bias"] = perturbed(2 * hidden, dim), perturbed(2 * hidden, scale=0.1)
            s[p + "mlp.w3.weight"], s[p + "mlp.w3.bias"] = perturbed(dim, hidden), perturbed(dim, scale=0.1)
        else:
            s[p + "mlp.fc1.weight"], s[p + "mlp.fc1.bias"] = perturbed(hidden, dim), perturbed(hidden, scale=0.1)
            s[p + "mlp.fc2.weight"], s[p + "mlp.fc2.bias"] = perturbed(dim, hidden), perturbed(dim, scale=0.1)
        if layerscale:
            s[p + "ls1.gamma"], s[p + "ls2.gamma"] = perturbed(dim, center=0.5), perturbed(dim, center=0.5)
    s["norm.weight"], s["norm.bias"] = perturbed(dim, center=1.0), perturbed(dim, scale=0.1)
    return s


def write_safetensors(file, tensors, metadata=None):
    """The safetensors format by hand (Debian has no package for it): u64 header length, JSON
    header {name: {dtype, shape, data_offsets}}, then the raw little-endian bytes."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        tensor = tensor.contiguous()
        raw = tensor.view(torch.int16).numpy().tobytes() if tensor.dtype == torch.bfloat16 else tensor.numpy().tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path(file), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def to_hf(state, depth, dinov2, prefix=""):
    """Hugging Face Dinov2Model / Dinov2WithRegistersModel / ViTModel names (spec, 'Checkpoint layouts')."""
    out = {}
    e = prefix + "embeddings."
    out[e + "cls_token"] = state["cls_token"]
    out[e + "position_embeddings"] = state["pos_embed"]
    if "mask_token" in state:
        out[e + "mask_token"] = state["mask_token"]
    if "register_tokens" in state:
        out[e + "register_tokens"] = state["register_tokens"]
    out[e + "patch_embeddings.projection.weight"] = state["patch_embed.proj.weight"]
    out[e + "patch_embeddings.projection.bias"] = state["patch_embed.proj.bias"]
    dim = state["cls_token"].shape[-1]
    for i in range(depth):
        p, h = f"blocks.{i}.", f"{prefix}encoder.layer.{i}."
        for part in ("weight", "bias"):
            q, k, v = state[p + "attn.qkv." + part].split(dim, 0)
            out[h + "attention.attention.query." + part] = q.clone()
            out[h + "attention.attention.key." + part] = k.clone()
            out[h + "attention.attention.value." + part] = v.clone()
            out[h + "attention.output.dense." + part] = state[p + "attn.proj." + part]
            if dinov2:
                out[h + "norm1." + part] = state[p + "norm1." + part]
                out[h + "norm2." + part] = state[p + "norm2." + part]
                if p + "mlp.w12.weight" in state:
                    out[h + "mlp.weights_in." + part] = state[p + "mlp.w12." + part]
                    out[h + "mlp.weights_out." + part] = state[p + "mlp.w3." + part]
                else:
                    out[h + "mlp.fc1." + part] = state[p + "mlp.fc1." + part]
                    out[h + "mlp.fc2." + part] = state[p + "mlp.fc2." + part]
            else:
                out[h + "layernorm_before." + part] = state[p + "norm1." + part]
                out[h + "layernorm_after." + part] = state[p + "norm2." + part]
                out[h + "intermediate.dense." + part] = state[p + "mlp.fc1." + part]
                out[h + "output.dense." + part] = state[p + "mlp.fc2." + part]
        if dinov2:
            out[h + "layer_scale1.lambda1"] = state[p + "ls1.gamma"]
            out[h + "layer_scale2.lambda1"] = state[p + "ls2.gamma"]
    out[prefix + "layernorm.weight"], out[prefix + "layernorm.bias"] = state["norm.weight"], state["norm.bias"]
    if not dinov2:
        out[prefix + "pooler.dense.weight"] = perturbed(dim, dim)  # ignored by loaders
        out[prefix + "pooler.dense.bias"] = perturbed(dim)
    return out


def to_timm(state):
    """timm names: official ones, no mask_token, SwiGLU w12/w3 as fc1/fc2; register models keep
    registers in reg_token, fold the [CLS] position into cls_token and drop that row."""
    out = {k: v for k, v in state.items() if k != "mask_token"}
    for k in list(out):
        if ".mlp.w12." in k:
            out[k.replace(".mlp.w12.", ".mlp.fc1.")] = out.pop(k)
        elif ".mlp.w3." in k:
            out[k.replace(".mlp.w3.", ".mlp.fc2.")] = out.pop(k)
    if "register_tokens" in out:
        out["reg_token"] = out.pop("register_tokens")
        out["cls_token"] = state["cls_token"] + state["pos_embed"][:, :1]
        out["pos_embed"] = state["pos_embed"][:, 1:].clone()
    return out


def save_output(case_id, name, tensor):
    model_inputs.save_output(OUT, manifest, case_id, name, tensor)


def case(case_id, model, state, heads, b, h, w, stride, variant, cover="crop", outputs=None, intermediate=()):
    stride_value = stride or 0
    manifest.append(f"case {case_id} {model} {b} {h} {w} {stride_value} {variant} {cover}")
    result = ref.forward(state, input_images(b, h, w), heads, variant, stride, cover, intermediate)
    for name in outputs or ("patch", "cls", "registers", "cls_attention", "q", "k", "v"):
        save_output(case_id, name, result[name])


# ---- the models -------------------------------------------------------------------------------
models = {
    "dino_s8": (make_state(8, 16, 2, layerscale=False, grid=4, mask_token=False), 2, "offset"),
    "dinov2_s14": (make_state(14, 16, 3, grid=4), 2, "offset"),
    "dinov2_s14_reg4": (make_state(14, 16, 2, registers=4, grid=4), 2, "size_aa"),
    "dinov2_g14": (make_state(14, 16, 2, swiglu=True, grid=3), 2, "offset"),
}
for name, (state, heads, variant) in models.items():
    torch.save(state, path(f"{name}.pth"))
    manifest.append(f"model {name} {heads}")
    dinov2 = name.startswith("dinov2")
    depth = ref.architecture(state)["depth"]
    write_safetensors(f"{name}_hf.safetensors", to_hf(state, depth, dinov2, "dinov2." if "g14" in name else ""),
                      {"format": "pt"})
    manifest.append(f"layout {name} {name}_hf.safetensors")
    write_safetensors(f"{name}_timm.safetensors", to_timm(state))
    manifest.append(f"layout {name} {name}_timm.safetensors")
    grid, patch = ref.architecture(state)["grid"], ref.architecture(state)["patch"]
    # The stored grid, then a non-square size that is not the stored grid.
    case(f"{name}_stored", name, state, heads, 2, grid * patch, grid * patch, None, variant)
    case(f"{name}_wide", name, state, heads, 1, 3 * patch, 5 * patch, None, variant)

# A full DINO training checkpoint: teacher and student, DDP and wrapper prefixes, heads, args.
dino = models["dino_s8"][0]
teacher = {"backbone." + k: v for k, v in dino.items()}
teacher.update({"head.mlp.0.weight": perturbed(8, 16), "head.last_layer.weight_g": perturbed(1, 16)})
student = {"module.backbone." + k: v + 1.0 for k, v in dino.items()}
torch.save({"student": student, "teacher": teacher, "epoch": 100,
            "args": argparse.Namespace(arch="vit_small", patch_size=8, lr=0.0005),
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]}]}},
           path("dino_s8_checkpoint.pth"))
manifest.append("layout dino_s8 dino_s8_checkpoint.pth")

# DINOv2 blocks chunked for FSDP: blocks.{chunk}.{i}, i counting on across chunks.
v2 = models["dinov2_s14"][0]
chunked = {}
for k, v in v2.items():
    if k.startswith("blocks."):
        i = int(k.split(".")[1])
        chunked[k.replace(f"blocks.{i}.", f"blocks.{i // 2}.{i}.", 1)] = v
    else:
        chunked[k] = v
torch.save(chunked, path("dinov2_s14_chunked.pth"))
manifest.append("layout dinov2_s14 dinov2_s14_chunked.pth")
# Half-precision weights on disk are converted on load.
write_safetensors("dinov2_s14_f16.safetensors", {k: v.half() for k, v in to_timm(v2).items()})
manifest.append("model_f16 dinov2_s14 dinov2_s14_f16.safetensors")

# Every interpolation variant, strides with crop and pad, intermediate layers.
for variant in ("offset", "size_aa", "size"):
    case(f"dinov2_s14_wide_{variant}", "dinov2_s14", v2, 2, 1, 3 * 14, 5 * 14, None, variant, outputs=("patch", "cls"))
case("dinov2_s14_stride4", "dinov2_s14", v2, 2, 1, 46, 60, 4, "offset")
case("dinov2_s14_stride4_pad", "dinov2_s14", v2, 2, 1, 46, 60, 4, "offset", cover="pad", outputs=("patch", "cls"))
# 4,489 + 1 tokens: the MLP in blocks of rows (above 4,096 tokens) and attention over 18 key blocks.
case("dinov2_s14_long", "dinov2_s14", v2, 2, 1, 80, 80, 1, "offset", outputs=("patch", "cls"))
case("dino_s8_uncovered", "dino_s8", dino, 2, 1, 35, 29, None, "offset", outputs=("patch", "cls", "cls_attention"))
case("dinov2_s14_layers", "dinov2_s14", v2, 2, 1, 56, 56, None, "offset", outputs=("patch",), intermediate=(0, 1))
save_output("dinov2_s14_layers", "intermediate_0",
            ref.forward(v2, input_images(1, 56, 56), 2, intermediate=(0, 1))["intermediate_0"])
save_output("dinov2_s14_layers", "intermediate_1",
            ref.forward(v2, input_images(1, 56, 56), 2, intermediate=(0, 1))["intermediate_1"])

# ---- malformed files --------------------------------------------------------------------------
good = open(path("dino_s8_timm.safetensors"), "rb").read()
header_length = struct.unpack("<Q", good[:8])[0]
header = json.loads(good[8:8 + header_length])


def bad_safetensors(name, mutate):
    h = json.loads(json.dumps(header))
    mutate(h)
    text = json.dumps(h).encode()
    with open(path(name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + good[8 + header_length:])
    manifest.append(f"bad {name} DF_E_FORMAT")


open(path("bad_header_length.safetensors"), "wb").write(struct.pack("<Q", 1 << 40) + good[8:])
manifest.append("bad bad_header_length.safetensors DF_E_FORMAT")
open(path("truncated.safetensors"), "wb").write(good[: len(good) - 100])
manifest.append("bad truncated.safetensors DF_E_FORMAT")
bad_safetensors("bad_offsets.safetensors", lambda h: h["norm.bias"].update(data_offsets=[0, 1 << 30]))
bad_safetensors("bad_dtype_bytes.safetensors", lambda h: h["norm.bias"].update(shape=[17]))
bad_safetensors("bad_dtype.safetensors", lambda h: h["norm.bias"].update(dtype="C64"))
bad_safetensors("missing_key.safetensors", lambda h: h.pop("blocks.1.attn.qkv.weight"))
bad_safetensors("bad_shape.safetensors", lambda h: h["blocks.0.norm1.weight"].update(shape=[4, 4]))
dup = good[8:8 + header_length].decode().replace('"norm.bias"', '"norm.weight"', 1)
open(path("duplicate_key.safetensors"), "wb").write(struct.pack("<Q", len(dup)) + dup.encode() + good[8 + header_length:])
manifest.append("bad duplicate_key.safetensors DF_E_FORMAT")
open(path("not_json.safetensors"), "wb").write(struct.pack("<Q", 6) + b"{nope}" + b"\0" * 32)
manifest.append("bad not_json.safetensors DF_E_FORMAT")

pth = open(path("dino_s8.pth"), "rb").read()
open(path("truncated.pth"), "wb").write(pth[: len(pth) // 2])
manifest.append("bad truncated.pth DF_E_FORMAT")
open(path("garbage.pth"), "wb").write(b"PK\x03\x04" + bytes(range(256)) * 4)
manifest.append("bad garbage.pth DF_E_FORMAT")


class Exploit:
    """Unpickled, it would write the file the test names in DINOFEAT_EXPLOIT_MARKER (a fresh
    temporary path each run)."""

    def __reduce__(self):
        return (os.system, ('echo this must never run > "$DINOFEAT_EXPLOIT_MARKER"',))


torch.save({"cls_token": Exploit()}, path("unknown_global.pth"))
manifest.append("bad unknown_global.pth DF_E_FORMAT")
torch.save(dino, path("legacy.pth"), _use_new_zipfile_serialization=False)
manifest.append("bad legacy.pth DF_E_UNSUPPORTED")
missing = dict(dino)
missing.pop("blocks.1.mlp.fc2.bias")
torch.save(missing, path("missing_key.pth"))
manifest.append("bad missing_key.pth DF_E_FORMAT")
wrong = dict(dino)
wrong["blocks.0.attn.proj.weight"] = torch.zeros(16, 15)
torch.save(wrong, path("bad_shape.pth"))
manifest.append("bad bad_shape.pth DF_E_FORMAT")
torch.save({"model": "not a state dict"}, path("no_tensors.pth"))
manifest.append("bad no_tensors.pth DF_E_FORMAT")
# A zip whose data.pkl points at a storage file that is not there.
with zipfile.ZipFile(io.BytesIO(pth)) as source, zipfile.ZipFile(path("missing_storage.pth"), "w") as target:
    for item in source.infolist():
        if not item.filename.endswith("/data/0"):
            target.writestr(item, source.read(item.filename))
manifest.append("bad missing_storage.pth DF_E_FORMAT")

with open(path("manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"{len(manifest)} lines in {OUT}/manifest.txt; {sum(os.path.getsize(path(n)) for n in os.listdir(OUT)) // 1024} KiB")
