# loses: alarm_waits_without_blocking
import asyncio
import time


class Alarm:
    """Sleeps with time.sleep: the whole event loop stops while it waits."""

    def __init__(self, seconds: float, value=None):
        self.seconds = seconds
        self.value = value

    def __await__(self):
        time.sleep(self.seconds)
        return self.value
        yield
