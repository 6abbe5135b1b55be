#!/usr/bin/python3
"""NeCo fixtures (raw little-endian arrays):

  roi_ID.features (B, C, H, W), roi_ID.boxes (K, 5), roi_ID.grad_out (K, C, P, P), roi_ID.out,
  roi_ID.grad (d sum(grad_out * out) / d features), in the case's type (.f32 or .f64), from
  torchvision.ops.roi_align (Debian's python3-torchvision); cases:
      a  f32  aligned, adaptive sampling, 7 x 7, scale 1/14: NeCo's setting, boxes as its crops give
      b  f64  the same in float64
      c  f32  not aligned, sampling ratio 2, 3 x 3, scale 1/8, boxes past the edges and degenerate
  loss_ID.student .teacher .refs (B, Nq, d) float32, loss_ID.value (float64), loss_ID.grad (float32)
  from neco_reference.py (bitonic, cauchy, steepness 100); ID = cos, cos_sym, euc, euc_sym.
"""
import os
import sys

import numpy as np
import torch
from torchvision.ops import roi_align

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neco_reference import neco_loss  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/neco"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(5)


def save(name, tensor, dtype):
    tensor.detach().numpy().astype(dtype).tofile(os.path.join(OUT, name))


def roi_case(name, dtype, boxes, size, scale, sampling, aligned, shape=(2, 5, 16, 16)):
    torch_type = torch.float32 if dtype == np.float32 else torch.float64
    features = torch.randn(*shape, dtype=torch_type, requires_grad=True)
    boxes = torch.tensor(boxes, dtype=torch_type)
    out = roi_align(features, boxes, size, spatial_scale=scale, sampling_ratio=sampling, aligned=aligned)
    grad_out = torch.randn_like(out)
    out.backward(grad_out)
    for part, tensor in (("features", features), ("boxes", boxes), ("grad_out", grad_out), ("out", out),
                         ("grad", features.grad)):
        save(f"roi_{name}.{part}", tensor, dtype)


# 224-pixel global crops and 98-pixel local ones, patch 14: boxes as NeCo's crop intersections give.
neco_boxes = [[0, 0.0, 0.0, 224.0, 224.0], [0, 31.7, 12.2, 180.4, 99.9], [1, 100.5, 140.25, 223.0, 224.0],
              [1, 3.0, 5.0, 17.5, 40.0], [0, 150.0, 0.0, 224.0, 30.0], [1, 55.5, 66.6, 77.7, 88.8]]
roi_case("a", np.float32, neco_boxes, 7, 1 / 14, -1, True)
roi_case("b", np.float64, neco_boxes, 7, 1 / 14, -1, True)
roi_case("c", np.float32, [[1, -20.0, -10.0, 60.0, 50.0], [0, 100.0, 90.0, 150.0, 200.0], [0, 40.0, 40.0, 40.0, 40.0],
                           [1, 10.0, 20.0, 9.0, 30.0]], 3, 1 / 8, 2, False)

for name, euclidean, symmetric in (("cos", False, False), ("cos_sym", False, True), ("euc", True, False),
                                   ("euc_sym", True, True)):
    student = torch.randn(2, 49, 16, requires_grad=True)
    teacher = (student.detach() + 0.3 * torch.randn(2, 49, 16))
    refs = torch.randn(2, 49, 16)
    loss = neco_loss(student.double(), teacher.double(), refs.double(), euclidean=euclidean, symmetric=symmetric)
    loss.backward()
    save(f"loss_{name}.student", student, np.float32)
    save(f"loss_{name}.teacher", teacher, np.float32)
    save(f"loss_{name}.refs", refs, np.float32)
    np.array([loss.item()], dtype=np.float64).tofile(os.path.join(OUT, f"loss_{name}.value"))
    save(f"loss_{name}.grad", student.grad, np.float32)
print(f"wrote NeCo fixtures to {OUT}")
