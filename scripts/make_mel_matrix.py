"""Regenerate sed/data/mel_matrix.npz: TensorFlow's mel weight matrix for YAMNet's constants.

``sed`` computes log-mel features with numpy so that its fast path never imports TensorFlow, but
the mel matrix must be the one the model was trained with, bit for bit. TensorFlow computes it in
float32 with its own ``log``, which numpy does not reproduce (they differ by up to 1.2e-5), so the
matrix is stored, with the constants it was made for. Run from the project folder:

    uv run python scripts/make_mel_matrix.py

``tests/test_features.py`` checks that the stored matrix equals TensorFlow's exactly.
"""

import numpy as np

from sed.features import _MEL_CONSTANTS, MEL_MATRIX_FILE, tensorflow_mel_weight_matrix
from sed.params import YamnetParams

if __name__ == "__main__":
    params = YamnetParams()
    np.savez(
        MEL_MATRIX_FILE,
        matrix=tensorflow_mel_weight_matrix(params),
        **{name: getattr(params, name) for name in _MEL_CONSTANTS},
    )
    print(f"wrote {MEL_MATRIX_FILE}")
