# loses: adler32_gives_the_loop_turns
async def adler32_cooperative(data: bytes) -> int:
    """Gives the loop a turn, but only every 50,000 bytes."""
    a, b = 1, 0
    for start in range(0, len(data), 50_000):
        for byte in data[start:start + 50_000]:
            a = (a + byte) % 65521
            b = (b + a) % 65521
        await asyncio.sleep(0)
    return (b << 16) | a
