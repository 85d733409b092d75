"""The heads wing: small classifiers trained on YAMNet's embeddings, for your own classes.

In the order a head is made and used:

- :mod:`sed.heads.embeddings`: YAMNet's 1024-D window embeddings, computed once and cached;
- :mod:`sed.heads.datasets`: labelled clips from a folder per class or a CSV file, backgrounds;
- :mod:`sed.heads.mixing`: synthetic mixtures of event clips over background recordings;
- :mod:`sed.heads.windows`: every window of the clips and mixtures as a training example;
- :mod:`sed.heads.splits`: grouped validation split and cross-validation folds;
- :mod:`sed.heads.training`: the training configuration, the fit, train and cross-validate;
- :mod:`sed.heads.clips`: clip-level evaluation (accuracy, confusion);
- :mod:`sed.heads.energy`: energy of a training run (codecarbon, optional);
- :mod:`sed.heads.reports`: the head directory's reports and the text summary (``sed train``);
- :mod:`sed.heads.head`: the trained head, saved and loaded (``sed detect --head``).

Frame-level heads (``sed train --frame-level``), which score 80 ms frames from YAMNet's feature
maps instead of windows from its embeddings:

- :mod:`sed.heads.frame_features`: the feature frames, computed once and cached;
- :mod:`sed.heads.soundscapes`: synthetic soundscapes with strong labels, from clips and
  backgrounds;
- :mod:`sed.heads.strong`: strong-label data (soundscapes and annotated recordings), frame
  targets, training sequences and their grouped split;
- :mod:`sed.heads.frame_head`: the frame head's network, saved and loaded (Keras and LiteRT);
- :mod:`sed.heads.frame_training`: its training configuration's use, the fit, the validation
  figures.
"""
