"""Small NumPy directories for tests/test_data.c, written by numpy.save
itself so the reader is tested against numpy's own files.

tests/data/npy-u8:  train-images.npy uint8 (3, 2, 2), train-labels.npy int64 (3,)
tests/data/npy-f32: train-images.npy float32 (2, 4), train-labels.npy uint8 (2,)
Run from the project root: /usr/bin/python3 scripts/gen_npy_fixtures.py
"""
import numpy as np

np.save("tests/data/npy-u8/train-images.npy",
        np.arange(12, dtype=np.uint8).reshape(3, 2, 2) * 20)
np.save("tests/data/npy-u8/train-labels.npy", np.array([2, 0, 1], dtype=np.int64))
np.save("tests/data/npy-f32/train-images.npy",
        np.array([[0.5, -1.25, 3.0, 0.0], [1e-3, 2.0, -0.5, 7.5]], dtype=np.float32))
np.save("tests/data/npy-f32/train-labels.npy", np.array([1, 3], dtype=np.uint8))
