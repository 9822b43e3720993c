# loses: fetch_values_keeps_to_its_limit_and_timeout
async def fetch_values(port: int, keys: list[str], limit: int, timeout: float) -> dict:
    """Opens every connection at once: ignores the limit."""
    async def fetch(key):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(f"GET {key}\n".encode())
                    await writer.drain()
                    return (await reader.readline()).decode().rstrip("\n")
                finally:
                    writer.close()
                    await writer.wait_closed()
        except TimeoutError as error:
            return error

    distinct = list(dict.fromkeys(keys))
    return dict(zip(distinct, await asyncio.gather(*(fetch(key) for key in distinct))))
