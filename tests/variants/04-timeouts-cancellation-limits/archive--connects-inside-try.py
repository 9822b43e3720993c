# loses: archive_cleans_up_when_cancelled
async def archive(urls: list[str], db) -> int:
    """Opens the connection inside the `try:`: cancelled while connecting, `finally:` finds no connection."""
    try:
        conn = await db.connect()

        async def fetch_and_store(url):
            page = await course.download(url)
            await conn.insert(url, page)

        async with asyncio.TaskGroup() as group:
            for url in urls:
                group.create_task(fetch_and_store(url))
        return len(urls)
    finally:
        await conn.close()
