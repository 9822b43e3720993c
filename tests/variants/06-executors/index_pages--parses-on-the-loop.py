# loses: index_pages_parses_in_processes
async def index_pages(urls: list[str], db, parse) -> int:
    """Parses each page on the loop's thread."""
    async def index(url):
        page = await course.download(url)
        await db.insert(url, parse(page))

    await asyncio.gather(*(index(url) for url in urls))
    return len(urls)
