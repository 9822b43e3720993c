# loses: crawl_finds_every_page_once
async def crawl(root: str, fetch, extract, limit: int) -> tuple[set[str], set[str]]:
    """Skips only pages already fetched, so a page linked twice before its fetch is fetched twice."""
    found, failed = set(), set()
    slots = asyncio.Semaphore(limit)

    async def visit(url):
        async with slots:
            try:
                page = await fetch(url)
            except Exception:
                failed.add(url)
                return
        found.add(url)
        for link in await extract(url, page):
            if link not in found and link not in failed:
                group.create_task(visit(link))

    async with asyncio.TaskGroup() as group:
        group.create_task(visit(root))
    return found, failed
