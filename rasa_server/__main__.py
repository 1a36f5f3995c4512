"""Rasa's own command line without TensorFlow, for the Rasa server and for training our model:
`python -m rasa_server run --model … --endpoints …` (scripts/processes.sh) and `python -m rasa_server train …`
(make train, the console's retrain in ops/retrain.py).

rasa_internals keeps TensorFlow out of the process, checks the Rasa version and installs the patches first,
so that they are in place before Rasa loads anything. No component of our pipeline uses TensorFlow; a config
that names one (DIET, TED, ...) needs stock `rasa`.
"""

import sys

from rasa_server import rasa_internals

rasa_internals.serve_without_tensorflow()
rasa_internals.install()

from rasa.__main__ import main  # noqa: E402 - after the check: Rasa's CLI imports most of Rasa

sys.argv[0] = "rasa"
sys.exit(main())
