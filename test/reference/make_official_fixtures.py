#!/usr/bin/env python3
"""Tiny random backbones built and run by the official code itself, so the loader's key layouts
and the forward pass are held against what users' files really contain, not against our own
mapping (test/reference/make_model_fixtures.py writes those from the spec):

  - facebookresearch/dinov2's DinoVisionTransformer (dinov2/models/vision_transformer.py), saved
    with torch.save(model.state_dict()) as the released .pth files are;
  - Hugging Face transformers' Dinov2Model, Dinov2WithRegistersModel, Dinov2ForImageClassification
    (the "dinov2." prefix) and ViTModel (DINO v1), written by save_pretrained (model.safetensors
    and config.json beside it, which the loader reads for the heads);
  - timm's vit_small_patch14_dinov2, vit_small_patch14_reg4_dinov2 and vit_small_patch8_224 (the
    architecture of DINO v1's timm weights), saved with safetensors.torch.save_file as the Hub's
    timm files are.

Every parameter is redrawn at random after construction so that each one matters (the official
initialisations leave LayerScale at 1e-5 and biases at 0). The inputs are the formula of
model_inputs.py. Everything runs on the CPU in float32. Writes OUT/manifest.txt:

  official ID FILE HEADS B H W VARIANT   FILE (relative to OUT) run on a B x 3 x H x W input
  out ID OUTPUT FILE NDIM D0 D1 ...      the official output (patch, cls or registers)

Needs PyTorch 2.x, transformers, timm and safetensors (the GPU machine's Python has them):
  python3 make_official_fixtures.py --dinov2 /path/to/dinov2-checkout [OUT]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--dinov2", required=True, help="a checkout of facebookresearch/dinov2")
parser.add_argument("out", nargs="?", default="test/fixtures/official")
args = parser.parse_args()
sys.path.insert(0, args.dinov2)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import safetensors.torch  # noqa: E402
import timm  # noqa: E402
import transformers  # noqa: E402
from dinov2.models.vision_transformer import DinoVisionTransformer  # noqa: E402

import model_inputs  # noqa: E402
from model_inputs import input_images  # noqa: E402

OUT = args.out
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261204)
manifest = [f"# torch {torch.__version__}, transformers {transformers.__version__}, timm {timm.__version__}"]
DIM, DEPTH, HEADS = 32, 2, 2


def randomise(model):
    """Every parameter drawn anew: weights around 0, norm and LayerScale gains around 1 and 0.5."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "layernorm" in name) and name.endswith("weight"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
            elif "ls1" in name or "ls2" in name or "lambda1" in name or name.endswith(".gamma"):
                p.copy_(0.5 + 0.3 * torch.randn_like(p))
            elif any(t in name for t in ("cls_token", "pos_embed", "position_embeddings", "register_tokens", "reg_token")):
                p.copy_(torch.randn_like(p))
            else:
                p.copy_((0.1 if p.dim() == 1 else 0.3 / np.sqrt(max(1, p[0].numel()) / DIM)) * torch.randn_like(p))
    return model.eval()


def save_output(case_id, name, tensor):
    model_inputs.save_output(OUT, manifest, case_id, name, tensor)


def record(case_id, file, heads, b, h, w, variant, tokens, registers, patch):
    """tokens: the normed sequence (B, 1 + R + N, D) in the official order [CLS, registers, patches]."""
    manifest.append(f"official {case_id} {file} {heads} {b} {h} {w} {variant}")
    gh, gw = h // patch, w // patch
    save_output(case_id, "cls", tokens[:, 0])
    if registers:
        save_output(case_id, "registers", tokens[:, 1:1 + registers])
    save_output(case_id, "patch", tokens[:, 1 + registers:].reshape(b, gh, gw, -1))


# ---- facebookresearch/dinov2 ------------------------------------------------------------------
def official_dinov2(name, patch, grid, variant, **kwargs):
    model = randomise(DinoVisionTransformer(img_size=patch * grid, patch_size=patch, embed_dim=DIM, depth=DEPTH,
                                            num_heads=HEADS, init_values=1.0, block_chunks=0, **kwargs))
    torch.save(model.state_dict(), os.path.join(OUT, f"{name}.pth"))
    registers = kwargs.get("num_register_tokens", 0)
    for suffix, b, gh, gw in (("stored", 2, grid, grid), ("wide", 1, 3, 5)):
        x = input_images(b, gh * patch, gw * patch)
        with torch.no_grad():
            f = model.forward_features(x)
        tokens = torch.cat([f["x_norm_clstoken"][:, None], f["x_norm_regtokens"], f["x_norm_patchtokens"]], 1)
        record(f"{name}_{suffix}", f"{name}.pth", HEADS, b, gh * patch, gw * patch, variant, tokens, registers, patch)


# As facebookresearch/dinov2's hub builds them: offset interpolation without registers, antialiased
# size interpolation with them; SwiGLU for the giant.
official_dinov2("dinov2_vits14", 14, 4, "offset")
official_dinov2("dinov2_vits14_reg4", 14, 4, "size_aa", num_register_tokens=4, interpolate_antialias=True,
                interpolate_offset=0.0)
official_dinov2("dinov2_vitg14", 14, 3, "offset", ffn_layer="swiglufused")


# ---- Hugging Face transformers ----------------------------------------------------------------
def huggingface(name, model, patch, grid, registers, take=lambda out: out.last_hidden_state):
    folder = os.path.join(OUT, name)
    model.save_pretrained(folder, safe_serialization=True)
    x = input_images(2, grid * patch, grid * patch)
    with torch.no_grad():
        tokens = take(model(pixel_values=x, output_hidden_states=True))
    # heads 0: the loader must read them from config.json beside the weights
    record(f"{name}_stored", f"{name}/model.safetensors", 0, 2, grid * patch, grid * patch, "offset", tokens,
           registers, patch)


common = dict(hidden_size=DIM, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=4 * DIM,
              patch_size=14, image_size=56)
huggingface("hf_dinov2", randomise(transformers.Dinov2Model(transformers.Dinov2Config(**common))), 14, 4, 0)
huggingface("hf_dinov2_swiglu",
            randomise(transformers.Dinov2Model(transformers.Dinov2Config(**common, use_swiglu_ffn=True))), 14, 4, 0)
huggingface("hf_dinov2_reg4", randomise(transformers.Dinov2WithRegistersModel(
    transformers.Dinov2WithRegistersConfig(**common, num_register_tokens=4))), 14, 4, 4)
classifier = randomise(transformers.Dinov2ForImageClassification(transformers.Dinov2Config(**common, num_labels=3)))
huggingface("hf_dinov2_classifier", classifier, 14, 4, 0,
            take=lambda out: classifier.dinov2.layernorm(out.hidden_states[-1]))
huggingface("hf_dino_vits8", randomise(transformers.ViTModel(transformers.ViTConfig(
    hidden_size=DIM, num_hidden_layers=DEPTH, num_attention_heads=HEADS, intermediate_size=4 * DIM, patch_size=8,
    image_size=32, layer_norm_eps=1e-6))), 8, 4, 0)


# ---- timm -------------------------------------------------------------------------------------
def from_timm(name, arch, patch, grid, registers, variant, heads=HEADS):
    model = randomise(timm.create_model(arch, pretrained=False, num_classes=0, img_size=patch * grid, embed_dim=DIM,
                                        depth=DEPTH, num_heads=heads))
    file = f"{name}.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(OUT, file))
    x = input_images(2, grid * patch, grid * patch)
    with torch.no_grad():
        tokens = model.forward_features(x)
    record(f"{name}_stored", file, heads, 2, grid * patch, grid * patch, variant, tokens, registers, patch)


from_timm("timm_dinov2_vits14", "vit_small_patch14_dinov2", 14, 4, 0, "offset")
from_timm("timm_dinov2_vits14_reg4", "vit_small_patch14_reg4_dinov2", 14, 4, 4, "size_aa")
from_timm("timm_dino_vits8", "vit_small_patch8_224", 8, 4, 0, "offset")

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(json.dumps({"files": sorted(os.listdir(OUT))}))
