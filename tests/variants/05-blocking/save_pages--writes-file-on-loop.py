# loses: save_pages_never_blocks
async def save_pages(urls: list[str], db, log_path: str) -> list[int]:
    """Fixed the network, the pause and the database, but still writes the log on the loop."""
    async def save(url):
        page = await course.download(url, latency=0.2)
        await asyncio.sleep(0.1)
        await db.insert(url, page)
        append_line(log_path, url)
        return len(page)

    return await asyncio.gather(*(save(url) for url in urls))
