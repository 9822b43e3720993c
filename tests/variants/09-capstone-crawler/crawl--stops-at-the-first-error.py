# loses: crawl_finds_every_page_once crawl_keeps_to_the_limit crawl_site_reports_progress_and_closes_everything
async def crawl(root: str, fetch, extract, limit: int) -> tuple[set[str], set[str]]:
    """Lets a failed fetch's exception end the whole crawl."""
    found, seen = set(), {root}
    slots = asyncio.Semaphore(limit)

    async def visit(url):
        async with slots:
            page = await fetch(url)
        found.add(url)
        for link in await extract(url, page):
            if link not in seen:
                seen.add(link)
                group.create_task(visit(link))

    async with asyncio.TaskGroup() as group:
        group.create_task(visit(root))
    return found, set()
