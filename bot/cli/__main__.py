"""``python -m bot.cli``: the taskbot command, for a process started without the installed script."""

import sys

from bot.cli import main

sys.exit(main())
