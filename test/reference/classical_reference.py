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


DEFAULT_GROUPS = ("gaussian", "sobel", "hessian", "dog", "membrane")


def scales(min_sigma, max_sigma):
    """Scale 0 included, and the scales: 0 adds scale 0 and starts at 1, -1 starts at 0.5; then
    doubling up to max_sigma as np.logspace spaces them."""
    first = 0.5 if min_sigma == -1 else 1.0 if min_sigma == 0 else float(min_sigma)
    count = int(np.log2(max_sigma) - np.log2(first) + 1)
    return min_sigma == 0, np.logspace(np.log2(first), np.log2(max_sigma), num=count, base=2, endpoint=True)


def disk(radius):
    """The pixels at squared distance below radius^2 from the centre."""
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (yy**2 + xx**2 < radius**2).astype(np.uint8)


def neighbours(unit, distance):
    """The image at the eight offsets (x outer, y inner) times distance, wrapped."""
    out = []
    for x in (-1, 0, 1):
        for y in (-1, 0, 1):
            if x or y:
                kernel = np.zeros((2 * distance + 1, 2 * distance + 1))
                kernel[distance + y * distance, distance + x * distance] = 1
                out.append(ndimage.convolve(unit, kernel, mode="wrap"))
    return out


def classical_features(grey, groups=DEFAULT_GROUPS, min_sigma=0, max_sigma=16, membrane_size=19, membrane_thickness=1):
    """(H, W, C) float32 features of a uint8 or uint16 (H, W) image; the defaults give the official
    58. The rank filters need bytes: of a uint16 image they see the high bytes (skimage's
    img_as_ubyte), where the official code's astype(np.uint8) would keep the wrapping low bytes."""
    from skimage.filters import rank
    byte = grey if grey.dtype == np.uint8 else (grey >> 8).astype(np.uint8)
    zero, sigmas = scales(min_sigma, max_sigma)
    channels = []
    if zero:
        channels.append(grey)
        if "sobel" in groups:
            channels.append(filters.sobel(grey))
        if "hessian" in groups:
            channels += hessian_channels(grey)
    unit = img_as_float32(grey)
    blurred = []
    for sigma in sigmas:
        g = filters.gaussian(unit, 0.4 * sigma, preserve_range=True)
        blurred.append(g)
        channels += [g] if "gaussian" in groups else []
        channels += [filters.sobel(g)] if "sobel" in groups else []
        channels += hessian_channels(g) if "hessian" in groups else []
        footprint = disk(int(np.ceil(sigma)))
        for name in ("mean", "median", "minimum", "maximum"):
            if name in groups:
                channels.append(getattr(rank, name)(byte, footprint))
        if "entropy" in groups:  # over the values below 32, 64, 128, counts relative to the largest
            for bins in (32, 64, 128):
                histogram = rank.windowed_histogram(byte, footprint, n_bins=bins)
                most = histogram.max(-1, keepdims=True)
                p = np.divide(histogram, most, out=np.zeros_like(histogram), where=most > 0)
                terms = np.zeros_like(p)
                terms[p > 0] = -p[p > 0] * np.log2(p[p > 0])
                channels.append(terms.sum(-1))
        if "structure" in groups:  # the structure tensor's eigenvalues, largest first
            from skimage.feature import structure_tensor, structure_tensor_eigenvalues
            eigenvalues = structure_tensor_eigenvalues(structure_tensor(unit, sigma, mode="constant", order="rc"))
            channels += [eigenvalues[0], eigenvalues[-1]]
        if "neighbours" in groups:
            channels += neighbours(unit, int(sigma))
        if "derivatives" in groups:  # the rank gradient applied 10 times; orders 4, 6, 8, 10
            derivative = byte
            for order in range(1, 11):
                derivative = rank.gradient(derivative, footprint)
                if order in (4, 6, 8, 10):
                    channels.append(derivative)
    if "dog" in groups:
        for i in range(len(sigmas)):
            for j in range(i):
                channels.append(blurred[j] - blurred[i])
    if "membrane" in groups:
        channels += membrane_statistics(unit, membrane_size, membrane_thickness)
    if "bilateral" in groups:  # the mean of the values within 50 / 100 of the centre's, radius 5 / 10
        for radius in (5, 10):
            for value_range in (50, 100):
                channels.append(rank.mean_bilateral(byte, disk(radius), s0=value_range, s1=value_range))
    return np.stack(channels, -1).astype(np.float32)
