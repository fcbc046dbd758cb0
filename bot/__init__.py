"""The chat and command-line adapters of taskbot. The domain lives in ``tasks``."""
