"""What the Python benchmarks share."""
import time


def timed(run, repeats):
    """The mean seconds of repeats calls of run, after one warm-up call."""
    run()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats
