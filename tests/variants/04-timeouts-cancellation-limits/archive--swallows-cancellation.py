# loses: archive_cleans_up_when_cancelled
async def archive(urls: list[str], db) -> int:
    """Catches the cancellation and returns as if nothing happened."""
    conn = await db.connect()
    stored = 0

    async def fetch_and_store(url):
        nonlocal stored
        page = await course.download(url)
        await conn.insert(url, page)
        stored += 1

    try:
        await asyncio.gather(*(fetch_and_store(url) for url in urls))
    except asyncio.CancelledError:
        pass
    finally:
        await conn.close()
    return stored
