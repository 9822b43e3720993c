# loses: fetch_values_keeps_to_its_limit_and_timeout
async def fetch_values(port: int, keys: list[str], limit: int, timeout: float) -> dict:
    """Lets the TimeoutError escape instead of storing it as the key's result."""
    gate = asyncio.Semaphore(limit)

    async def fetch(key):
        async with gate, asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(f"GET {key}\n".encode())
                await writer.drain()
                return (await reader.readline()).decode().rstrip("\n")
            finally:
                writer.close()
                await writer.wait_closed()

    distinct = list(dict.fromkeys(keys))
    return dict(zip(distinct, await asyncio.gather(*(fetch(key) for key in distinct))))
