"""The Rasa server's start command: `python -m rasa_server run --model … --endpoints …` (scripts/processes.sh).

It is Rasa's own command line, after rasa_internals has kept TensorFlow out of the process, checked the Rasa
version and installed the patches, so that they are in place before the server loads anything.
"""

import sys

from rasa_server import rasa_internals

rasa_internals.serve_without_tensorflow()
rasa_internals.install()

from rasa.__main__ import main  # noqa: E402 - after the check: Rasa's CLI imports most of Rasa

sys.argv[0] = "rasa"
sys.exit(main())
