# loses: archive_pages_awaits_every_save
async def archive_pages(urls: list[str], archive: Archive) -> int:
    """Forgets to await archive.save: the saves never run, and it returns the count anyway."""
    pages = await asyncio.gather(*(course.download(url) for url in urls))
    for url, page in zip(urls, pages):
        archive.save(url, page)
    return len(urls)
