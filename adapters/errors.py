"""The one exception family the loading layer raises; the UI and CLI turn it into a message."""


class LoadError(ValueError):
    """A checkpoint could not be opened or read. The message says what is wrong and what to do."""
