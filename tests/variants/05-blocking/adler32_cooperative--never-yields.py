# loses: adler32_gives_the_loop_turns
async def adler32_cooperative(data: bytes) -> int:
    """An async def, but the loop inside never reaches an await."""
    a, b = 1, 0
    for byte in data:
        a = (a + byte) % 65521
        b = (b + a) % 65521
    return (b << 16) | a
