# loses: save_pages_never_blocks
async def save_pages(urls: list[str], db, log_path: str) -> list[int]:
    async def save(url):
        page = await course.download(url, latency=0.2)
        await asyncio.sleep(0.1)
        db.insert(url, page)
        await asyncio.to_thread(append_line, log_path, url)
        return len(page)
    return await asyncio.gather(*(save(url) for url in urls))
