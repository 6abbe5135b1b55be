"""The 58 classical channels as HR-Dv2's featuriser defines them (shared/specs/hrdv2.md section 4),
written from that description with numpy, scipy.ndimage and scikit-image, in the dtypes those
calls use: scale 0 on the bytes (Sobel sees them as float64 in [0, 1], np.gradient as float64
0..255), the other scales on the float32 image in [0, 1] with float32 Gaussians, their float32
gradients, and float32 membrane responses."""
import numpy as np
from scipy import ndimage
from skimage import filters
from skimage.util import img_as_float32

SIGMAS = (1, 2, 4, 8, 16)


def hessian_channels(f):
    """Module, trace, determinant and the two eigenvalues from np.gradient applied twice."""
    dy, dx = np.gradient(f)
    a = np.gradient(dy, axis=0)
    b = np.gradient(dy, axis=1)
    d = np.gradient(dx, axis=1)
    spread = np.sqrt(4 * b**2 + (a - d) ** 2)
    return [np.sqrt(a**2 + b**2 + d**2), a + d, a * d - b**2, (a + d + spread) / 2.0, (a + d - spread) / 2.0]


def membrane_kernels(size=19, thickness=1):
    """size x size zeros whose thickness centre columns are ones, rotated by 0, 6, ..., 174 degrees
    (cubic spline, the output grown to hold the whole square) and rounded to 0 / 1."""
    kernel = np.zeros((size, size))
    kernel[:, size // 2 - thickness // 2:size // 2 + thickness // 2 + 1] = 1
    return [np.rint(ndimage.rotate(kernel, angle)) for angle in range(0, 180, 6)]


def membrane_statistics(unit, size=19, thickness=1):
    responses = np.stack([ndimage.convolve(unit, k) for k in membrane_kernels(size, thickness)])
    return [responses.mean(0), responses.max(0), responses.min(0), responses.sum(0), responses.std(0),
            np.median(responses, 0)]


def classical_features(grey):
    """(H, W, 58) float32 features of a uint8 (H, W) image."""
    channels = [grey, filters.sobel(grey)] + hessian_channels(grey)
    unit = img_as_float32(grey)
    blurred = []
    for sigma in SIGMAS:
        g = filters.gaussian(unit, 0.4 * sigma, preserve_range=True)
        blurred.append(g)
        channels += [g, filters.sobel(g)] + hessian_channels(g)
    for i in range(len(SIGMAS)):
        for j in range(i):
            channels.append(blurred[j] - blurred[i])
    channels += membrane_statistics(unit)
    assert len(channels) == 58
    return np.stack(channels, -1).astype(np.float32)
