"""`python -m emulator`: the same as the `telco-emulator` command."""

import sys

from .cli import main

sys.exit(main())
