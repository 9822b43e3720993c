# A task that spins forever on the kernel's own event loop, started by the solution cell.
# expect: first-exercise
# <reference solution>
import asyncio


async def _spin_forever():
    while True:
        pass


asyncio.get_running_loop().create_task(_spin_forever())
