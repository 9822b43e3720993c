# loses: fetch_values_keeps_to_its_limit_and_timeout
async def fetch_values(port: int, keys: list[str], limit: int, timeout: float) -> dict:
    """Right replies, right timeouts, but one key after another."""
    results = {}
    for key in dict.fromkeys(keys):
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(f"GET {key}\n".encode())
                    await writer.drain()
                    results[key] = (await reader.readline()).decode().rstrip("\n")
                finally:
                    writer.close()
                    await writer.wait_closed()
        except TimeoutError as error:
            results[key] = error
    return results
