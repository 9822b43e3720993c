# loses: adler32_gives_the_loop_turns
async def adler32_cooperative(data: bytes) -> int:
    """The right checksum from zlib, over a memoryview, with a single turn of the loop."""
    await asyncio.sleep(0)
    return zlib.adler32(memoryview(data))
