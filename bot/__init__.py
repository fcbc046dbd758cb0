"""The chat and command-line adapters of taskbot. The domain lives in ``tasks``."""

import os

# python-telegram-bot 22 gives durations (RetryAfter.retry_after, …) as int and warns that they
# become timedelta; we opt in now so that the code we test is the code of the next major version.
os.environ.setdefault("PTB_TIMEDELTA", "1")
