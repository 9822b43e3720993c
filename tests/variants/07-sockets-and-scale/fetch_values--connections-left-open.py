# loses: fetch_values_keeps_to_its_limit_and_timeout
async def fetch_values(port: int, keys: list[str], limit: int, timeout: float) -> dict:
    """Never closes a connection that timed out."""
    gate = asyncio.Semaphore(limit)
    kept = []

    async def fetch(key):
        async with gate:
            try:
                async with asyncio.timeout(timeout):
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    kept.append(writer)
                    writer.write(f"GET {key}\n".encode())
                    await writer.drain()
                    reply = (await reader.readline()).decode().rstrip("\n")
                writer.close()
                await writer.wait_closed()
                return reply
            except TimeoutError as error:
                return error

    distinct = list(dict.fromkeys(keys))
    return dict(zip(distinct, await asyncio.gather(*(fetch(key) for key in distinct))))
