"""The 58 classical channels (shared/specs/hrdv2.md section 4) with numpy and scipy.ndimage, written
from the definitions, independently of the C code: float64 throughout."""
import numpy as np
from scipy import ndimage

SIGMAS = (1, 2, 4, 8, 16)


def sobel_magnitude(f):
    return np.hypot(ndimage.sobel(f, axis=1, mode="reflect"), ndimage.sobel(f, axis=0, mode="reflect"))


def hessian_channels(f):
    central = np.array([-0.5, 0.0, 0.5])
    dx = ndimage.correlate1d(f, central, axis=1, mode="reflect")
    dy = ndimage.correlate1d(f, central, axis=0, mode="reflect")
    d = ndimage.correlate1d(dx, central, axis=1, mode="reflect")  # Hxx
    b = ndimage.correlate1d(dx, central, axis=0, mode="reflect")  # Hyx
    a = ndimage.correlate1d(dy, central, axis=0, mode="reflect")  # Hyy
    root = np.sqrt(4 * b * b + (a - d) ** 2)
    return [np.sqrt(a * a + b * b + d * d), a + d, a * d - b * b, (a + d + root) / 2, (a + d - root) / 2]


def membrane_kernels():
    """19 x 19, centre column of ones, rotated by 0, 6, ..., 174 degrees with bilinear sampling
    (zero outside): the value at (r, c) samples the unrotated kernel at R (r - 9, c - 9) + 9."""
    base = np.zeros((21, 21))  # a zero border, so samples just outside read 0
    base[1:20, 10] = 1.0
    kernels = []
    rr, cc = np.mgrid[0:19, 0:19].astype(np.float64) - 9
    for k in range(30):
        angle = np.deg2rad(6.0 * k)
        sr = np.cos(angle) * rr + np.sin(angle) * cc + 9
        sc = -np.sin(angle) * rr + np.cos(angle) * cc + 9
        kernels.append(ndimage.map_coordinates(base, [sr + 1, sc + 1], order=1, mode="constant", cval=0.0))
    return kernels


def classical_features(grey):
    raw = grey.astype(np.float64)
    f = raw / 255.0
    channels = [raw, sobel_magnitude(raw)] + hessian_channels(raw)
    blurred = []
    for sigma in SIGMAS:
        g = ndimage.gaussian_filter(f, 0.4 * sigma, mode="reflect", truncate=4.0)
        blurred.append(g)
        channels += [g, sobel_magnitude(g)] + hessian_channels(g)
    for i in range(len(SIGMAS)):
        for j in range(i):
            channels.append(blurred[j] - blurred[i])
    responses = np.stack([ndimage.convolve(f, k, mode="reflect") for k in membrane_kernels()], -1)
    channels += [responses.mean(-1), responses.max(-1), responses.min(-1), responses.sum(-1), responses.std(-1),
                 np.median(responses, -1)]
    assert len(channels) == 58
    return np.stack(channels, -1)
