"""dinofeat's generator (lib/util.c): splitmix64, and the draws the library makes from it."""
import math

import numpy as np

MASK = (1 << 64) - 1


class Generator:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        """float32 in [0, 1) from the top 24 bits (dfi_uniform24)."""
        return np.float32((self.next() >> 40) * (1.0 / 16777216.0))

    def normal(self):
        """Box-Muller on two uniform()s, in float32."""
        u1, u2 = float(self.uniform()), float(self.uniform())
        return np.float32(math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2))

    def uniform_range(self, lo, hi):
        """A double in [lo, hi) from 53 bits."""
        return lo + (hi - lo) * ((self.next() >> 11) * 2.0 ** -53)

    def below(self, n):
        """An integer in [0, n): the draw modulo n."""
        return self.next() % n
