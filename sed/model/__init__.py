"""The model wing: YAMNet's network, its weights, and the backends that run it.

- :mod:`sed.model.network`: the Keras rebuild of the reference ``yamnet.py`` (and batch
  normalisation folding for inference);
- :mod:`sed.model.weights`: finding, reading and fingerprinting the weights;
- :mod:`sed.model.backends`: choosing LiteRT or TensorFlow;
- :mod:`sed.model.litert`: the TFLite conversion, its cache and the LiteRT interpreter;
- :mod:`sed.model.runtime`: importing TensorFlow without its start-up chatter;
- :mod:`sed.model.yamnet`: :class:`Yamnet`, the loaded model the pipeline runs.

Nothing here imports TensorFlow at import time.
"""

from sed.model.weights import find_weights, packaged_weights_dir
from sed.model.yamnet import Yamnet

__all__ = ["Yamnet", "find_weights", "packaged_weights_dir"]
