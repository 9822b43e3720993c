# loses: save_pages_never_blocks
async def save_pages(urls: list[str], db, log_path: str) -> list[int]:
    """Stores through the blocking twin moved into a thread, where the asyncio client was asked for."""
    async def save(url):
        page = await course.download(url, latency=0.2)
        await asyncio.sleep(0.1)
        await asyncio.to_thread(db.insert_blocking, url, page)
        await asyncio.to_thread(append_line, log_path, url)
        return len(page)
    return await asyncio.gather(*(save(url) for url in urls))
