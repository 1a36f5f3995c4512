"""Rasa's own command line without TensorFlow, for the Rasa server and for training our model:
`python -m rasa_server run --model … --endpoints …` (scripts/processes.sh) and `python -m rasa_server train …`
(make train, the console's retrain in ops/retrain.py).

rasa_internals keeps TensorFlow out of the process, checks the Rasa version and installs the patches first,
so that they are in place before Rasa loads anything. No component of our pipeline uses TensorFlow; a config
that names one (DIET, TED, ...) needs stock `rasa`.
"""

import os
import sys

from rasa_server import rasa_internals

if sys.argv[1:2] == ["train"]:
    # Without Rasa's training cache: it keys a step by the component's name, its settings and its input data,
    # not by its code or the files it reads, so after an edit of knowledge/jieba_words.txt (the jieba
    # dictionary) or of a pipeline component the cache handed back the old step's output. Our own cache of
    # the sentence embeddings (build/embeddings/, keyed by text) keeps a training about as fast.
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")

rasa_internals.serve_without_tensorflow()
rasa_internals.install()

from rasa.__main__ import main  # noqa: E402 - after the check: Rasa's CLI imports most of Rasa

sys.argv[0] = "rasa"
sys.exit(main())
