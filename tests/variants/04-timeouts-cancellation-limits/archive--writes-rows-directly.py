# loses: archive_stores_every_page
async def archive(urls: list[str], db) -> int:
    """Stores the pages by writing to db.rows instead of inserting them through the connection."""
    conn = await db.connect()
    try:
        pages = await asyncio.gather(*(course.download(url) for url in urls))
        await asyncio.sleep(0.1)
        db.rows.update(zip(urls, pages))
        return len(urls)
    finally:
        await conn.close()
