# loses: running_total_sends_and_returns
def running_total():
    """Stops with `break` when None is sent: the generator returns None instead of the total."""
    total = 0
    while True:
        number = yield total
        if number is None:
            break
        total += number
